//! Claims, signing and verification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pitbox_model::UserRole;
use pitbox_model::validate::Validator;
use serde::{Deserialize, Serialize};

use crate::AuthError;
use crate::keys::{self, KeyPair};

/// Lifetime of an access token when none is asked for (the spec's 24 h).
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Clock skew tolerated on `exp` and `iat`, seconds.
const LEEWAY_SECS: u64 = 30;
/// Most accepted tokens a verifier remembers before it starts over.
const VERIFIED_CAPACITY: usize = 4_096;
/// Longer tokens are verified every time, never remembered.
const VERIFIED_MAX_TOKEN_LEN: usize = 4_096;

/// What a PitBox access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub role: UserRole,
    /// Team id: the only team this user may read or write.
    pub team: String,
    /// Display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Issuer, e.g. `pitbox-cloud` or `pitbox-offline`.
    pub iss: String,
    /// Unique token id (for revocation lists).
    pub jti: String,
    /// What the token is for beyond its role: `relay` for a relay's own credential (it
    /// forwards the drivers that authenticated to it, of `team` only, and is accepted nowhere
    /// else). Absent on a user's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The deployment's owner: reads and manages every team (a team's admin manages only their
    /// own). Absent on everyone else's token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
    /// Issued at, milliseconds since the Unix epoch: orders a token against a revocation made in
    /// the same second (`iat` alone could not). Absent on tokens from older builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<u64>,
}

/// The `scope` of a relay's credential.
pub const RELAY_SCOPE: &str = "relay";

impl Claims {
    /// Claims for a new token valid for `ttl` from now. Fails when the system's random source
    /// does: a token without a unique `jti` could not be revoked on its own.
    pub fn new(
        user_id: &str,
        role: UserRole,
        team: &str,
        name: Option<&str>,
        issuer: &str,
        ttl: Duration,
    ) -> Result<Claims, AuthError> {
        let now_ms = now_millis();
        let now = now_ms / 1000;
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| AuthError::Random(e.to_string()))?;
        Ok(Claims {
            sub: user_id.to_string(),
            role,
            team: team.to_string(),
            name: name.map(str::to_string),
            exp: now.saturating_add(ttl.as_secs()),
            iat: now,
            iss: issuer.to_string(),
            jti: URL_SAFE_NO_PAD.encode(jti),
            scope: None,
            owner: false,
            iat_ms: Some(now_ms),
        })
    }

    /// Claims of a relay's credential: relay `relay_id` forwarding for `team`. Its role is
    /// `driver` (the least a relay forwards for); the `relay` scope is what servers check.
    pub fn relay(
        relay_id: &str,
        team: &str,
        name: Option<&str>,
        issuer: &str,
        ttl: Duration,
    ) -> Result<Claims, AuthError> {
        let mut c = Claims::new(relay_id, UserRole::Driver, team, name, issuer, ttl)?;
        c.scope = Some(RELAY_SCOPE.to_string());
        Ok(c)
    }

    /// Checks the ids and names against the protocol's rules.
    pub fn check(&self) -> Result<(), AuthError> {
        let mut v = Validator::new("claims");
        v.id("sub", &self.sub);
        v.id("team", &self.team);
        if let Some(n) = &self.name {
            v.text("name", n, 1, 100);
        }
        v.text("iss", &self.iss, 1, 200);
        v.finish().map_err(|errs| {
            let first = errs.first().map(|e| (e.field.clone(), e.to_string())).unwrap_or_default();
            let claim = match first.0.trim_start_matches("claims.") {
                "sub" => "sub",
                "team" => "team",
                "name" => "name",
                _ => "iss",
            };
            AuthError::InvalidClaim { claim, reason: first.1 }
        })
    }
}

/// Who a verified token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub role: UserRole,
    pub team_id: String,
    pub name: Option<String>,
    /// When the token expires, seconds since the Unix epoch.
    pub expires_at: u64,
    /// A relay's credential (scope `relay`), not a user's token.
    pub relay: bool,
    /// The deployment's owner (claim `owner`): every team is theirs to read and manage.
    pub owner: bool,
    /// When the token was issued, milliseconds since the Unix epoch (revocation by issue time;
    /// `iat` × 1000 for tokens without `iat_ms`).
    pub issued_at_ms: u64,
    /// The token's unique id (`jti`, revocation of one token).
    pub token_id: String,
}

impl From<Claims> for Identity {
    fn from(c: Claims) -> Identity {
        let relay = c.scope.as_deref() == Some(RELAY_SCOPE);
        Identity {
            user_id: c.sub,
            role: c.role,
            team_id: c.team,
            name: c.name,
            expires_at: c.exp,
            relay,
            owner: c.owner,
            issued_at_ms: c.iat_ms.unwrap_or(c.iat.saturating_mul(1000)),
            token_id: c.jti,
        }
    }
}

