//! Access tokens, through `pitbox-auth`: the cloud holds the Ed25519 private key, signs 24-hour
//! (or `--access-token-ttl`) EdDSA JWTs with `pitbox_auth::Signer`, verifies them with `pitbox_auth::Verifier`, and
//! publishes the public key as JWKS for relays. This module only adds key loading for a
//! cluster (one PEM file shared by every node) and the issuer the cloud writes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use pitbox_auth::{AuthError, Claims, Identity};
use pitbox_auth::{KeyPair, Signer, Verifier};
use pitbox_model::UserRole;

/// Issuer written into and required of every token.
pub const ISSUER: &str = "pitbox-cloud";
/// Access token lifetime by default (spec: 24 hours; `--access-token-ttl` sets another).
pub const ACCESS_TTL_SECS: i64 = 24 * 3600;

/// The signing key pair with its signer and verifier.
#[derive(Clone)]
pub struct Keys {
    pair: KeyPair,
    signer: Arc<Signer>,
    verifier: Verifier,
    access_ttl: Duration,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("kid", &self.pair.kid()).finish_non_exhaustive()
    }
}

impl Keys {
    /// Keys of a pair.
    pub fn from_pair(pair: KeyPair) -> Keys {
        let signer = Arc::new(Signer::new(&pair, ISSUER));
        let mut verifier = Verifier::new().with_issuers([ISSUER]);
        verifier.add_public_key(&pair.public_bytes());
        Keys { pair, signer, verifier, access_ttl: Duration::from_secs(ACCESS_TTL_SECS as u64) }
    }

    /// The same keys issuing access tokens that live `ttl`.
    pub fn with_access_ttl(mut self, ttl: Duration) -> Keys {
        self.access_ttl = ttl;
        self
    }

    /// How long an access token lives.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// A fresh random pair (tests, benchmarks).
    pub fn generate() -> Result<Keys, AuthError> {
        Ok(Keys::from_pair(KeyPair::generate()?))
    }

    /// The pair of `key_file` (a PKCS#8 PEM, created with mode 0600 when missing) or, without
    /// one, the data directory's pair (`keys/` in `data_dir`, created when missing).
    pub fn load(data_dir: &Path, key_file: Option<&Path>) -> Result<Keys, AuthError> {
        let Some(path) = key_file else {
            return Ok(Keys::from_pair(KeyPair::load_or_create(data_dir)?.0));
        };
        let io = |source| AuthError::Io { path: path.to_path_buf(), source };
        match std::fs::read_to_string(path) {
            Ok(pem) => Ok(Keys::from_pair(KeyPair::from_private_pem(&pem)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pair = KeyPair::generate()?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                write_private(path, pair.private_pem().as_bytes()).map_err(io)?;
                Ok(Keys::from_pair(pair))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> String {
        self.pair.kid()
    }

    /// Signs claims as they are (tests sign expired or odd tokens with it).
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        self.signer.sign(claims)
    }

    /// Issues an access token (24 hours unless [`Keys::with_access_ttl`] says otherwise).
    pub fn issue(&self, user_id: &str, role: UserRole, team: &str, name: &str) -> Result<String, AuthError> {
        self.issue_owned(user_id, role, team, name, false)
    }

    /// Issues an access token, for the deployment's owner when `owner`.
    pub fn issue_owned(
        &self,
        user_id: &str,
        role: UserRole,
        team: &str,
        name: &str,
        owner: bool,
    ) -> Result<String, AuthError> {
        let ttl = self.access_ttl;
        let mut claims = pitbox_auth::Claims::new(user_id, role, team, Some(name), ISSUER, ttl)?;
        claims.owner = owner;
        Ok(self.signer.issue_claims(claims)?.0)
    }

    /// Issues a relay's credential for `team` (scope `relay`), valid for `ttl`; returns the
    /// token and its expiry (seconds since the Unix epoch).
    pub fn issue_relay(
        &self,
        relay_id: &str,
        team: &str,
        name: &str,
        ttl: Duration,
    ) -> Result<(String, u64), AuthError> {
        let (token, claims) = self.signer.issue_relay(relay_id, team, Some(name), ttl)?;
        Ok((token, claims.exp))
    }

    /// Verifies a token (signature, algorithm, expiry, issuer, claim rules).
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        self.verifier.verify(token)
    }

    /// The verifier of these keys (what a relay trusting this cloud checks tokens with).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The JWKS document (`GET /api/auth/jwks`).
    pub fn jwks(&self) -> serde_json::Value {
        self.pair.jwks()
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_and_shared_key_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("k.pem");
        let a = Keys::load(dir.path(), Some(&file)).expect("create");
        let b = Keys::load(dir.path(), Some(&file)).expect("load");
        assert_eq!(a.kid(), b.kid());
        let t = a.issue("usr-1", UserRole::Driver, "team-1", "ana").expect("issue");
        let id = b.verify(&t).expect("verify on another node");
        assert_eq!((id.user_id.as_str(), id.team_id.as_str()), ("usr-1", "team-1"));
        let other = Keys::generate().expect("keys");
        assert!(other.verify(&t).is_err());
        let own = Keys::load(dir.path(), None).expect("data dir pair");
        assert!(own.verify(&t).is_err());
    }
}
