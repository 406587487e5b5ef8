//! SQL storage over `sqlx::Any`: one code path for SQLite (the embedded default) and PostgreSQL.
//! Every statement uses `$N` placeholders, which both accept; times are Unix milliseconds.
//! Migrations for each database are embedded and run on start.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pitbox_model::UserRole;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("object store: {0}")]
    Object(String),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A telemetry block could not be encoded.
    #[error(transparent)]
    Chunk(#[from] crate::chunk::ChunkError),
    /// A data file or directory could not be created or made private.
    #[error("data file {0}")]
    Io(String),
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: UserRole,
    pub team_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The deployment's owner: reads and manages every team.
    pub owner: bool,
    /// When the account was disabled (no sign-in, every token refused); `None` when active.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// The columns [`user_from_row`] reads.
const USER_COLUMNS: &str = "id, username, password_hash, role, team_id, created_at, is_owner, disabled_at";

/// What happened to a refresh token presented for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// Valid and now spent: issue the next one in `family_id`.
    Rotated { user_id: String, family_id: String },
    /// Unknown token.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Its family was revoked (logout or earlier reuse).
    Revoked,
    /// Already spent once: the family is now revoked.
    Reused,
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Milliseconds to a UTC instant (out-of-range values clamp to the epoch).
pub fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A fresh random identifier `prefix-<16 hex>`.
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    // getrandom only fails when the OS has no entropy source at all; fall back to the clock.
    if getrandom::fill(&mut b).is_err() {
        b = (Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64).to_le_bytes();
    }
    let mut s = String::with_capacity(prefix.len() + 17);
    s.push_str(prefix);
    s.push('-');
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Whether `s` has the shape of an id made by [`new_id`]: lowercase letters, `-`, 16 hex digits.
pub fn looks_like_id(s: &str) -> bool {
    let Some((prefix, hex)) = s.rsplit_once('-') else { return false };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && hex.len() == 16
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The SQL database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    kind: DbKind,
}

fn role_of(s: &str) -> StoreResult<UserRole> {
    UserRole::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn user_from_row(r: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        password_hash: r.try_get("password_hash")?,
        role: role_of(&r.try_get::<String, _>("role")?)?,
        team_id: r.try_get("team_id")?,
        created_at: ms_to_time(r.try_get("created_at")?),
        owner: r.try_get::<i64, _>("is_owner")? != 0,
        disabled_at: r.try_get::<Option<i64>, _>("disabled_at")?.map(ms_to_time),
    })
}

/// [`StoreError::NotFound`] when a statement about user `id` touched no row.
fn one_user(rows_affected: u64, id: &str) -> StoreResult<()> {
    if rows_affected == 0 {
        return Err(StoreError::NotFound(format!("user {id} does not exist")));
    }
    Ok(())
}