/// Mints tokens. Only the cloud and `pitbox token` build one.
pub struct Signer {
    key: EncodingKey,
    kid: String,
    issuer: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with `pair`'s private key that writes `issuer` into every token.
    pub fn new(pair: &KeyPair, issuer: &str) -> Signer {
        Signer { key: EncodingKey::from_ed_der(&pair.private_der()), kid: pair.kid(), issuer: issuer.to_string() }
    }

    /// The issuer written into tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Signs `claims` as they are (tests use this for expired or odd tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| AuthError::Key(format!("signing failed: {e}")))
    }

    /// Issues a token for a user, valid for `ttl`.
    pub fn issue(
        &self,
        user_id: &str,
        role: UserRole,
        team: &str,
        name: Option<&str>,
        ttl: Duration,
    ) -> Result<(String, Claims), AuthError> {
        let claims = Claims::new(user_id, role, team, name, &self.issuer, ttl)?;
        claims.check()?;
        Ok((self.sign(&claims)?, claims))
    }

    /// Issues a token for `claims` made with [`Claims::new`] and adjusted (the owner flag).
    pub fn issue_claims(&self, claims: Claims) -> Result<(String, Claims), AuthError> {
        claims.check()?;
        Ok((self.sign(&claims)?, claims))
    }

    /// Issues a relay's credential for `team` (see [`Claims::relay`]).
    pub fn issue_relay(
        &self,
        relay_id: &str,
        team: &str,
        name: Option<&str>,
        ttl: Duration,
    ) -> Result<(String, Claims), AuthError> {
        let claims = Claims::relay(relay_id, team, name, &self.issuer, ttl)?;
        claims.check()?;
        Ok((self.sign(&claims)?, claims))
    }
}

