//! A read-only view of the database's schema migrations, for `pitbox doctor`: which of the
//! migrations embedded in this build are applied, pending, failed or changed, and which applied
//! ones this build does not know — without applying anything ([`crate::Store::open`] applies them).

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyPoolOptions;

use crate::store::{DbKind, StoreError, StoreResult};

/// One migration embedded in this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationInfo {
    pub version: i64,
    pub description: String,
}

/// How the database's migrations compare with this build's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub kind: DbKind,
    /// Every migration this build carries, in order.
    pub embedded: Vec<MigrationInfo>,
    /// Versions recorded as applied successfully.
    pub applied: Vec<i64>,
    /// Embedded but not applied: the next `pitbox cloud` start applies them.
    pub pending: Vec<MigrationInfo>,
    /// Recorded as started but not finished (a failed migration; needs an operator).
    pub failed: Vec<i64>,
    /// Applied, but the embedded file's checksum differs (edited after it was applied).
    pub modified: Vec<i64>,
    /// Applied by a newer build: this build does not know them.
    pub unknown: Vec<i64>,
}

impl MigrationStatus {
    /// Nothing pending, failed, modified or unknown.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.failed.is_empty() && self.modified.is_empty() && self.unknown.is_empty()
    }
}

fn migrator(kind: DbKind) -> sqlx::migrate::Migrator {
    match kind {
        DbKind::Sqlite => sqlx::migrate!("migrations/sqlite"),
        DbKind::Postgres => sqlx::migrate!("migrations/postgres"),
    }
}

/// Reads the migration state of the database at `url` (`sqlite://PATH` or `postgres://…`)
/// without changing it. A SQLite file that does not exist is [`StoreError::NotFound`] (it is
/// opened read-only, never created); `connect_timeout` bounds the wait for a server.
pub async fn migration_status(url: &str, connect_timeout: Duration) -> StoreResult<MigrationStatus> {
    sqlx::any::install_default_drivers();
    let (kind, connect_url) = if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        if !std::path::Path::new(path).is_file() {
            return Err(StoreError::NotFound(format!("database file {path} does not exist")));
        }
        (DbKind::Sqlite, format!("sqlite://{path}?mode=ro"))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        (DbKind::Postgres, url.to_string())
    } else {
        return Err(StoreError::UnsupportedUrl(url.chars().take(40).collect()));
    };
    let pool = AnyPoolOptions::new().max_connections(1).acquire_timeout(connect_timeout).connect(&connect_url).await?;
    let table_query = match kind {
        DbKind::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        DbKind::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()"
        }
    };
    let has_table: i64 = sqlx::query(table_query).fetch_one(&pool).await?.try_get("n")?;
    // (version, finished successfully, checksum) as recorded by sqlx's migrator.
    let mut recorded: Vec<(i64, bool, Vec<u8>)> = Vec::new();
    if has_table > 0 {
        let rows = sqlx::query(
            "SELECT version, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) AS ok, checksum \
             FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(&pool)
        .await?;
        for r in &rows {
            recorded.push((r.try_get("version")?, r.try_get::<i64, _>("ok")? != 0, r.try_get("checksum")?));
        }
    }
    pool.close().await;
    let m = migrator(kind);
    let embedded: Vec<&sqlx::migrate::Migration> = m.iter().filter(|m| !m.migration_type.is_down_migration()).collect();
    let mut status = MigrationStatus {
        kind,
        embedded: embedded
            .iter()
            .map(|m| MigrationInfo { version: m.version, description: m.description.to_string() })
            .collect(),
        applied: Vec::new(),
        pending: Vec::new(),
        failed: Vec::new(),
        modified: Vec::new(),
        unknown: Vec::new(),
    };
    for (version, ok, checksum) in &recorded {
        if !ok {
            status.failed.push(*version);
            continue;
        }
        status.applied.push(*version);
        match embedded.iter().find(|m| m.version == *version) {
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => status.modified.push(*version),
            Some(_) => {}
            None => status.unknown.push(*version),
        }
    }
    for m in &embedded {
        if !recorded.iter().any(|(v, _, _)| *v == m.version) {
            status.pending.push(MigrationInfo { version: m.version, description: m.description.to_string() });
        }
    }
    Ok(status)
}