fn team_from_row(r: &AnyRow) -> StoreResult<Team> {
    Ok(Team { id: r.try_get("id")?, name: r.try_get("name")?, created_at: ms_to_time(r.try_get("created_at")?) })
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// The database file of a `sqlite:` URL (none for in-memory databases).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Makes the database file (and, once open, its `-wal` and `-shm`) and its directory private
/// to the owner: they hold password hashes, messages and encrypted secrets.
fn private_db_file(file: &std::path::Path, companions: bool) -> StoreResult<()> {
    use pitbox_auth::private_fs::{private_dir, private_file, private_if_exists};
    let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", file.display()));
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir).map_err(io)?;
    }
    private_file(file).map_err(io)?;
    if companions {
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            private_if_exists(std::path::Path::new(&name)).map_err(io)?;
        }
    }
    Ok(())
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` — created when missing — or `postgres://…`) and runs
    /// the migrations.
    pub async fn open(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            DbKind::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.chars().take(40).collect()));
        };
        let mut opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let url = match kind {
            DbKind::Sqlite => {
                opts = opts.max_connections(4).after_connect(|conn, _meta| {
                    Box::pin(async move {
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                             PRAGMA wal_autocheckpoint = 100000; PRAGMA journal_size_limit = 67108864;",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                });
                if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") }
            }
            DbKind::Postgres => {
                opts = opts.max_connections(16);
                url.to_string()
            }
        };
        let file = sqlite_file(&url);
        if let Some(f) = &file {
            // Created private before SQLite opens it: SQLite gives its -wal and -shm the
            // database file's permissions.
            private_db_file(f, false)?;
        }
        let pool = opts.connect(&url).await?;
        let store = Store { pool, kind };
        store.migrate().await?;
        if let Some(f) = &file {
            private_db_file(f, true)?;
        }
        Ok(store)
    }

    /// SQLite: copies the write-ahead log into the database file every `every`, on a task of
    /// its own; ends when the pool closes. Nothing on PostgreSQL.
    ///
    /// Why: SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages, so
    /// that commit (and with it every uplink batch waiting on the ingest writer) waits for the
    /// database file to be written and synced; on a busy disk that made the batch p99 twice
    /// the goal. A PASSIVE checkpoint never blocks writers. The connections keep an automatic
    /// checkpoint at 100,000 pages (about 400 MB) only as a bound for processes that do not
    /// run this (the CLI's one-shot commands).
    pub fn spawn_wal_checkpointer(&self, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        if self.kind != DbKind::Sqlite {
            return None;
        }
        let pool = self.pool.clone();
        Some(tokio::spawn(async move {
            let mut failing = false;
            while !pool.is_closed() {
                tokio::time::sleep(every).await;
                match sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                    Ok(_) => failing = false,
                    Err(e) if !failing && !pool.is_closed() => {
                        failing = true;
                        tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                    }
                    Err(_) => {}
                }
            }
        }))
    }

    /// Runs the embedded migrations of this database.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self.kind {
            DbKind::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            DbKind::Postgres => sqlx::migrate!("migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    /// Which database this is.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// The connection pool (for the storage modules of this crate).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // ---- teams ----

    /// Creates a team; its id is `name` made into an identifier when free, else a random id.
    pub async fn create_team(&self, name: &str) -> StoreResult<Team> {
        if looks_like_id(name) {
            return Err(StoreError::Conflict(format!("a team name may not look like an id: `{name}`")));
        }
        let taken = sqlx::query("SELECT id FROM teams WHERE id = $1").bind(name).fetch_optional(&self.pool).await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!("`{name}` is another team's id")));
        }
        let id = new_id("team");
        let now = now_ms();
        let r = sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await;
        match r {
            Ok(_) => Ok(Team { id, name: name.to_string(), created_at: ms_to_time(now) }),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!("team `{name}` already exists"))),
            Err(e) => Err(e.into()),
        }
    }

    /// A team by id, else by name: an id always wins, so a name can never stand for another
    /// team (names that look like ids are refused when teams are made).
    pub async fn find_team(&self, id_or_name: &str) -> StoreResult<Option<Team>> {
        let by_id = sqlx::query("SELECT id, name, created_at FROM teams WHERE id = $1")
            .bind(id_or_name)
            .fetch_optional(&self.pool)
            .await?;
        let row = match by_id {
            Some(r) => Some(r),
            None => {
                sqlx::query("SELECT id, name, created_at FROM teams WHERE name = $1")
                    .bind(id_or_name)
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        row.as_ref().map(team_from_row).transpose()
    }

    /// Every team, by name.
    pub async fn list_teams(&self) -> StoreResult<Vec<Team>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM teams ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter().map(team_from_row).collect()
    }

    // ---- users ----

    /// Creates a user (the password already hashed).
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: UserRole,
        team_id: Option<&str>,
    ) -> StoreResult<User> {
        let id = new_id("usr");
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, team_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(team_id)
        .bind(now)
        .execute(&self.pool)
        .await;
        match r {
            Ok(_) => Ok(User {
                id,
                username: username.to_string(),
                password_hash: password_hash.to_string(),
                role,
                team_id: team_id.map(str::to_string),
                created_at: ms_to_time(now),
                owner: false,
                disabled_at: None,
            }),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict(format!("username `{username}` is already taken")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A user by username.
    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1")))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// A user by id.
    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Users of one team, or every user.
    pub async fn list_users(&self, team_id: Option<&str>) -> StoreResult<Vec<User>> {
        let rows = match team_id {
            Some(t) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE team_id = $1 ORDER BY username"
                )))
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users ORDER BY username")))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(user_from_row).collect()
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&self, id: &str, hash: &str) -> StoreResult<()> {
        let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        one_user(r.rows_affected(), id)
    }

    /// Changes a user's role.
    pub async fn set_role(&self, id: &str, role: UserRole) -> StoreResult<()> {
        let r = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        one_user(r.rows_affected(), id)
    }

    /// Makes a user the deployment's owner, or not.
    pub async fn set_owner(&self, id: &str, owner: bool) -> StoreResult<()> {
        let r = sqlx::query("UPDATE users SET is_owner = $1 WHERE id = $2")
            .bind(i64::from(owner))
            .bind(id)
            .execute(&self.pool)
            .await?;
        one_user(r.rows_affected(), id)
    }

    /// Disables a user now, or enables them (`false`).
    pub async fn set_disabled(&self, id: &str, disabled: bool) -> StoreResult<()> {
        let r = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then(now_ms))
            .bind(id)
            .execute(&self.pool)
            .await?;
        one_user(r.rows_affected(), id)
    }

    /// Deletes a user with their refresh tokens and driver profile, in one transaction. What
    /// they wrote (messages, telemetry) stays, under their id and name.
    pub async fn delete_user(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for sql in [
            "DELETE FROM refresh_tokens WHERE user_id = $1",
            "DELETE FROM driver_profiles WHERE user_id = $1",
            "DELETE FROM message_reads WHERE user_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let r = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        one_user(r.rows_affected(), id)?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes every refresh token of a user (every sign-in must start again).
    pub async fn revoke_user_refresh(&self, user_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- refresh tokens ----

    /// Stores a refresh token (by its hash) in `family_id`.
    pub async fn insert_refresh(
        &self,
        token_hash: &str,
        family_id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(family_id)
        .bind(user_id)
        .bind(now_ms())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends a refresh token: exactly one caller can spend it; a second spend revokes its family.
    pub async fn use_refresh(&self, token_hash: &str) -> StoreResult<RefreshUse> {
        let now = now_ms();
        let Some(row) = sqlx::query(
            "SELECT family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(RefreshUse::Unknown);
        };
        let family_id: String = row.try_get("family_id")?;
        let user_id: String = row.try_get("user_id")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        if revoked_at.is_some() {
            return Ok(RefreshUse::Revoked);
        }
        if used_at.is_some() {
            self.revoke_family(&family_id).await?;
            return Ok(RefreshUse::Reused);
        }
        if expires_at <= now {
            return Ok(RefreshUse::Expired);
        }
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() != 1 {
            // Spent concurrently by someone else: that is a reuse too.
            self.revoke_family(&family_id).await?;
            return Ok(RefreshUse::Reused);
        }
        Ok(RefreshUse::Rotated { user_id, family_id })
    }

    /// The family of a refresh token, if the token is known.
    pub async fn refresh_family(&self, token_hash: &str) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query("SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some((r.try_get("family_id")?, r.try_get("user_id")?))),
            None => Ok(None),
        }
    }

    /// Revokes every token of a family.
    pub async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(family_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_file_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// With the automatic checkpoint pushed out of the commit path, the database file only
    /// grows when the background checkpointer runs.
    #[tokio::test]
    async fn the_checkpointer_moves_the_log_into_the_database_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("pitbox.db");
        let store = Store::open(&format!("sqlite:{}", path.display())).await.expect("open");
        for i in 0..200 {
            store.create_team(&format!("team-{i}")).await.expect("team");
        }
        let before = db_file_len(&path);
        let wal = db_file_len(&dir.path().join("pitbox.db-wal"));
        assert!(wal > 0, "the writes are in the write-ahead log");
        let task = store.spawn_wal_checkpointer(Duration::from_millis(20)).expect("a checkpointer on SQLite");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while db_file_len(&path) <= before {
            assert!(std::time::Instant::now() < deadline, "the database file never grew: no checkpoint ran");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        store.pool().close().await;
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("ends when the pool closes").ok();
    }
}