/// Verifies tokens with public keys only.
///
/// Accepted tokens are remembered (by their whole text, shared between clones), so a client that
/// sends the same bearer token with every request pays for the Ed25519 check once: that check was
/// about a fifth of the cloud's CPU per single-sample `POST /api/telemetry`. A remembered token is
/// still refused once it expires; refused tokens are never remembered. Revocation is the server's
/// check after this one (the cloud's deny-list), so remembering changes no answer.
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<(String, DecodingKey)>,
    issuers: Vec<String>,
    verified: Arc<Mutex<HashMap<Box<str>, Identity>>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Verifier").field("kids", &kids).field("issuers", &self.issuers).finish()
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    /// A verifier with no keys (every token fails with [`AuthError::NoKeys`]) accepting any issuer.
    pub fn new() -> Verifier {
        Verifier { keys: Vec::new(), issuers: Vec::new(), verified: Arc::default() }
    }

    /// Accept only tokens whose `iss` is one of `issuers` (none given: any issuer).
    pub fn with_issuers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, issuers: I) -> Verifier {
        self.issuers = issuers.into_iter().map(Into::into).collect();
        self.forget_verified();
        self
    }

    /// Trusts a raw Ed25519 public key.
    pub fn add_public_key(&mut self, public: &[u8; 32]) {
        self.keys.push((keys::kid_of(public), DecodingKey::from_ed_der(public)));
        self.forget_verified();
    }

    /// Starts a memory of accepted tokens of this verifier's own: what its clones accepted under
    /// other keys or issuers must not answer for it.
    fn forget_verified(&mut self) {
        self.verified = Arc::default();
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Identity>> {
        // A panic while holding the lock leaves a valid map (every update is one call).
        self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Trusts the public key of an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn add_public_pem(&mut self, pem: &str) -> Result<(), AuthError> {
        let public = keys::public_from_pem(pem)?;
        self.add_public_key(&public);
        Ok(())
    }

    /// Trusts every Ed25519 key of a JWKS document (`{"keys": [...]}`); other key types are
    /// skipped. Fails when the document has no usable key.
    pub fn add_jwks_json(&mut self, json: &str) -> Result<usize, AuthError> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<serde_json::Value>,
        }
        let doc: Jwks = serde_json::from_str(json).map_err(|e| AuthError::Key(format!("JWKS is not valid: {e}")))?;
        let mut added = 0;
        for k in &doc.keys {
            let field = |name: &str| k.get(name).and_then(|v| v.as_str());
            if field("kty") != Some("OKP") || field("crv") != Some("Ed25519") {
                continue;
            }
            let Some(x) = field("x") else { continue };
            let public = keys::public_from_x(x)?;
            let kid = field("kid").map(str::to_string).unwrap_or_else(|| keys::kid_of(&public));
            self.keys.push((kid, DecodingKey::from_ed_der(&public)));
            added += 1;
        }
        self.forget_verified();
        if added == 0 {
            return Err(AuthError::Key("JWKS has no Ed25519 key".into()));
        }
        Ok(added)
    }

    /// Trusts the public key kept in `data_dir` (creating the data dir's key pair when absent).
    pub fn add_data_dir(&mut self, data_dir: &std::path::Path) -> Result<(), AuthError> {
        let pem = keys::load_public_pem(data_dir)?;
        self.add_public_pem(&pem)
    }

    /// How many keys are trusted.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Verifies a token: signature, algorithm, expiry, issuer and claim rules.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        self.verify_at(token, now_secs())
    }

    /// [`Verifier::verify`] with the clock at `now` for remembered tokens (tests move it).
    fn verify_at(&self, token: &str, now: u64) -> Result<Identity, AuthError> {
        let remembered = self.verified().get(token).cloned();
        if let Some(id) = remembered {
            if now > id.expires_at.saturating_add(LEEWAY_SECS) {
                self.verified().remove(token);
                return Err(AuthError::Expired);
            }
            return Ok(id);
        }
        let id = self.check_signed(token)?;
        if token.len() <= VERIFIED_MAX_TOKEN_LEN {
            let mut verified = self.verified();
            if verified.len() >= VERIFIED_CAPACITY {
                // Starting over is cheap and rare: one signature check per live client.
                verified.clear();
            }
            verified.insert(token.into(), id.clone());
        }
        Ok(id)
    }

    /// The full check, signature included.
    fn check_signed(&self, token: &str) -> Result<Identity, AuthError> {
        if self.keys.is_empty() {
            return Err(AuthError::NoKeys);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Malformed(format!("algorithm {:?} is not accepted (EdDSA only)", header.alg)));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        if !self.issuers.is_empty() {
            validation.set_issuer(&self.issuers);
        }
        // Keys whose kid matches first, then the rest (a token may carry no or a stale kid).
        let mut order: Vec<&DecodingKey> = Vec::with_capacity(self.keys.len());
        if let Some(kid) = &header.kid {
            order.extend(self.keys.iter().filter(|(k, _)| k == kid).map(|(_, d)| d));
        }
        order.extend(self.keys.iter().filter(|(k, _)| Some(k) != header.kid.as_ref()).map(|(_, d)| d));
        let mut last = AuthError::BadSignature;
        for key in order {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let claims = data.claims;
                    if claims.iat > now_secs().saturating_add(LEEWAY_SECS) {
                        return Err(AuthError::NotYetValid);
                    }
                    claims.check()?;
                    return Ok(claims.into());
                }
                Err(e) => match e.kind() {
                    ErrorKind::InvalidSignature => last = AuthError::BadSignature,
                    ErrorKind::ExpiredSignature => return Err(AuthError::Expired),
                    ErrorKind::ImmatureSignature => return Err(AuthError::NotYetValid),
                    ErrorKind::InvalidIssuer => {
                        let found = unverified_issuer(token).unwrap_or_default();
                        return Err(AuthError::WrongIssuer { found });
                    }
                    ErrorKind::MissingRequiredClaim(c) => {
                        return Err(AuthError::InvalidClaim { claim: static_claim(c), reason: "missing".into() });
                    }
                    ErrorKind::Json(err) => {
                        return Err(AuthError::Malformed(format!("claims: {err}")));
                    }
                    _ => last = AuthError::Malformed(e.to_string()),
                },
            }
        }
        Err(last)
    }
}

fn static_claim(c: &str) -> &'static str {
    match c {
        "exp" => "exp",
        "sub" => "sub",
        "iss" => "iss",
        _ => "claims",
    }
}

