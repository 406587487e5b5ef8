//! PitBox tokens. This crate owns the JWT claims every PitBox server checks ({sub = user id, role,
//! team, name?, exp, iat, iss, jti}), signing them with an Ed25519 private key (only the cloud and
//! `pitbox token` hold one), verifying them with public keys (JWKS JSON or PEM), and the key-pair
//! files kept in a data directory, and the owner-only permissions of every data file that holds
//! secrets ([`private_fs`]), and a machine's stored sign-in with, under the `login` feature, the
//! renewal of its access credential ([`login`]). Errors are typed ([`AuthError`]); nothing here panics on input.

pub mod cli;
mod deny;
mod keys;
pub mod login;
pub mod private_fs;
mod token;

pub use deny::{DenyList, FOREVER};
pub use keys::{KeyPair, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, key_dir};
pub use token::{Claims, DEFAULT_TTL, Identity, RELAY_SCOPE, Signer, Verifier};

/// Why a token or key was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token's `exp` is in the past.
    #[error("token expired")]
    Expired,
    /// The token's `iat` is in the future (beyond the allowed clock skew).
    #[error("token issued in the future")]
    NotYetValid,
    /// The signature does not match any trusted key (tampered token or foreign issuer).
    #[error("token signature is invalid")]
    BadSignature,
    /// The token is not a well-formed EdDSA JWT.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The token's issuer is not one this server trusts.
    #[error("token issuer `{found}` is not trusted")]
    WrongIssuer { found: String },
    /// A claim is missing or breaks a rule.
    #[error("claim `{claim}`: {reason}")]
    InvalidClaim { claim: &'static str, reason: String },
    /// The system's random source failed (no token id or key can be made).
    #[error("random source failed: {0}")]
    Random(String),
    /// The token was revoked (logout, password or role change, account disabled or deleted).
    #[error("token revoked: {0}")]
    Revoked(String),
    /// No verification key is configured.
    #[error("no verification key configured")]
    NoKeys,
    /// A key file or JWKS document could not be used.
    #[error("key: {0}")]
    Key(String),
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}
