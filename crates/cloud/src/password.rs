//! Password hashing with argon2id (default parameters: 19 MiB, 2 passes).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes `password` to a PHC string (`$argon2id$v=19$…`) with a fresh random salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password: checked against when a username is unknown, so that a login
/// for a missing user costs as much as one for an existing user.
/// A failure is an error (the login is refused with a 500 and logged), never an empty hash that
/// would answer unknown usernames faster than known ones.
pub fn dummy_hash() -> Result<&'static str, HashError> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let mut pw = [0u8; 16];
    getrandom::fill(&mut pw).map_err(|e| HashError(e.to_string()))?;
    let h = hash(&format!("{pw:?}"))?;
    Ok(DUMMY.get_or_init(|| h))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dummy_hash_is_a_real_hash() {
        let h = super::dummy_hash().expect("dummy");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!super::verify("", h));
    }

    #[test]
    fn hash_then_verify() {
        let h = super::hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("x", "not a hash"));
    }
}