/// The `iss` of a token without checking its signature (for error messages only).
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some(v.get("iss")?.as_str()?.chars().take(64).collect())
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> KeyPair {
        KeyPair::from_seed([3u8; 32])
    }

    fn verifier() -> Verifier {
        let mut v = Verifier::new();
        v.add_public_pem(&pair().public_pem()).unwrap();
        v
    }

    #[test]
    fn issue_and_verify() {
        let signer = Signer::new(&pair(), "pitbox-offline");
        let (token, claims) = signer.issue("drv-1", UserRole::Driver, "team-a", Some("Alex"), DEFAULT_TTL).unwrap();
        let id = verifier().verify(&token).unwrap();
        assert_eq!(id.user_id, "drv-1");
        assert_eq!(id.role, UserRole::Driver);
        assert_eq!(id.team_id, "team-a");
        assert_eq!(id.name.as_deref(), Some("Alex"));
        assert_eq!(id.expires_at, claims.exp);
    }

    #[test]
    fn jwks_verifies_too() {
        let signer = Signer::new(&pair(), "pitbox-cloud");
        let (token, _) = signer.issue("eng-1", UserRole::Engineer, "team-a", None, DEFAULT_TTL).unwrap();
        let mut v = Verifier::new();
        assert_eq!(v.add_jwks_json(&pair().jwks().to_string()).unwrap(), 1);
        assert!(v.verify(&token).is_ok());
        assert!(v.add_jwks_json(r#"{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}"#).is_err());
        assert!(v.add_jwks_json("nope").is_err());
    }

    #[test]
    fn refusals_are_typed() {
        let signer = Signer::new(&pair(), "pitbox-offline");
        let mut old = Claims::new("drv-1", UserRole::Driver, "team-a", None, "pitbox-offline", DEFAULT_TTL).unwrap();
        old.iat -= 3 * 86_400;
        old.exp = old.iat + 3600;
        let expired = signer.sign(&old).unwrap();
        assert!(matches!(verifier().verify(&expired), Err(AuthError::Expired)));

        let (token, _) = signer.issue("drv-1", UserRole::Driver, "team-a", None, DEFAULT_TTL).unwrap();
        // Tamper with the payload: claim to be an admin.
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(payload.replace("\"driver\"", "\"admin\""));
        let tampered = parts.join(".");
        assert!(matches!(verifier().verify(&tampered), Err(AuthError::BadSignature)));

        let other = Signer::new(&KeyPair::from_seed([9u8; 32]), "pitbox-offline");
        let (foreign, _) = other.issue("drv-1", UserRole::Driver, "team-a", None, DEFAULT_TTL).unwrap();
        assert!(matches!(verifier().verify(&foreign), Err(AuthError::BadSignature)));

        assert!(matches!(verifier().verify("garbage"), Err(AuthError::Malformed(_))));
        assert!(matches!(Verifier::new().verify(&token), Err(AuthError::NoKeys)));
        let strict = verifier().with_issuers(["pitbox-cloud"]);
        assert!(matches!(strict.verify(&token), Err(AuthError::WrongIssuer { .. })));

        let bad_sub = Claims::new("bad id with spaces", UserRole::Driver, "team-a", None, "x", DEFAULT_TTL).unwrap();
        assert!(matches!(
            signer.issue("bad id", UserRole::Driver, "t", None, DEFAULT_TTL),
            Err(AuthError::InvalidClaim { .. })
        ));
        let t = signer.sign(&bad_sub).unwrap();
        assert!(matches!(verifier().verify(&t), Err(AuthError::InvalidClaim { claim: "sub", .. })));

        // An HS256 token is refused whatever its signature.
        let hs = jsonwebtoken::encode(&Header::default(), &old, &EncodingKey::from_secret(b"k")).unwrap();
        assert!(matches!(verifier().verify(&hs), Err(AuthError::Malformed(_))));
    }

    #[test]
    fn accepted_tokens_are_remembered_until_they_expire() {
        let signer = Signer::new(&pair(), "pitbox-offline");
        let v = verifier();
        let (token, claims) = signer.issue("drv-1", UserRole::Driver, "team-a", None, Duration::from_secs(60)).unwrap();
        assert_eq!(v.verify(&token).unwrap().user_id, "drv-1");
        assert_eq!(v.verified().len(), 1);
        // A clone shares the memory: the second check is answered from it.
        assert_eq!(v.clone().verify(&token).unwrap().expires_at, claims.exp);
        assert_eq!(v.verified().len(), 1);
        // Within the leeway it still holds; past it the remembered token is refused and forgotten.
        assert!(v.verify_at(&token, claims.exp + LEEWAY_SECS).is_ok());
        assert!(matches!(v.verify_at(&token, claims.exp + LEEWAY_SECS + 1), Err(AuthError::Expired)));
        assert!(v.verified().is_empty());

        // Refused tokens are never remembered.
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[2] = URL_SAFE_NO_PAD.encode([7u8; 64]);
        let forged = parts.join(".");
        assert!(matches!(v.verify(&forged), Err(AuthError::BadSignature)));
        assert!(matches!(v.verify(&forged), Err(AuthError::BadSignature)));
        assert!(v.verified().is_empty());
    }

    #[test]
    fn a_narrowed_clone_does_not_answer_from_the_original_memory() {
        let signer = Signer::new(&pair(), "pitbox-offline");
        let (token, _) = signer.issue("drv-1", UserRole::Driver, "team-a", None, DEFAULT_TTL).unwrap();
        let v = verifier();
        assert!(v.verify(&token).is_ok());
        let strict = v.clone().with_issuers(["pitbox-cloud"]);
        assert!(matches!(strict.verify(&token), Err(AuthError::WrongIssuer { .. })));
        // Adding a key starts over too; the token still verifies by its signature.
        let mut wider = v.clone();
        wider.add_public_key(&KeyPair::from_seed([9u8; 32]).public_bytes());
        assert!(wider.verified().is_empty());
        assert!(wider.verify(&token).is_ok());
    }
}
