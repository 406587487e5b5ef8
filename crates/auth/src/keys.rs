//! Ed25519 key pairs: generation, PEM (PKCS#8 / SPKI) encoding, the data-dir files and JWKS.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::AuthError;

/// File name of the private key inside [`key_dir`] (PKCS#8 PEM, mode 0600).
pub const PRIVATE_KEY_FILE: &str = "token-signing.ed25519.pem";
/// File name of the public key inside [`key_dir`] (SPKI PEM).
pub const PUBLIC_KEY_FILE: &str = "token-signing.ed25519.pub.pem";

/// DER prefix of a PKCS#8 v1 Ed25519 private key; the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// DER prefix of an SPKI Ed25519 public key; the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Where a data directory keeps its token keys.
pub fn key_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

/// An Ed25519 key pair. Holding one means being able to mint tokens: only the cloud and
/// `pitbox token` load the private half; servers that only verify use [`KeyPair::public_pem`].
#[derive(Clone)]
pub struct KeyPair {
    seed: [u8; 32],
    public: [u8; 32],
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key pair from the operating system's random source.
    pub fn generate() -> Result<KeyPair, AuthError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| AuthError::Key(format!("no randomness: {e}")))?;
        Ok(KeyPair::from_seed(seed))
    }

    /// The key pair of a 32-byte Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> KeyPair {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        KeyPair { seed, public }
    }

    /// Reads a PKCS#8 PEM private key.
    pub fn from_private_pem(pem: &str) -> Result<KeyPair, AuthError> {
        let der = pem_body(pem, "PRIVATE KEY")?;
        if der.len() != PKCS8_PREFIX.len() + 32 || der[..PKCS8_PREFIX.len()] != PKCS8_PREFIX {
            return Err(AuthError::Key("not an Ed25519 PKCS#8 private key".into()));
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&der[PKCS8_PREFIX.len()..]);
        Ok(KeyPair::from_seed(seed))
    }

    /// Key id: the first 12 characters of the base64url public key.
    pub fn kid(&self) -> String {
        kid_of(&self.public)
    }

    /// The raw 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.public
    }

    /// PKCS#8 DER of the private key.
    pub fn private_der(&self) -> Vec<u8> {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        der
    }

    /// PKCS#8 PEM of the private key.
    pub fn private_pem(&self) -> String {
        to_pem("PRIVATE KEY", &self.private_der())
    }

    /// SPKI PEM of the public key.
    pub fn public_pem(&self) -> String {
        public_pem(&self.public)
    }

    /// A JWKS document (`{"keys": [...]}`) with the public key, as `GET /api/auth/jwks` serves it.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [jwk(&self.public)] })
    }

    /// Loads the key pair of `data_dir`, creating it (private file mode 0600) when absent.
    /// Returns whether it was created.
    pub fn load_or_create(data_dir: &Path) -> Result<(KeyPair, bool), AuthError> {
        let dir = key_dir(data_dir);
        let private = dir.join(PRIVATE_KEY_FILE);
        if private.exists() {
            let pem =
                std::fs::read_to_string(&private).map_err(|source| AuthError::Io { path: private.clone(), source })?;
            return Ok((KeyPair::from_private_pem(&pem)?, false));
        }
        let pair = KeyPair::generate()?;
        std::fs::create_dir_all(&dir).map_err(|source| AuthError::Io { path: dir.clone(), source })?;
        write_private(&private, pair.private_pem().as_bytes())?;
        let public = dir.join(PUBLIC_KEY_FILE);
        std::fs::write(&public, pair.public_pem()).map_err(|source| AuthError::Io { path: public, source })?;
        Ok((pair, true))
    }
}

/// Public key file of a data directory: reads it, or derives it from the private key (creating
/// the pair when neither exists). Returns the SPKI PEM.
pub(crate) fn load_public_pem(data_dir: &Path) -> Result<String, AuthError> {
    let public = key_dir(data_dir).join(PUBLIC_KEY_FILE);
    if public.exists() {
        return std::fs::read_to_string(&public).map_err(|source| AuthError::Io { path: public, source });
    }
    let (pair, _) = KeyPair::load_or_create(data_dir)?;
    Ok(pair.public_pem())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|source| AuthError::Io { path: path.to_path_buf(), source })?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|source| AuthError::Io { path: path.to_path_buf(), source })
}

pub(crate) fn kid_of(public: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(public).chars().take(12).collect()
}

pub(crate) fn jwk(public: &[u8; 32]) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": kid_of(public),
        "x": URL_SAFE_NO_PAD.encode(public),
    })
}

pub(crate) fn public_pem(public: &[u8; 32]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(public);
    to_pem("PUBLIC KEY", &der)
}

/// Raw public key of an SPKI PEM.
pub(crate) fn public_from_pem(pem: &str) -> Result<[u8; 32], AuthError> {
    let der = pem_body(pem, "PUBLIC KEY")?;
    if der.len() != SPKI_PREFIX.len() + 32 || der[..SPKI_PREFIX.len()] != SPKI_PREFIX {
        return Err(AuthError::Key("not an Ed25519 public key (SPKI)".into()));
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&der[SPKI_PREFIX.len()..]);
    Ok(key)
}

/// Raw public key of a JWK's base64url `x`.
pub(crate) fn public_from_x(x: &str) -> Result<[u8; 32], AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(x.trim_end_matches('='))
        .map_err(|e| AuthError::Key(format!("JWK x is not base64url: {e}")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| AuthError::Key(format!("JWK x is {} bytes, want 32", bytes.len())))
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, AuthError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| AuthError::Key(format!("no `{begin}` line")))? + begin.len();
    let stop = pem[start..].find(&end).ok_or_else(|| AuthError::Key(format!("no `{end}` line")))? + start;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body).map_err(|e| AuthError::Key(format!("PEM body is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip() {
        let pair = KeyPair::from_seed([7u8; 32]);
        let again = KeyPair::from_private_pem(&pair.private_pem()).unwrap();
        assert_eq!(again.public_bytes(), pair.public_bytes());
        assert_eq!(public_from_pem(&pair.public_pem()).unwrap(), pair.public_bytes());
        assert!(KeyPair::from_private_pem(&pair.public_pem()).is_err());
        assert!(public_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err());
    }

    #[test]
    fn data_dir_pair_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = KeyPair::load_or_create(dir.path()).unwrap();
        assert!(created);
        let (b, created) = KeyPair::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(a.public_bytes(), b.public_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_dir(dir.path()).join(PRIVATE_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "private key must not be readable by others");
        }
    }
}
