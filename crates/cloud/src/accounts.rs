//! Accounts and teams as the domain sees them, with no HTTP types: creating teams and users,
//! changing a password or a role, disabling, enabling, deleting and unlocking an account, and
//! the deployment owner's flag. REST ([`crate::api`]) and the CLI (`pitbox user`, `pitbox team`)
//! call these; who may call them is [`crate::rules`]. Every change that must end a user's access
//! writes a revocation ([`crate::revocation`]) that every node applies within seconds.

use std::str::FromStr;

use pitbox_auth::Identity;
use pitbox_model::UserRole;
use pitbox_model::validate::Validator;

use crate::password;
use crate::revocation;
use crate::store::{Store, StoreError, Team, User};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted (argon2 hashes anything, but nobody types more).
pub const MAX_PASSWORD_LEN: usize = 1_024;

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Input breaks a rule; the errors name the fields.
    #[error("{0}")]
    Invalid(pitbox_model::ValidationErrors),
    /// The account or team does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The operation would leave the deployment without what it needs, or clashes.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this; the text names the rule.
    #[error("{0}")]
    Forbidden(String),
    /// Hashing the password failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result of an account operation.
pub type AccountResult<T> = Result<T, AccountError>;

fn invalid(field: &str, message: impl Into<String>) -> AccountError {
    let mut v = Validator::new("");
    v.fail(field, message);
    match v.finish() {
        Err(e) => AccountError::Invalid(e),
        Ok(()) => AccountError::Conflict("invalid input".into()),
    }
}

/// Checks a team name: 1–100 characters, no control characters, not shaped like an id (teams
/// are found by id or by name: a name shaped like an id could shadow another team).
pub fn check_team_name(name: &str) -> AccountResult<()> {
    let mut v = Validator::new("");
    v.text("name", name, 1, 100);
    if crate::store::looks_like_id(name) {
        v.fail("name", "must not look like an id (`prefix-` and 16 hex digits)");
    }
    v.finish().map_err(AccountError::Invalid)
}

/// Creates a team.
pub async fn create_team(store: &Store, name: &str) -> AccountResult<Team> {
    check_team_name(name)?;
    Ok(store.create_team(name).await?)
}

/// Checks a new account's fields.
pub fn check_new_user(username: &str, password: &str, role: UserRole, team: Option<&str>) -> AccountResult<()> {
    let mut v = Validator::new("");
    v.id("username", username);
    v.text("password", password, MIN_PASSWORD_LEN, MAX_PASSWORD_LEN);
    if team.is_none() {
        v.fail("teamId", format!("a {role} must belong to a team (the owner too: it is their home team)"));
    }
    v.finish().map_err(AccountError::Invalid)
}

