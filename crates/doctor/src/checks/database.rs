//! The database (its schema migrations are all applied, none failed or unknown to this build)
//! and Redis (answers PING).

use pitbox_cloud::migrations::{MigrationStatus, migration_status};
use pitbox_cloud::store::{DbKind, StoreError};
use pitbox_model::CheckStatus;
use pitbox_model::rest::ValidationResult;
use serde_json::{Map, json};

use crate::Settings;
use crate::report::{not_configured, result};

/// A database URL with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    match path {
        Some(p) => format!("{scheme}://{authority}/{p}"),
        None => format!("{scheme}://{authority}"),
    }
}

fn versions(v: &[i64]) -> String {
    v.iter().map(|x| format!("{x:04}")).collect::<Vec<_>>().join(", ")
}

/// What a migration status means for the operator.
fn judge(st: &MigrationStatus, shown: &str) -> (CheckStatus, String) {
    let db = match st.kind {
        DbKind::Sqlite => "SQLite",
        DbKind::Postgres => "PostgreSQL",
    };
    if !st.failed.is_empty() {
        return (
            CheckStatus::Error,
            format!(
                "{db} {shown}: migration {} failed part-way; restore the backup taken before the upgrade, or fix the \
                 schema by hand and delete its row from _sqlx_migrations",
                versions(&st.failed)
            ),
        );
    }
    if !st.unknown.is_empty() {
        return (
            CheckStatus::Error,
            format!(
                "{db} {shown} has migration {} that this build does not know: it was upgraded by a newer pitbox; \
                 upgrade this binary",
                versions(&st.unknown)
            ),
        );
    }
    if !st.modified.is_empty() {
        return (
            CheckStatus::Error,
            format!(
                "{db} {shown}: migration {} was applied from a different file than this build carries",
                versions(&st.modified)
            ),
        );
    }
    if !st.pending.is_empty() {
        let names = st.pending.iter().map(|m| format!("{:04} {}", m.version, m.description)).collect::<Vec<_>>();
        return (
            CheckStatus::Warning,
            format!(
                "{db} {shown}: {} migration{} pending ({}); the next `pitbox cloud` start applies {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            ),
        );
    }
    let n = st.applied.len();
    (
        CheckStatus::Success,
        format!("{db} {shown}: schema current ({n} migration{} applied)", if n == 1 { "" } else { "s" }),
    )
}

/// The `database` check.
pub(crate) async fn migrations(settings: &Settings) -> ValidationResult {
    const COMPONENT: &str = "database";
    let Some(url) = settings.effective_database_url() else {
        return not_configured(
            COMPONENT,
            "give --database-url (PITBOX_CLOUD_DATABASE_URL) or --data-dir (PITBOX_CLOUD_DATA_DIR)",
        );
    };
    let shown = redact_url(&url);
    let mut d = Map::new();
    d.insert("url".into(), json!(shown));
    // The pool's own timeout covers connecting; this one covers a server that accepts and stalls.
    let status = tokio::time::timeout(settings.timeout * 2, migration_status(&url, settings.timeout)).await;
    match status {
        Err(_) => {
            let m = format!("{shown}: no answer within {}", humantime::format_duration(settings.timeout * 2));
            result(COMPONENT, CheckStatus::Error, m, d)
        }
        Ok(Err(StoreError::NotFound(m))) => {
            d.insert("exists".into(), json!(false));
            result(COMPONENT, CheckStatus::Warning, format!("{m}: `pitbox cloud` creates it on first start"), d)
        }
        Ok(Err(e)) => result(COMPONENT, CheckStatus::Error, format!("{shown}: {e}"), d),
        Ok(Ok(st)) => {
            d.insert("applied".into(), json!(st.applied));
            d.insert("pending".into(), json!(st.pending.iter().map(|m| m.version).collect::<Vec<_>>()));
            if !st.failed.is_empty() {
                d.insert("failed".into(), json!(st.failed));
            }
            if !st.unknown.is_empty() {
                d.insert("unknown".into(), json!(st.unknown));
            }
            if !st.modified.is_empty() {
                d.insert("modified".into(), json!(st.modified));
            }
            let (status, m) = judge(&st, &shown);
            result(COMPONENT, status, m, d)
        }
    }
}

async fn ping(url: &str) -> Result<String, String> {
    let shown = redact_url(url);
    let client = redis::Client::open(url).map_err(|e| format!("{shown}: {e}"))?;
    let mut con =
        client.get_multiplexed_async_connection().await.map_err(|e| format!("cannot connect to {shown}: {e}"))?;
    let pong: String = redis::cmd("PING").query_async(&mut con).await.map_err(|e| format!("{shown}: PING: {e}"))?;
    if pong != "PONG" {
        return Err(format!("{shown}: PING answered `{pong}`, not PONG"));
    }
    let info: String = redis::cmd("INFO").arg("server").query_async(&mut con).await.unwrap_or_default();
    let version = info.lines().find_map(|l| l.strip_prefix("redis_version:")).map(str::trim).unwrap_or("?");
    Ok(version.to_string())
}

/// The `redis` check.
pub(crate) async fn redis(settings: &Settings) -> ValidationResult {
    const COMPONENT: &str = "redis";
    let Some(url) = &settings.redis_url else {
        return not_configured(COMPONENT, "give --redis-url (PITBOX_CLOUD_REDIS_URL); a single cloud node needs none");
    };
    let shown = redact_url(url);
    let answer = tokio::time::timeout(settings.timeout, ping(url)).await;
    versioned(COMPONENT, settings, &shown, answer, |v| format!("{shown} answers PING (Redis {v})"))
}

/// The result of a probe that answers with the server's version (or the reason it did not),
/// within `settings.timeout`.
fn versioned(
    component: &str,
    settings: &Settings,
    shown: &str,
    answer: Result<Result<String, String>, tokio::time::error::Elapsed>,
    success: impl FnOnce(&str) -> String,
) -> ValidationResult {
    let mut d = Map::new();
    d.insert("url".into(), json!(shown));
    match answer {
        Err(_) => {
            let m = format!("{shown}: no answer within {}", humantime::format_duration(settings.timeout));
            result(component, CheckStatus::Error, m, d)
        }
        Ok(Err(m)) => result(component, CheckStatus::Error, m, d),
        Ok(Ok(version)) => {
            let m = success(&version);
            d.insert("version".into(), json!(version));
            result(component, CheckStatus::Success, m, d)
        }
    }
}

/// The `nats` check: connects, and a flush proves the server answers.
pub(crate) async fn nats(settings: &Settings) -> ValidationResult {
    const COMPONENT: &str = "nats";
    let Some(url) = &settings.nats_url else {
        return not_configured(
            COMPONENT,
            "give --nats-url (PITBOX_CLOUD_NATS_URL) when the cloud's nodes share NATS; Redis or a single node needs none",
        );
    };
    let shown = redact_url(url);
    let probe = async {
        let client = async_nats::ConnectOptions::new()
            .name("pitbox doctor")
            .connection_timeout(settings.timeout)
            .connect(url.as_str())
            .await
            .map_err(|e| format!("cannot connect to {shown}: {e}"))?;
        client.flush().await.map_err(|e| format!("{shown} did not answer: {e}"))?;
        Ok::<_, String>(client.server_info().version)
    };
    let answer = tokio::time::timeout(settings.timeout, probe).await;
    versioned(COMPONENT, settings, &shown, answer, |v| format!("{shown} answers (NATS {v})"))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact_url("postgres://pitbox:s3cret@db:5432/pitbox"), "postgres://pitbox:***@db:5432/pitbox");
        assert_eq!(redact_url("redis://:pw@127.0.0.1:6379"), "redis://:***@127.0.0.1:6379");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(redact_url("sqlite:///var/lib/pitbox/pitbox.db"), "sqlite:///var/lib/pitbox/pitbox.db");
    }
}
