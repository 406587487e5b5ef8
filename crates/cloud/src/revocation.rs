//! Ending access before a token expires. Access tokens stay 24-hour JWTs (the spec's); what ends
//! one early is a row in `token_revocations`, written by logout, a password or role change, and
//! disabling or deleting an account (through [`crate::accounts`], from REST or the CLI):
//!
//! - `user`: every token of a user issued before an instant (milliseconds: a token made in the
//!   same second after the change, like the new one after a password change, is accepted);
//! - `token`: one token, by its `jti` (logout);
//! - `unlock`: a username whose login lock every node lifts.
//!
//! Every node keeps the rows in memory ([`Revocations`]) and reloads them every
//! [`SYNC_EVERY`] — at once on the node that wrote them — so a revocation reaches every node
//! sharing the database within seconds. A reload closes the `/ws` connections whose token is now
//! revoked, and the REST and `/ws` token checks consult the memory on every request. Rows are
//! deleted once every token they could refuse has expired.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use pitbox_auth::{DenyList, Identity};
use sqlx::Row;

use crate::store::{Store, StoreResult, now_ms};
use crate::token::ACCESS_TTL_SECS;

/// How often a node reloads the deny-list.
pub const SYNC_EVERY: Duration = Duration::from_secs(2);
/// A row is kept this long: past it, every token it could refuse has expired (clock skew
/// included).
const KEEP_MS: i64 = (ACCESS_TTL_SECS + 120) * 1000;
pub use pitbox_auth::FOREVER;

/// The kinds of row.
const USER: &str = "user";
const TOKEN: &str = "token";
const UNLOCK: &str = "unlock";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Loaded {
    deny: DenyList,
    /// Username → when its login lock was last lifted (Unix ms).
    unlocks: HashMap<String, i64>,
}

/// Expired rows are deleted at most this often (a delete is a write: not every reload).
const PRUNE_EVERY_MS: i64 = 5 * 60 * 1000;

/// One node's copy of the deny-list.
#[derive(Debug, Default)]
pub struct Revocations {
    list: RwLock<Loaded>,
    /// When this node last deleted expired rows (Unix ms).
    pruned_at: std::sync::atomic::AtomicI64,
}

/// What a reload found new.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Something was revoked since the last reload (open connections must be checked).
    pub revoked: bool,
    /// Usernames unlocked since the last reload.
    pub unlocked: Vec<String>,
}

impl Revocations {
    /// An empty list (filled by [`Revocations::reload`]).
    pub fn new() -> Revocations {
        Revocations::default()
    }

    /// Why `who`'s token is refused, or `None` when it is not revoked.
    pub fn refusal(&self, who: &Identity) -> Option<&'static str> {
        self.refusal_of(&who.user_id, who.issued_at_ms, &who.token_id)
    }

    /// [`Revocations::refusal`] by parts (for the hub's open connections).
    pub fn refusal_of(&self, user_id: &str, issued_at_ms: u64, token_id: &str) -> Option<&'static str> {
        self.list.read().unwrap_or_else(std::sync::PoisonError::into_inner).deny.refusal(
            user_id,
            issued_at_ms,
            token_id,
        )
    }

    /// Reads every live row, replaces the memory and says what is new. Expired rows are deleted
    /// every few minutes on the way.
    pub async fn reload(&self, store: &Store) -> StoreResult<Changes> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = now_ms();
        if now - self.pruned_at.load(Relaxed) >= PRUNE_EVERY_MS {
            self.pruned_at.store(now, Relaxed);
            sqlx::query("DELETE FROM token_revocations WHERE expires_at <= $1").bind(now).execute(store.pool()).await?;
        }
        let rows = sqlx::query("SELECT kind, subject, not_before FROM token_revocations WHERE expires_at > $1")
            .bind(now)
            .fetch_all(store.pool())
            .await?;
        let mut next = Loaded::default();
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            let subject: String = r.try_get("subject")?;
            let not_before: i64 = r.try_get("not_before")?;
            match kind.as_str() {
                USER => {
                    next.deny.users.insert(subject, not_before);
                }
                TOKEN => {
                    next.deny.tokens.insert(subject);
                }
                UNLOCK => {
                    next.unlocks.insert(subject, not_before);
                }
                other => tracing::warn!(kind = other, "unknown revocation kind in the database; ignored"),
            }
        }
        let mut list = self.list.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let revoked = DenyList::revokes_more_than(&next.deny, &list.deny);
        let unlocked = next
            .unlocks
            .iter()
            .filter(|(u, at)| list.unlocks.get(*u).is_none_or(|old| old < *at))
            .map(|(u, _)| u.clone())
            .collect();
        *list = next;
        Ok(Changes { revoked, unlocked })
    }
}

