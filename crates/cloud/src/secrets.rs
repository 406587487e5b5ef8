//! Third-party API keys (OpenAI, ElevenLabs …) encrypted at rest with a master key:
//! ChaCha20-Poly1305, a fresh random nonce per write, the secret's name as associated data (a
//! ciphertext moved to another name does not decrypt). Values are never logged and never
//! returned by the HTTP API; only server-side code reads them with [`get`].

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sqlx::Row;

use crate::store::{Store, StoreError, StoreResult, ms_to_time, now_ms};

/// The master key.
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

/// Why a master key could not be read.
#[derive(Debug, thiserror::Error)]
#[error("master key: {0}")]
pub struct KeyError(String);

impl MasterKey {
    /// From base64 text of 32 bytes (the form `PITBOX_CLOUD_MASTER_KEY` and key files hold).
    pub fn from_base64(text: &str) -> Result<MasterKey, KeyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| KeyError(format!("not base64: {e}")))?;
        let arr: [u8; 32] =
            bytes.try_into().map_err(|b: Vec<u8>| KeyError(format!("must be 32 bytes, got {}", b.len())))?;
        Ok(MasterKey(arr.into()))
    }

    /// A fresh random key, as base64 (for `pitbox cloud` docs and tests).
    pub fn generate_base64() -> Result<String, KeyError> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| KeyError(e.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(k))
    }
}

/// Whose a secret is: the deployment's (the default every team falls back on, managed by the
/// owner) or one team's (managed by its admins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Deployment,
    Team(&'a str),
}

impl Scope<'_> {
    /// The stored scope column: `''` for the deployment, else the team id.
    fn column(&self) -> &str {
        match self {
            Scope::Deployment => "",
            Scope::Team(t) => t,
        }
    }

    /// Associated data of the ciphertext: a ciphertext moved to another name or another team does
    /// not decrypt. The deployment's is the bare name, as before teams had secrets.
    fn aad(&self, name: &str) -> String {
        match self {
            Scope::Deployment => name.to_string(),
            Scope::Team(t) => format!("{t}/{name}"),
        }
    }
}

/// A stored secret's name and age (never its value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    pub name: String,
    /// `team` (this team's own) or `deployment` (the default every team falls back on).
    pub scope: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Encrypts and stores `value` under `name` in `scope` (replacing any earlier value).
pub async fn put(store: &Store, key: &MasterKey, scope: Scope<'_>, name: &str, value: &str) -> StoreResult<()> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
    let cipher = ChaCha20Poly1305::new(&key.0);
    let aad = scope.aad(name);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: value.as_bytes(), aad: aad.as_bytes() })
        .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
    sqlx::query(
        "INSERT INTO scoped_secrets (scope, name, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (scope, name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
         updated_at = excluded.updated_at",
    )
    .bind(scope.column())
    .bind(name)
    .bind(nonce.to_vec())
    .bind(ct)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Decrypts the secret `name` stored in exactly `scope`; `None` when not stored there. A wrong
/// master key is an error.
pub async fn get_in(store: &Store, key: &MasterKey, scope: Scope<'_>, name: &str) -> StoreResult<Option<String>> {
    let Some(row) = sqlx::query("SELECT nonce, ciphertext FROM scoped_secrets WHERE scope = $1 AND name = $2")
        .bind(scope.column())
        .bind(name)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let nonce: Vec<u8> = row.try_get("nonce")?;
    let ct: Vec<u8> = row.try_get("ciphertext")?;
    if nonce.len() != 12 {
        return Err(StoreError::Corrupt(format!("secret {name}: bad nonce")));
    }
    let cipher = ChaCha20Poly1305::new(&key.0);
    let aad = scope.aad(name);
    let pt = cipher
        .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ct, aad: aad.as_bytes() })
        .map_err(|_| StoreError::Corrupt(format!("secret {name} does not decrypt with this master key")))?;
    String::from_utf8(pt).map(Some).map_err(|_| StoreError::Corrupt(format!("secret {name} is not UTF-8")))
}

/// The secret `name` as `team` uses it: the team's own, else the deployment's default.
pub async fn get(store: &Store, key: &MasterKey, team: &str, name: &str) -> StoreResult<Option<String>> {
    match get_in(store, key, Scope::Team(team), name).await? {
        Some(v) => Ok(Some(v)),
        None => get_in(store, key, Scope::Deployment, name).await,
    }
}

/// The secrets `team` can use: its own and the deployment's defaults it does not override.
pub async fn list(store: &Store, team: &str) -> StoreResult<Vec<SecretInfo>> {
    let rows = sqlx::query(
        "SELECT scope, name, updated_at FROM scoped_secrets WHERE scope = $1 OR scope = '' ORDER BY name, scope DESC",
    )
    .bind(team)
    .fetch_all(store.pool())
    .await?;
    let mut out: Vec<SecretInfo> = Vec::new();
    for r in &rows {
        let name: String = r.try_get("name")?;
        // Ordered by name, the team's row first: a default the team overrides is not listed.
        if out.last().is_some_and(|s| s.name == name) {
            continue;
        }
        let scope: String = r.try_get("scope")?;
        out.push(SecretInfo {
            name,
            scope: if scope.is_empty() { "deployment".into() } else { "team".into() },
            updated_at: ms_to_time(r.try_get("updated_at")?),
        });
    }
    Ok(out)
}

/// Deletes a secret of `scope`; whether it existed.
pub async fn delete(store: &Store, scope: Scope<'_>, name: &str) -> StoreResult<bool> {
    let r = sqlx::query("DELETE FROM scoped_secrets WHERE scope = $1 AND name = $2")
        .bind(scope.column())
        .bind(name)
        .execute(store.pool())
        .await?;
    Ok(r.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A team's ciphertext moved to another team, or to the deployment, does not decrypt.
    #[tokio::test]
    async fn a_ciphertext_belongs_to_its_team_and_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&format!("sqlite:{}", dir.path().join("db").display())).await.expect("open");
        let key = MasterKey::from_base64(&MasterKey::generate_base64().expect("key")).expect("key");
        put(&store, &key, Scope::Team("team-a"), "openai", "sk-a").await.expect("put");
        assert_eq!(get(&store, &key, "team-a", "openai").await.expect("get").as_deref(), Some("sk-a"));
        for to in ["team-b", ""] {
            sqlx::query("UPDATE scoped_secrets SET scope = $1 WHERE name = 'openai'")
                .bind(to)
                .execute(store.pool())
                .await
                .expect("move");
            let scope = if to.is_empty() { Scope::Deployment } else { Scope::Team(to) };
            assert!(get_in(&store, &key, scope, "openai").await.is_err(), "decrypted as {to:?}");
        }
    }
}