async fn hash(pw: &str) -> AccountResult<String> {
    let pw = pw.to_string();
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Creates an account in `team` (a name or id).
pub async fn add_user(
    store: &Store,
    username: &str,
    pw: &str,
    role: UserRole,
    team: Option<&str>,
) -> AccountResult<User> {
    check_new_user(username, pw, role, team)?;
    let team_id = match team {
        Some(t) => Some(
            store.find_team(t).await?.ok_or_else(|| invalid("teamId", format!("no team `{t}` (create it first)")))?.id,
        ),
        None => None,
    };
    let hash = hash(pw).await?;
    Ok(store.create_user(username, &hash, role, team_id.as_deref()).await?)
}

/// A user by id, or by username when no id matches (the CLI takes either).
pub async fn find_user(store: &Store, id_or_name: &str) -> AccountResult<User> {
    if let Some(u) = store.user_by_id(id_or_name).await? {
        return Ok(u);
    }
    store.user_by_username(id_or_name).await?.ok_or_else(|| AccountError::NotFound(format!("no user `{id_or_name}`")))
}

/// Whether `pw` is the user's password (argon2id, off the async threads).
pub async fn password_matches(user: &User, pw: &str) -> AccountResult<bool> {
    let (pw, hash) = (pw.to_string(), user.password_hash.clone());
    tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Sets a new password. Every token and refresh token issued before ends: the user signs in
/// again with the new password, everywhere.
pub async fn set_password(store: &Store, user: &User, new_password: &str) -> AccountResult<()> {
    let mut v = Validator::new("");
    v.text("password", new_password, MIN_PASSWORD_LEN, MAX_PASSWORD_LEN);
    v.finish().map_err(AccountError::Invalid)?;
    let hash = hash(new_password).await?;
    store.set_password_hash(&user.id, &hash).await?;
    store.revoke_user_refresh(&user.id).await?;
    revocation::revoke_user_tokens(store, &user.id).await?;
    tracing::info!(user = user.id, "password changed; earlier tokens revoked");
    Ok(())
}

/// Changes a user's role. Their access tokens end (they carry the old role); a refresh issues
/// one with the new role.
pub async fn set_role(store: &Store, user: &User, role: UserRole) -> AccountResult<()> {
    if user.role == role {
        return Ok(());
    }
    store.set_role(&user.id, role).await?;
    revocation::revoke_user_tokens(store, &user.id).await?;
    tracing::info!(user = user.id, from = %user.role, to = %role, "role changed; earlier tokens revoked");
    Ok(())
}

/// Makes a user the deployment's owner or takes it away; their tokens end either way (the flag
/// is in the token).
pub async fn set_owner(store: &Store, user: &User, owner: bool) -> AccountResult<()> {
    if user.owner == owner {
        return Ok(());
    }
    store.set_owner(&user.id, owner).await?;
    revocation::revoke_user_tokens(store, &user.id).await?;
    tracing::info!(user = user.id, owner, "owner flag changed; earlier tokens revoked");
    Ok(())
}

/// Disables an account: no sign-in, no refresh, every token refused.
pub async fn disable(store: &Store, user: &User) -> AccountResult<()> {
    store.set_disabled(&user.id, true).await?;
    store.revoke_user_refresh(&user.id).await?;
    revocation::revoke_user_forever(store, &user.id).await?;
    tracing::info!(user = user.id, "account disabled; every token revoked");
    Ok(())
}

/// Enables a disabled account (tokens from before it was disabled stay refused).
pub async fn enable(store: &Store, user: &User) -> AccountResult<()> {
    store.set_disabled(&user.id, false).await?;
    revocation::reinstate_user(store, &user.id).await?;
    tracing::info!(user = user.id, "account enabled");
    Ok(())
}

/// Deletes an account: its credentials, profile and read receipts go, every token is refused;
/// what it wrote (messages, telemetry) stays under its id and name.
pub async fn delete(store: &Store, user: &User) -> AccountResult<()> {
    revocation::revoke_user_forever(store, &user.id).await?;
    store.delete_user(&user.id).await?;
    tracing::info!(user = user.id, username = user.username, "account deleted; every token revoked");
    Ok(())
}

/// Lifts the login lock of a username on every node (after too many wrong passwords).
pub async fn unlock(store: &Store, user: &User) -> AccountResult<()> {
    revocation::request_unlock(store, &user.username).await?;
    tracing::info!(user = user.id, "login lock lifted");
    Ok(())
}

/// Parses a role, with the list of valid ones in the error (the CLI's flags).
pub fn parse_role(s: &str) -> Result<UserRole, String> {
    UserRole::from_str(s).map_err(|e| e.to_string())
}

/// The member `id` of `team`, or a refusal on `field` when there is none.
pub async fn team_member(store: &Store, id: &str, team: &str, field: &str) -> AccountResult<User> {
    match store.user_by_id(id).await? {
        Some(u) if u.team_id.as_deref() == Some(team) => Ok(u),
        _ => Err(invalid(field, format!("no member `{id}` in this team"))),
    }
}

/// The team that telemetry of `driver_id` sent by `who` belongs to, or why `who` may not send
/// it: a driver sends only their own, an admin their team's drivers' (the owner any driver's).
pub async fn telemetry_team(store: &Store, who: &Identity, driver_id: &str) -> AccountResult<String> {
    match who.role {
        UserRole::Driver => {
            if driver_id != who.user_id {
                return Err(AccountError::Forbidden(format!(
                    "a driver publishes only their own telemetry: driverId must be {}",
                    who.user_id
                )));
            }
            Ok(who.team_id.clone())
        }
        UserRole::Admin => {
            if let Some(u) = store.user_by_id(driver_id).await?
                && let Some(t) = u.team_id
            {
                if !who.owner && t != who.team_id {
                    return Err(AccountError::Forbidden("that driver belongs to another team".into()));
                }
                return Ok(t);
            }
            Ok(who.team_id.clone())
        }
        other => {
            Err(AccountError::Forbidden(format!("only drivers (their own) and admins post telemetry; you are {other}")))
        }
    }
}