async fn upsert(store: &Store, kind: &str, subject: &str, not_before: i64) -> StoreResult<()> {
    // The later of two revocations wins: disabling after a password change keeps "forever".
    sqlx::query(
        "INSERT INTO token_revocations (kind, subject, not_before, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, subject) DO UPDATE SET \
         not_before = CASE WHEN excluded.not_before > token_revocations.not_before \
                      THEN excluded.not_before ELSE token_revocations.not_before END, \
         expires_at = excluded.expires_at",
    )
    .bind(kind)
    .bind(subject)
    .bind(not_before)
    .bind(now_ms() + KEEP_MS)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Refuses every token of `user_id` issued before now (to the millisecond: the new one after a
/// password change, or a refresh after a role change, is accepted).
pub async fn revoke_user_tokens(store: &Store, user_id: &str) -> StoreResult<()> {
    upsert(store, USER, user_id, now_ms()).await
}

/// Refuses every token of `user_id`, whenever issued (a deleted or disabled account).
pub async fn revoke_user_forever(store: &Store, user_id: &str) -> StoreResult<()> {
    upsert(store, USER, user_id, FOREVER).await
}

/// Lets a re-enabled account's new tokens through (tokens from before it was disabled stay
/// refused).
pub async fn reinstate_user(store: &Store, user_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE token_revocations SET not_before = $1 WHERE kind = $2 AND subject = $3")
        .bind(now_ms())
        .bind(USER)
        .bind(user_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Refuses one token (logout).
pub async fn revoke_token(store: &Store, token_id: &str) -> StoreResult<()> {
    upsert(store, TOKEN, token_id, 0).await
}

/// Asks every node to lift `username`'s login lock.
pub async fn request_unlock(store: &Store, username: &str) -> StoreResult<()> {
    upsert(store, UNLOCK, username, now_ms()).await
}

/// The deny-list a relay of `team` applies (`GET /api/auth/revocations`): revoked tokens, and
/// the revoked users of that team or of no team any more (deleted); every user for `None`.
pub async fn list_for(store: &Store, team: Option<&str>) -> StoreResult<DenyList> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT r.kind, r.subject, r.not_before, u.team_id FROM token_revocations r \
         LEFT JOIN users u ON u.id = r.subject WHERE r.expires_at > $1 AND r.kind IN ('user', 'token')",
    )
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    let mut out = DenyList::default();
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        let subject: String = r.try_get("subject")?;
        if kind == TOKEN {
            out.tokens.insert(subject);
            continue;
        }
        let user_team: Option<String> = r.try_get("team_id")?;
        if team.is_none() || user_team.is_none() || user_team.as_deref() == team {
            out.users.insert(subject, r.try_get("not_before")?);
        }
    }
    Ok(out)
}

/// The OpenAPI schema of [`DenyList`] (`GET /api/auth/revocations`).
#[derive(Debug, utoipa::ToSchema)]
pub struct DenyListSchema {
    /// User id → that user's tokens issued before this instant (Unix ms) are refused.
    pub users: HashMap<String, i64>,
    /// Revoked token ids (`jti`).
    pub tokens: Vec<String>,
}

/// `GET /api/auth/revocations`: the deny-list for a relay's credential (its team's) or an admin
/// (their team's; the owner's: everything), so relays refuse what the cloud revoked.
pub async fn get_list(
    axum::extract::State(st): axum::extract::State<crate::AppState>,
    headers: axum::http::HeaderMap,
) -> crate::ApiResult<axum::Json<DenyList>> {
    use crate::ApiError;
    // A relay's credential is welcome here, unlike on the rest of the REST API (`Auth`).
    let who = crate::extract::bearer_identity(&headers, &st)?;
    let team = match (who.relay, who.role, who.owner) {
        (true, _, _) => Some(who.team_id.as_str()),
        (false, pitbox_model::UserRole::Admin, true) => None,
        (false, pitbox_model::UserRole::Admin, false) => Some(who.team_id.as_str()),
        (false, role, _) => {
            return Err(ApiError::forbidden(format!("the revocation list is for relays and admins; you are {role}")));
        }
    };
    Ok(axum::Json(list_for(&st.store, team).await?))
}

/// Reloads the deny-list of this node and applies what is new: closes the `/ws` connections
/// whose token is now revoked and lifts the login locks asked for.
pub async fn sync(st: &crate::AppState) -> StoreResult<()> {
    let changes = st.revocations.reload(&st.store).await?;
    if changes.revoked {
        let revocations = st.revocations.clone();
        let closed = st.hub.close_revoked(
            |user, iat, jti| revocations.refusal_of(user, iat, jti).is_some(),
            "token revoked: sign in again",
        );
        if closed > 0 {
            tracing::info!(closed, "closed live connections whose token was revoked");
        }
    }
    for username in changes.unlocked {
        st.limiter.succeeded(&username).await;
        tracing::info!(username, "login lock lifted");
    }
    Ok(())
}

/// Reloads the deny-list every [`SYNC_EVERY`] until the process ends. A failed reload keeps the
/// last list and is logged (and retried).
pub fn spawn_sync(st: crate::AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SYNC_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match sync(&st).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("token revocations reload again");
                }
                Ok(()) => {}
                Err(e) => {
                    if !failing {
                        tracing::error!(error = %e, "cannot reload token revocations; keeping the last list");
                    }
                    failing = true;
                    st.metrics.revocation_sync_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reload_sees_new_rows_and_the_later_revocation_wins() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&format!("sqlite:{}", dir.path().join("db").display())).await.expect("open");
        let r = Revocations::new();
        assert_eq!(r.reload(&store).await.expect("reload"), Changes::default());
        revoke_user_forever(&store, "u1").await.expect("forever");
        revoke_user_tokens(&store, "u1").await.expect("later but earlier cut-off");
        request_unlock(&store, "ana").await.expect("unlock");
        let c = r.reload(&store).await.expect("reload");
        assert!(c.revoked);
        assert_eq!(c.unlocked, vec!["ana".to_string()]);
        assert_eq!(r.refusal_of("u1", u64::MAX / 4, "x"), Some("the account was deleted or disabled"));
        // Nothing new on the next reload.
        assert_eq!(r.reload(&store).await.expect("reload"), Changes::default());
        reinstate_user(&store, "u1").await.expect("enable");
        r.reload(&store).await.expect("reload");
        assert!(r.refusal_of("u1", u64::MAX / 4, "x").is_none());
        assert!(r.refusal_of("u1", 5, "x").is_some());
    }
}
