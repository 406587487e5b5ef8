//! Access tokens: compact JWS (JWT) signed with Ed25519 (`alg: EdDSA`), and the JWKS that relays
//! verify them with. The cloud holds the private key; nobody else can mint tokens.
//!
//! Written here because `pitbox-auth` had no API yet when the cloud was built; the claims match
//! docs/protocol.md's `authenticate` (subject = user id, role, team).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use pitbox_model::UserRole;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Issuer written into and required of every token.
pub const ISSUER: &str = "pitbox-cloud";
/// Access token lifetime (spec: 24 hours).
pub const ACCESS_TTL_SECS: i64 = 24 * 3600;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Username.
    pub name: String,
    pub role: UserRole,
    /// Team id (none for an admin without a team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// Token id.
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not a JWT (three base64url parts separated by '.')")]
    Malformed,
    #[error("token algorithm `{0}` is not accepted (only EdDSA)")]
    Algorithm(String),
    #[error("token was signed by an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token issuer is not {ISSUER}")]
    Issuer,
    #[error("token key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

/// The signing key and its id.
#[derive(Clone)]
pub struct Keys {
    signing: SigningKey,
    kid: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Keys {
    /// A key from its 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Keys {
        let signing = SigningKey::from_bytes(&seed);
        let digest = Sha256::digest(signing.verifying_key().as_bytes());
        let kid = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Keys { signing, kid }
    }

    /// A fresh random key.
    pub fn generate() -> Result<Keys, TokenError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| TokenError::KeyFile { path: "(random)".into(), reason: e.to_string() })?;
        Ok(Keys::from_seed(seed))
    }

    /// Reads the key file (base64 of the 32-byte seed), creating it (mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> Result<Keys, TokenError> {
        let err = |reason: String| TokenError::KeyFile { path: path.display().to_string(), reason };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| err(format!("not base64: {e}")))?;
                let seed: [u8; 32] =
                    bytes.try_into().map_err(|b: Vec<u8>| err(format!("must hold 32 bytes, holds {}", b.len())))?;
                Ok(Keys::from_seed(seed))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Keys::generate()?;
                let text = base64::engine::general_purpose::STANDARD.encode(keys.signing.to_bytes());
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                write_private(path, &text).map_err(|e| err(e.to_string()))?;
                Ok(keys)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header { alg: "EdDSA".into(), typ: Some("JWT".into()), kid: Some(self.kid.clone()) };
        // Serialising these plain structs cannot fail.
        let h = B64.encode(serde_json::to_vec(&header).unwrap_or_default());
        let p = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let input = format!("{h}.{p}");
        let sig = self.signing.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    /// Verifies a token's signature, algorithm, issuer and expiry (at `now`, Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        verify_with(&self.verifying_key(), &self.kid, token, now)
    }

    /// The JWKS document (`GET /api/auth/jwks`).
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": self.kid,
                "x": B64.encode(self.verifying_key().as_bytes()),
            }]
        })
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Verifies `token` against a public key.
pub fn verify_with(key: &VerifyingKey, kid: &str, token: &str, now: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let header: Header = serde_json::from_slice(&B64.decode(h).map_err(|_| TokenError::Malformed)?)
        .map_err(|_| TokenError::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(TokenError::Algorithm(header.alg.chars().take(16).collect()));
    }
    if header.kid.as_deref().is_some_and(|k| k != kid) {
        return Err(TokenError::UnknownKey);
    }
    let sig_bytes: [u8; 64] =
        B64.decode(s).map_err(|_| TokenError::Malformed)?.try_into().map_err(|_| TokenError::Signature)?;
    let sig = Signature::from_bytes(&sig_bytes);
    let input_len = h.len() + 1 + p.len();
    key.verify_strict(&token.as_bytes()[..input_len], &sig).map_err(|_| TokenError::Signature)?;
    let claims: Claims = serde_json::from_slice(&B64.decode(p).map_err(|_| TokenError::Malformed)?)
        .map_err(|_| TokenError::Malformed)?;
    if claims.iss != ISSUER {
        return Err(TokenError::Issuer);
    }
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "usr-1".into(),
            name: "ana".into(),
            role: UserRole::Driver,
            team: Some("team-1".into()),
            iss: ISSUER.into(),
            iat: 0,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn sign_verify_tamper_expire() {
        let k = Keys::generate().expect("key");
        let t = k.sign(&claims(100));
        assert_eq!(k.verify(&t, 50).expect("valid").sub, "usr-1");
        assert_eq!(k.verify(&t, 100), Err(TokenError::Expired));
        // Tamper with the payload: role → admin.
        let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
        let mut c = claims(100);
        c.role = UserRole::Admin;
        parts[1] = B64.encode(serde_json::to_vec(&c).expect("json"));
        assert_eq!(k.verify(&parts.join("."), 50), Err(TokenError::Signature));
        // Another key.
        let other = Keys::generate().expect("key");
        assert_eq!(other.verify(&t, 50), Err(TokenError::UnknownKey));
        assert_eq!(k.verify("a.b", 50), Err(TokenError::Malformed));
        // alg none.
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(k.verify(&none, 50), Err(TokenError::Algorithm("none".into())));
    }

    #[test]
    fn key_file_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("k");
        let a = Keys::load_or_create(&p).expect("create");
        let b = Keys::load_or_create(&p).expect("load");
        assert_eq!(a.kid(), b.kid());
    }
}
