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

/// A stored secret's name and age (never its value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    pub name: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Encrypts and stores `value` under `name` (replacing any earlier value).
pub async fn put(store: &Store, key: &MasterKey, name: &str, value: &str) -> StoreResult<()> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
    let cipher = ChaCha20Poly1305::new(&key.0);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: value.as_bytes(), aad: name.as_bytes() })
        .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
    sqlx::query(
        "INSERT INTO secrets (name, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
         updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(nonce.to_vec())
    .bind(ct)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Decrypts the secret `name`; `None` when not stored. A wrong master key is an error.
pub async fn get(store: &Store, key: &MasterKey, name: &str) -> StoreResult<Option<String>> {
    let Some(row) = sqlx::query("SELECT nonce, ciphertext FROM secrets WHERE name = $1")
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
    let pt = cipher
        .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ct, aad: name.as_bytes() })
        .map_err(|_| StoreError::Corrupt(format!("secret {name} does not decrypt with this master key")))?;
    String::from_utf8(pt).map(Some).map_err(|_| StoreError::Corrupt(format!("secret {name} is not UTF-8")))
}

/// Names of the stored secrets.
pub async fn list(store: &Store) -> StoreResult<Vec<SecretInfo>> {
    let rows = sqlx::query("SELECT name, updated_at FROM secrets ORDER BY name").fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| Ok(SecretInfo { name: r.try_get("name")?, updated_at: ms_to_time(r.try_get("updated_at")?) }))
        .collect()
}

/// Deletes a secret; whether it existed.
pub async fn delete(store: &Store, name: &str) -> StoreResult<bool> {
    let r = sqlx::query("DELETE FROM secrets WHERE name = $1").bind(name).execute(store.pool()).await?;
    Ok(r.rows_affected() > 0)
}
