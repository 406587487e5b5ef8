//! The HTTP API: routes and handlers. Every handler checks the caller's role and team, and
//! answers bad input with a precise [`ApiError`].

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use pitbox_model::control::MAX_BATCH_SAMPLES;
use pitbox_model::rest::{LoginRequest, LoginResponse, TelemetryPost, TelemetryPostResponse, UserSummary};
use pitbox_model::team::{Attachment, DriverProfile, HandoffRequest, HandoffResponse, MessageRead, TeamMessage};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::validate::{Validate, Validator, validate};
use pitbox_model::{DriverRole, DriverStatus, HandoffStatus, Message, Priority, Urgency, UserRole};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accounts;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, ClientIp, JsonBody, MaybeAuth, Path, Query};
use crate::rules::{Account, Actor, HandoffParty, handoff_refusal, may_answer_handoff, may_grant, may_manage};
use crate::server::AppState;
use crate::store::{RefreshUse, Team, User, new_id, now_ms};
use crate::telemetry::{IngestError, IngestOutcome, LapSummary, SessionSummary, SimLapSummary};
use crate::{password, revocation, secrets, team, telemetry};

/// Refresh token lifetime: 30 days.
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
const STAFF: &[UserRole] = &[UserRole::Admin, UserRole::Engineer, UserRole::Driver];
const MANAGERS: &[UserRole] = &[UserRole::Admin, UserRole::Engineer];

/// Every route of a node.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/config", get(config))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/jwks", get(jwks))
        .route("/api/auth/revocations", get(crate::revocation::get_list))
        .route("/api/auth/me", get(me))
        .route("/api/teams", get(list_teams).post(create_team))
        .route("/api/relays", get(crate::relays::list))
        .route("/api/relays/token", post(issue_relay_token))
        .route("/api/users", get(list_users).post(create_user))
        .route("/api/users/{id}", axum::routing::delete(delete_user))
        .route("/api/users/{id}/password", post(change_password))
        .route("/api/users/{id}/role", put(change_role))
        .route("/api/users/{id}/disable", post(disable_user))
        .route("/api/users/{id}/enable", post(enable_user))
        .route("/api/users/{id}/unlock", post(unlock_user))
        .route("/api/telemetry", post(post_telemetry))
        .route("/api/telemetry/batch", post(post_telemetry_batch))
        .route("/api/sessions", get(list_sessions))
        .route(
            "/api/sessions/import",
            post(crate::import::import_session)
                .layer(axum::extract::DefaultBodyLimit::max(crate::import::MAX_IBT_BYTES)),
        )
        .route("/api/sessions/{id}/laps", get(list_laps))
        .route("/api/sessions/{id}/telemetry-laps", get(list_telemetry_laps))
        .route("/api/laps/{id}/telemetry", get(lap_telemetry))
        .route("/api/laps/{id}/compare", get(crate::lap_compare::compare))
        .route("/api/laps/{id}/ibt", get(crate::download::lap_ibt))
        .route("/api/laps/{id}/reference", get(crate::cue_reference::lap_reference))
        .route("/api/laps/{id}/csv", get(crate::download::lap_csv))
        .route("/api/sessions/{id}/ibt", get(crate::download::session_ibt))
        .route("/api/sessions/{id}/csv", get(crate::download::session_csv))
        .route("/api/events", get(crate::events::list))
        .route("/api/events/{id}", get(crate::events::get))
        .route("/api/messages", get(list_messages).post(create_message))
        .route("/api/messages/{id}/read", post(read_message))
        .route("/api/handoffs", get(list_handoffs).post(create_handoff))
        .route("/api/handoffs/{id}/respond", post(respond_handoff))
        .route("/api/drivers", get(list_drivers))
        .route("/api/drivers/{id}", get(get_driver).put(put_driver))
        .route(
            "/api/drivers/{id}/cue-reference",
            get(crate::cue_reference::get).put(crate::cue_reference::put).delete(crate::cue_reference::delete),
        )
        .route("/api/admin/secrets", get(list_secrets))
        .route("/api/admin/secrets/{name}", put(put_secret).delete(delete_secret))
        .route(
            "/api/coaching/analyze",
            post(crate::coaching::analyze)
                .layer(axum::extract::DefaultBodyLimit::max(crate::coaching::MAX_ANALYZE_BODY_BYTES)),
        )
        .route("/api/coaching", get(crate::coaching::list))
        .route("/api/voice/synthesize", post(crate::voice::synthesize))
        .route("/api/voice/audio/{file}", get(crate::voice::audio))
        .route("/api/strategy/plan", get(crate::strategy::get_plan).post(crate::strategy::post_plan))
        .route("/ws", get(crate::ws::CloudHub::ws_handler))
        .merge(crate::openapi::routes())
        // Unknown API paths answer JSON 404s; every other GET is the dashboard (SPA routes too).
        .route("/api", axum::routing::any(not_found))
        .route("/api/{*rest}", axum::routing::any(not_found))
        .merge(pitbox_webui::router())
        .layer(axum::middleware::from_fn(crate::extract::json_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

async fn count_requests(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    state.metrics.http_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    next.run(req).await
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

fn check<T: Validate>(v: &T) -> ApiResult<()> {
    validate(v, "").map_err(|e| ApiError::from_validation(&e))
}

// ---- health, metrics, config ----

async fn health(State(st): State<AppState>) -> impl IntoResponse {
    let db = st.store.ping().await;
    let body = serde_json::json!({
        "status": if db.is_ok() { "ok" } else { "degraded" },
        "database": match &db { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
        "node": &*st.node_id,
        "uptimeSeconds": st.started.elapsed().as_secs(),
    });
    let code = if db.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body))
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::server::metrics_text(&st))
}

/// What a client needs to know about this cloud (`GET /api/config`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    pub version: String,
    pub protocol_version: String,
    pub node_id: String,
    pub websocket_path: String,
    pub access_token_ttl: i64,
    pub max_batch_samples: usize,
    pub jwks_path: String,
}

async fn config(State(st): State<AppState>) -> Json<ClientConfig> {
    Json(ClientConfig {
        version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: pitbox_model::control::PROTOCOL_VERSION.into(),
        node_id: st.node_id.to_string(),
        websocket_path: "/ws".into(),
        access_token_ttl: st.keys.access_ttl().as_secs() as i64,
        max_batch_samples: MAX_BATCH_SAMPLES,
        jwks_path: "/api/auth/jwks".into(),
    })
}

// ---- auth ----

fn refresh_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn random_token() -> ApiResult<String> {
    use base64::Engine;
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(ApiError::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Signs an access token for `user` (24 hours unless `--access-token-ttl` says otherwise).
pub fn access_token(st: &AppState, user: &User) -> ApiResult<String> {
    let team = user.team_id.as_deref().ok_or_else(|| ApiError::conflict("this account belongs to no team"))?;
    st.keys.issue_owned(&user.id, user.role, team, &user.username, user.owner).map_err(ApiError::internal)
}

fn account_disabled() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "account_disabled", "this account is disabled: ask your team's admin")
}

async fn issue(st: &AppState, user: &User, family: Option<String>) -> ApiResult<LoginResponse> {
    if user.role == UserRole::Driver {
        // Issue 21: a driver is on the pit wall under the team's name from the first sign-in.
        if let Err(e) = team::ensure_profile(&st.store, &user.id).await {
            tracing::warn!(error = %e, user = %user.id, "could not create the driver's profile");
        }
    }
    let refresh = random_token()?;
    let family = family.unwrap_or_else(|| new_id("fam"));
    st.store.insert_refresh(&refresh_hash(&refresh), &family, &user.id, now_ms() + REFRESH_TTL_MS).await?;
    Ok(LoginResponse {
        token: access_token(st, user)?,
        refresh_token: Some(refresh),
        expires_in: Some(st.keys.access_ttl().as_secs()),
        user: UserSummary { id: user.id.clone(), username: user.username.clone(), role: user.role },
    })
}

async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    use std::sync::atomic::Ordering::Relaxed;
    check(&body)?;
    if let Err(secs) = st.limiter.check(&body.username, ip).await {
        st.metrics.logins_limited.fetch_add(1, Relaxed);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many login attempts; retry in {secs} s"),
        );
        e.retry_after = Some(secs);
        return Err(e);
    }
    let user = st.store.user_by_username(&body.username).await?;
    let pw = body.password.clone();
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => password::dummy_hash().map_err(ApiError::internal)?.to_string(),
    };
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash)).await.map_err(ApiError::internal)?;
    match user {
        // Only the right password learns that the account is disabled.
        Some(u) if ok && u.disabled_at.is_some() => Err(account_disabled()),
        Some(u) if ok => {
            st.limiter.succeeded(&body.username).await;
            st.metrics.logins_ok.fetch_add(1, Relaxed);
            Ok(Json(issue(&st, &u, None).await?))
        }
        _ => {
            st.metrics.logins_failed.fetch_add(1, Relaxed);
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong username or password"))
        }
    }
}

/// Body of `POST /api/auth/refresh` and `POST /api/auth/logout`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub refresh_token: String,
}

fn check_refresh_shape(t: &str) -> ApiResult<()> {
    if t.is_empty() || t.len() > 256 {
        return Err(ApiError::validation("refreshToken", "must be a refresh token from login (1–256 characters)"));
    }
    Ok(())
}

async fn refresh(
    State(st): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> ApiResult<Json<LoginResponse>> {
    check_refresh_shape(&body.refresh_token)?;
    let refused = |code: &'static str, msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, msg);
    match st.store.use_refresh(&refresh_hash(&body.refresh_token)).await? {
        RefreshUse::Rotated { user_id, family_id } => {
            let Some(user) = st.store.user_by_id(&user_id).await? else {
                return Err(refused("invalid_refresh_token", "the account no longer exists"));
            };
            if user.disabled_at.is_some() {
                return Err(account_disabled());
            }
            Ok(Json(issue(&st, &user, Some(family_id)).await?))
        }
        RefreshUse::Unknown => Err(refused("invalid_refresh_token", "unknown refresh token")),
        RefreshUse::Expired => Err(refused("refresh_token_expired", "the refresh token expired; log in again")),
        RefreshUse::Revoked => Err(refused("refresh_token_revoked", "the refresh token was revoked; log in again")),
        RefreshUse::Reused => Err(refused(
            "refresh_token_reused",
            "this refresh token was already used: every token of its login was revoked; log in again",
        )),
    }
}

/// Signs out: the refresh token's login ends and, when the request carries its access token
/// (`Authorization: Bearer`), that token is revoked on every node within seconds.
async fn logout(
    State(st): State<AppState>,
    MaybeAuth(auth): MaybeAuth,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> ApiResult<StatusCode> {
    check_refresh_shape(&body.refresh_token)?;
    match st.store.refresh_family(&refresh_hash(&body.refresh_token)).await? {
        Some((family, owner)) => {
            st.store.revoke_family(&family).await?;
            if let Some(auth) = auth.filter(|a| a.user_id() == owner) {
                revocation::revoke_token(&st.store, &auth.0.token_id).await?;
                revocation::sync(&st).await?;
            }
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_refresh_token", "unknown refresh token")),
    }
}

async fn jwks(State(st): State<AppState>) -> Json<serde_json::Value> {
    Json(st.keys.jwks())
}

/// The caller as the server sees them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    pub username: String,
    #[schema(value_type = String)]
    pub role: UserRole,
    pub team_id: String,
    /// The deployment's owner: every team is theirs to read and manage.
    pub owner: bool,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

async fn me(auth: Auth) -> Json<Me> {
    let username = auth.name();
    let c = auth.0;
    Json(Me {
        id: c.user_id,
        username,
        role: c.role,
        team_id: c.team_id,
        owner: c.owner,
        expires_at: chrono::DateTime::from_timestamp(i64::try_from(c.expires_at).unwrap_or(0), 0).unwrap_or_default(),
    })
}

// ---- teams and users ----

/// Body of `POST /api/teams`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTeam {
    pub name: String,
}

async fn list_teams(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Team>>> {
    let teams = st.store.list_teams().await?;
    Ok(Json(teams.into_iter().filter(|t| auth.require_team(&t.id).is_ok()).collect()))
}

async fn create_team(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<NewTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    if !auth.is_owner() {
        return Err(ApiError::forbidden(format!(
            "creating a team is for the deployment's owner (`pitbox user owner`); you are a {} of one team",
            auth.role()
        )));
    }
    Ok((StatusCode::CREATED, Json(accounts::create_team(&st.store, &body.name).await?)))
}

/// Body of `POST /api/relays/token`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewRelayToken {
    /// The team the relay forwards (default: the caller's; admins may name another).
    #[serde(default)]
    pub team_id: Option<String>,
    /// A name for the relay, for logs (default `relay`).
    #[serde(default)]
    pub name: Option<String>,
    /// Lifetime in hours (default 720 = 30 days, at most 8784 = 366 days).
    #[serde(default)]
    pub ttl_hours: Option<u64>,
    /// Lifetime in seconds instead of hours (10 s to 8784 h): what a signed-in relay asks for,
    /// as long-lived as an access token, renewed before it runs out.
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// Renew the credential of this relay (an id from an earlier answer, of this team) instead
    /// of naming a new relay: a signed-in relay keeps one id across renewals.
    #[serde(default)]
    pub relay_id: Option<String>,
}

/// Response of `POST /api/relays/token`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelayToken {
    /// The relay's credential: give it to `pitbox relay --cloud-token-file`.
    pub token: String,
    pub relay_id: String,
    pub team_id: String,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Default lifetime of a relay's credential, hours.
pub const RELAY_TOKEN_DEFAULT_HOURS: u64 = 720;

/// Issues a relay's own credential (scope `relay`) for a team: an engineer for their team, an
/// admin for any. A relay speaks on the cloud's `/ws` only with it, and only for that team's
/// drivers.
async fn issue_relay_token(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<NewRelayToken>,
) -> ApiResult<(StatusCode, Json<RelayToken>)> {
    auth.require(MANAGERS, "issuing a relay credential")?;
    let team = auth.team(body.team_id.as_deref())?;
    if st.store.find_team(&team).await?.is_none_or(|t| t.id != team) {
        return Err(ApiError::validation("teamId", format!("no team with id `{team}`")));
    }
    let name = body.name.unwrap_or_else(|| "relay".into());
    let mut v = Validator::new("");
    v.text("name", &name, 1, 100);
    let hours = body.ttl_hours.unwrap_or(RELAY_TOKEN_DEFAULT_HOURS);
    if !(1..=8784).contains(&hours) {
        v.fail("ttlHours", format!("must be between 1 and 8784, got {hours}"));
    }
    let secs = match body.ttl_seconds {
        Some(_) if body.ttl_hours.is_some() => {
            v.fail("ttlSeconds", "give ttlHours or ttlSeconds, not both");
            0
        }
        Some(s) if !(10..=8784 * 3600).contains(&s) => {
            v.fail("ttlSeconds", format!("must be between 10 and {}, got {s}", 8784 * 3600));
            0
        }
        Some(s) => s,
        None => hours * 3600,
    };
    if let Some(id) = &body.relay_id {
        v.id("relayId", id);
        if !id.starts_with("relay-") {
            v.fail("relayId", "must be a relay id from an earlier answer (relay-…)");
        }
    }
    v.finish().map_err(|e| ApiError::from_validation(&e))?;
    let relay_id = match body.relay_id {
        Some(id) => {
            // A relay id that forwarded for another team is not this team's to renew.
            if crate::relays::team_of(&st.store, &id).await?.is_some_and(|t| t != team) {
                return Err(ApiError::forbidden(format!("relay {id} forwards for another team")));
            }
            id
        }
        None => new_id("relay"),
    };
    let (token, expires_at) = st
        .keys
        .issue_relay(&relay_id, &team, &name, std::time::Duration::from_secs(secs))
        .map_err(ApiError::internal)?;
    tracing::info!(relay = relay_id, team, by = auth.user_id(), "relay credential issued");
    Ok((StatusCode::CREATED, Json(RelayToken { token, relay_id, team_id: team, expires_at })))
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub username: String,
    #[schema(value_type = String)]
    pub role: UserRole,
    pub team_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The deployment's owner.
    pub owner: bool,
    /// Disabled: cannot sign in, every token refused.
    pub disabled: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            role: u.role,
            team_id: u.team_id,
            created_at: u.created_at,
            owner: u.owner,
            disabled: u.disabled_at.is_some(),
        }
    }
}

/// Body of `POST /api/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub username: String,
    pub password: String,
    #[schema(value_type = String)]
    pub role: UserRole,
    #[serde(default)]
    pub team_id: Option<String>,
}

async fn list_users(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<TeamQuery>,
) -> ApiResult<Json<Vec<UserView>>> {
    auth.require(MANAGERS, "listing users")?;
    let users = if auth.is_owner() && q.team_id.is_none() {
        st.store.list_users(None).await?
    } else {
        st.store.list_users(Some(&auth.team(q.team_id.as_deref())?)).await?
    };
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

async fn create_user(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    auth.require(MANAGERS, "creating a user")?;
    may_grant(actor(&auth), body.role).map_err(ApiError::forbidden)?;
    // Into the caller's team unless the owner names another (a name or an id).
    let team = match &body.team_id {
        Some(t) if !auth.is_owner() => {
            let found = st.store.find_team(t).await?;
            if found.map(|t| t.id).as_deref() != Some(auth.team_id()) {
                return Err(ApiError::forbidden("users are added to your own team"));
            }
            t.clone()
        }
        Some(t) => t.clone(),
        None => auth.team_id().to_string(),
    };
    let user = accounts::add_user(&st.store, &body.username, &body.password, body.role, Some(&team)).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

fn actor(auth: &Auth) -> Actor<'_> {
    Actor { role: auth.role(), owner: auth.is_owner(), team: auth.team_id() }
}

/// The account `id` if the caller may manage it (403 naming the rule, 404 when it does not
/// exist or, for a caller of another team, is not theirs to know of).
async fn managed_user(st: &AppState, auth: &Auth, id: &str) -> ApiResult<User> {
    let Some(user) = st.store.user_by_id(id).await? else {
        return Err(ApiError::not_found(format!("user {id} does not exist")));
    };
    let target = Account { role: user.role, owner: user.owner, team: user.team_id.as_deref() };
    if !auth.is_owner() && target.team != Some(auth.team_id()) {
        return Err(ApiError::not_found(format!("user {id} does not exist")));
    }
    may_manage(actor(auth), target).map_err(ApiError::forbidden)?;
    Ok(user)
}

/// Applies what an account change revoked on this node now (the other nodes within
/// [`revocation::SYNC_EVERY`]).
async fn revoked_now(st: &AppState) -> ApiResult<()> {
    revocation::sync(st).await.map_err(ApiError::from)
}

/// Body of `POST /api/users/{id}/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    /// The new password (8–1024 characters).
    pub password: String,
    /// The current password: required when changing one's own, not when an admin resets
    /// someone else's.
    #[serde(default)]
    pub current_password: Option<String>,
}

/// A new password: one's own (with the current one), or a reset by whoever may manage the
/// account. Every earlier token of the account ends.
async fn change_password(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PasswordChange>,
) -> ApiResult<StatusCode> {
    let user = if id == auth.user_id() {
        let Some(user) = st.store.user_by_id(&id).await? else {
            return Err(ApiError::not_found(format!("user {id} does not exist")));
        };
        let Some(current) = body.current_password.as_deref() else {
            return Err(ApiError::validation("currentPassword", "give your current password to change it"));
        };
        if !accounts::password_matches(&user, current).await? {
            return Err(ApiError::validation("currentPassword", "that is not your current password"));
        }
        user
    } else {
        managed_user(&st, &auth, &id).await?
    };
    accounts::set_password(&st.store, &user, &body.password).await?;
    revoked_now(&st).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `PUT /api/users/{id}/role`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    #[schema(value_type = String)]
    pub role: UserRole,
}

async fn change_role(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RoleChange>,
) -> ApiResult<Json<UserView>> {
    if id == auth.user_id() {
        return Err(ApiError::forbidden("nobody changes their own role"));
    }
    let user = managed_user(&st, &auth, &id).await?;
    may_grant(actor(&auth), body.role).map_err(ApiError::forbidden)?;
    accounts::set_role(&st.store, &user, body.role).await?;
    revoked_now(&st).await?;
    Ok(Json(UserView { role: body.role, ..user.into() }))
}

async fn disable_user(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<UserView>> {
    if id == auth.user_id() {
        return Err(ApiError::forbidden("nobody disables their own account"));
    }
    let user = managed_user(&st, &auth, &id).await?;
    accounts::disable(&st.store, &user).await?;
    revoked_now(&st).await?;
    Ok(Json(UserView { disabled: true, ..user.into() }))
}

async fn enable_user(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<UserView>> {
    let user = managed_user(&st, &auth, &id).await?;
    accounts::enable(&st.store, &user).await?;
    revoked_now(&st).await?;
    Ok(Json(UserView { disabled: false, ..user.into() }))
}

async fn delete_user(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if id == auth.user_id() {
        return Err(ApiError::forbidden("nobody deletes their own account"));
    }
    let user = managed_user(&st, &auth, &id).await?;
    accounts::delete(&st.store, &user).await?;
    revoked_now(&st).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unlock_user(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let user = managed_user(&st, &auth, &id).await?;
    accounts::unlock(&st.store, &user).await?;
    revoked_now(&st).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- telemetry ----

/// `?teamId=` of list endpoints.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamQuery {
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

fn limit(q: Option<i64>) -> ApiResult<i64> {
    match q {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::validation("limit", format!("must be between 1 and 1000, got {n}"))),
    }
}

fn ingest_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Gap { .. } => ApiError::validation("sequence", e.to_string()),
        other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", other.to_string()),
    }
}

async fn post_telemetry(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<TelemetryPost>,
) -> ApiResult<(StatusCode, Json<TelemetryPostResponse>)> {
    check(&body)?;
    let team = accounts::telemetry_team(&st.store, &auth.0, &body.driver_id).await?;
    let driver = body.driver_id.clone();
    let sample = body.into_update();
    if let Some((_, why)) =
        crate::clock::outside_window(std::slice::from_ref(&sample), chrono::Utc::now(), st.sample_clock_window)
    {
        return Err(ApiError::validation("timestamp", why));
    }
    st.ingest.submit(&team, &driver, vec![sample], None).await.map_err(ingest_error)?;
    Ok((StatusCode::CREATED, Json(TelemetryPostResponse { success: true, id: new_id("tlm") })))
}

/// Body of `POST /api/telemetry/batch`: samples of one driver; with `sequence` the batch is
/// stored at most once (the uplink's rules: per driver, from 1, no gaps).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryBatchPost {
    pub driver_id: String,
    #[serde(default)]
    pub sequence: Option<u64>,
    #[schema(value_type = Vec<Object>)]
    pub samples: Vec<TelemetryUpdate>,
}

impl Validate for TelemetryBatchPost {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        if self.sequence == Some(0) {
            v.fail("sequence", "must be at least 1");
        }
        v.list("samples", &self.samples, 1, MAX_BATCH_SAMPLES);
        if let Some(i) = self.samples.iter().position(|s| s.driver_id != self.driver_id) {
            v.fail(&format!("samples[{i}].driverId"), "must equal the batch's driverId");
        }
    }
}

/// Response of `POST /api/telemetry/batch`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryBatchResponse {
    pub success: bool,
    /// Samples stored by this request (0 when the sequence was stored before).
    pub stored: usize,
    /// The driver's highest stored sequence, for sequenced batches.
    pub sequence: Option<u64>,
    pub duplicate: bool,
}

async fn post_telemetry_batch(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<TelemetryBatchPost>,
) -> ApiResult<(StatusCode, Json<TelemetryBatchResponse>)> {
    check(&body)?;
    let team = accounts::telemetry_team(&st.store, &auth.0, &body.driver_id).await?;
    if let Some((i, why)) = crate::clock::outside_window(&body.samples, chrono::Utc::now(), st.sample_clock_window) {
        return Err(ApiError::validation(format!("samples[{i}].timestamp"), why));
    }
    let n = body.samples.len();
    let outcome = st
        .ingest
        .submit(
            &team,
            &body.driver_id,
            body.samples,
            body.sequence.map(|sequence| crate::telemetry::UplinkSeq { sequence, origin: String::new() }),
        )
        .await
        .map_err(ingest_error)?;
    let resp = match outcome {
        IngestOutcome::Stored => {
            TelemetryBatchResponse { success: true, stored: n, sequence: body.sequence, duplicate: false }
        }
        IngestOutcome::Duplicate { last } => {
            TelemetryBatchResponse { success: true, stored: 0, sequence: Some(last), duplicate: true }
        }
    };
    Ok((StatusCode::CREATED, Json(resp)))
}

async fn list_sessions(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<TeamQuery>,
) -> ApiResult<Json<Vec<SessionSummary>>> {
    let limit = limit(q.limit)?;
    let sessions = if auth.is_owner() && q.team_id.is_none() {
        telemetry::list_sessions(&st.store, None, limit).await?
    } else {
        telemetry::list_sessions(&st.store, Some(&auth.team(q.team_id.as_deref())?), limit).await?
    };
    Ok(Json(sessions))
}

async fn list_laps(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SimLapSummary>>> {
    let Some(session) = telemetry::get_session(&st.store, &id).await? else {
        return Err(ApiError::not_found(format!("session {id} does not exist")));
    };
    auth.require_team(&session.team_id)?;
    Ok(Json(telemetry::list_sim_laps(&st.store, &id).await?))
}

/// The session's stored telemetry by lap counter, with each bucket's sample count: what is kept,
/// not how the sim timed it. Every stored sample is in exactly one bucket, so a client can check
/// that nothing was lost or stored twice (the whole-system test does).
async fn list_telemetry_laps(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<LapSummary>>> {
    let Some(session) = telemetry::get_session(&st.store, &id).await? else {
        return Err(ApiError::not_found(format!("session {id} does not exist")));
    };
    auth.require_team(&session.team_id)?;
    Ok(Json(telemetry::list_laps(&st.store, &id).await?))
}

/// `?channels=speed,rpm` of `GET /api/laps/{id}/telemetry`.
#[derive(Debug, Deserialize)]
pub struct ChannelQuery {
    #[serde(default)]
    pub channels: Option<String>,
}

/// Response of `GET /api/laps/{id}/telemetry`: the lap's samples as columns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LapTelemetry {
    pub lap_id: String,
    pub session_id: String,
    pub driver_id: String,
    pub lap: i64,
    pub sample_count: usize,
    /// Sample instants, Unix milliseconds.
    pub timestamps: Vec<i64>,
    /// Channel name → one value per sample (`null` where the channel was absent).
    #[schema(value_type = Object)]
    pub channels: serde_json::Map<String, serde_json::Value>,
}

async fn lap_telemetry(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<ChannelQuery>,
) -> ApiResult<Json<LapTelemetry>> {
    let wanted: Vec<&str> = match q.channels.as_deref() {
        None | Some("") => crate::chunk::FLOAT_CHANNELS.to_vec(),
        Some(list) => list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect(),
    };
    if let Some(bad) = wanted.iter().find(|c| !crate::chunk::FLOAT_CHANNELS.contains(c)) {
        return Err(ApiError::validation(
            "channels",
            format!("unknown channel `{bad}`; known: {}", crate::chunk::FLOAT_CHANNELS.join(", ")),
        ));
    }
    let Some((lap, team_id)) = telemetry::get_lap(&st.store, &id).await? else {
        return Err(ApiError::not_found(format!("lap {id} does not exist")));
    };
    auth.require_team(&team_id)?;
    let cols = telemetry::lap_columns(&st.store, &st.objects, &lap.session_id, lap.lap).await?;
    let mut channels = serde_json::Map::new();
    for name in wanted {
        if let Some(values) = cols.channel(name) {
            channels.insert(name.to_string(), serde_json::json!(values));
        }
    }
    Ok(Json(LapTelemetry {
        lap_id: lap.id,
        session_id: lap.session_id,
        driver_id: lap.driver_id,
        lap: lap.lap,
        sample_count: cols.len(),
        timestamps: cols.timestamps,
        channels,
    }))
}

// ---- messages ----

/// Body of `POST /api/messages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    pub content: String,
    #[serde(default = "normal")]
    #[schema(value_type = String)]
    pub priority: Priority,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attachment: Option<Attachment>,
    #[serde(default)]
    pub team_id: Option<String>,
}

fn normal() -> Priority {
    Priority::Normal
}

async fn list_messages(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<TeamQuery>,
) -> ApiResult<Json<Vec<TeamMessage>>> {
    let team = auth.team(q.team_id.as_deref())?;
    Ok(Json(team::list_messages(&st.store, &team, auth.user_id(), limit(q.limit)?).await?))
}

async fn create_message(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<NewMessage>,
) -> ApiResult<(StatusCode, Json<TeamMessage>)> {
    auth.require(STAFF, "sending a team message")?;
    let team = auth.team(body.team_id.as_deref())?;
    let msg = TeamMessage {
        id: new_id("msg"),
        content: body.content,
        sender_id: auth.user_id().to_string(),
        sender_name: auth.name(),
        priority: body.priority,
        sent_at: chrono::Utc::now(),
        read: false,
        attachment: body.attachment,
    };
    check(&msg)?;
    team::insert_message(&st.store, &team, &msg).await?;
    st.bus.publish(&team, Message::TeamMessage(msg.clone()));
    Ok((StatusCode::CREATED, Json(msg)))
}

async fn read_message(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<MessageRead>> {
    let Some((_, team_id)) = team::get_message(&st.store, &id, auth.user_id()).await? else {
        return Err(ApiError::not_found(format!("message {id} does not exist")));
    };
    auth.require_team(&team_id)?;
    let read_at = team::mark_read(&st.store, &id, auth.user_id()).await?;
    let receipt = MessageRead { message_id: id, reader_id: auth.user_id().to_string(), read_at };
    st.bus.publish(&team_id, Message::MessageRead(receipt.clone()));
    Ok(Json(receipt))
}

// ---- handoffs ----

/// Body of `POST /api/handoffs`: the caller asks to hand the car to `targetDriverId`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewHandoff {
    pub target_driver_id: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default = "normal_urgency")]
    #[schema(value_type = String)]
    pub urgency: Urgency,
    /// The driver handing over; defaults to the caller (engineers name the driver in the car).
    #[serde(default)]
    pub requester_id: Option<String>,
}

fn normal_urgency() -> Urgency {
    Urgency::Normal
}

/// Body of `POST /api/handoffs/{id}/respond`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HandoffAnswer {
    #[schema(value_type = String)]
    pub status: HandoffStatus,
    #[serde(default)]
    pub reason: Option<String>,
}

async fn list_handoffs(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<TeamQuery>,
) -> ApiResult<Json<Vec<HandoffRequest>>> {
    let team = auth.team(q.team_id.as_deref())?;
    Ok(Json(team::list_handoffs(&st.store, &team, limit(q.limit)?).await?))
}

async fn create_handoff(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody<NewHandoff>,
) -> ApiResult<(StatusCode, Json<HandoffRequest>)> {
    auth.require(STAFF, "requesting a handoff")?;
    let team = auth.team(None)?;
    let requester_id = body.requester_id.clone().unwrap_or_else(|| auth.user_id().to_string());
    if auth.role() == UserRole::Driver && requester_id != auth.user_id() {
        return Err(ApiError::forbidden("a driver requests handoffs for themself only"));
    }
    let mut v = Validator::new("");
    v.id("targetDriverId", &body.target_driver_id);
    v.id("requesterId", &requester_id);
    v.finish().map_err(|e| ApiError::from_validation(&e))?;
    let requester = accounts::team_member(&st.store, &requester_id, &team, "requesterId").await?;
    let target = accounts::team_member(&st.store, &body.target_driver_id, &team, "targetDriverId").await?;
    if target.role != UserRole::Driver {
        return Err(ApiError::validation(
            "targetDriverId",
            format!("{} is a {}, not a driver", target.username, target.role),
        ));
    }
    let snapshot = st.latest.read().await.get(&requester.id).cloned();
    let h = HandoffRequest {
        id: new_id("hnd"),
        requester_id: requester.id,
        requester_name: requester.username,
        target_driver_id: target.id,
        target_driver_name: target.username,
        reason: body.reason,
        urgency: body.urgency,
        requested_at: chrono::Utc::now(),
        status: HandoffStatus::Pending,
        telemetry_snapshot: snapshot,
        responded_at: None,
        responder_id: None,
    };
    check(&h)?;
    team::insert_handoff(&st.store, &team, &h).await?;
    st.bus.publish(&team, Message::HandoffRequest(h.clone()));
    Ok((StatusCode::CREATED, Json(h)))
}

async fn respond_handoff(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<HandoffAnswer>,
) -> ApiResult<Json<HandoffRequest>> {
    auth.require(STAFF, "answering a handoff")?;
    let Some((current, team_id)) = team::get_handoff(&st.store, &id).await? else {
        return Err(ApiError::not_found(format!("handoff {id} does not exist")));
    };
    auth.require_team(&team_id)?;
    let resp = HandoffResponse {
        handoff_id: id.clone(),
        status: body.status,
        responder_id: auth.user_id().to_string(),
        responded_at: chrono::Utc::now(),
        reason: body.reason,
    };
    check(&resp)?;
    let party = HandoffParty::of(auth.user_id(), &current.requester_id, &current.target_driver_id);
    if !may_answer_handoff(auth.role(), party, body.status) {
        return Err(ApiError::forbidden(handoff_refusal(auth.role(), party, body.status)));
    }
    let updated = team::transition_handoff(&st.store, &id, body.status, auth.user_id()).await?;
    st.bus.publish(&team_id, Message::HandoffResponse(resp));
    st.bus.publish(&team_id, Message::HandoffRequest(updated.clone()));
    Ok(Json(updated))
}

// ---- driver profiles ----

async fn list_drivers(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<TeamQuery>,
) -> ApiResult<Json<Vec<team::DriverView>>> {
    let team_id = auth.team(q.team_id.as_deref())?;
    let team = st.store.find_team(&team_id).await?.ok_or_else(|| ApiError::not_found("team does not exist"))?;
    let mut out = Vec::new();
    for p in team::list_profiles(&st.store, &team.id, &team.name).await? {
        out.push(team::driver_view(&st.store, p).await?);
    }
    Ok(Json(out))
}

async fn get_driver(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<team::DriverView>> {
    let Some((p, team_id)) = team::get_profile(&st.store, &id).await? else {
        return Err(ApiError::not_found(format!("driver {id} has no profile")));
    };
    auth.require_team(&team_id)?;
    Ok(Json(team::driver_view(&st.store, p).await?))
}

/// Body of `PUT /api/drivers/{id}` (connection state and last activity are kept by the server).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdate {
    pub name: String,
    pub number: u32,
    #[schema(value_type = String)]
    pub status: DriverStatus,
    #[schema(value_type = String)]
    pub role: DriverRole,
    #[serde(default)]
    pub avatar_url: String,
}

async fn put_driver(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ProfileUpdate>,
) -> ApiResult<Json<DriverProfile>> {
    let Some(user) = st.store.user_by_id(&id).await? else {
        return Err(ApiError::not_found(format!("user {id} does not exist")));
    };
    let team_id = user.team_id.clone().ok_or_else(|| ApiError::conflict("that user belongs to no team"))?;
    auth.require_team(&team_id)?;
    if auth.user_id() != id {
        auth.require(MANAGERS, "editing another driver's profile")?;
    } else {
        auth.require(STAFF, "editing a profile")?;
    }
    if user.role != UserRole::Driver {
        return Err(ApiError::conflict(format!("{} is a {}, not a driver", user.username, user.role)));
    }
    let team = st.store.find_team(&team_id).await?.ok_or_else(|| ApiError::not_found("team does not exist"))?;
    let existing = team::get_profile(&st.store, &id).await?;
    let profile = DriverProfile {
        id: id.clone(),
        name: body.name,
        team: team.name.clone(),
        number: body.number,
        status: body.status,
        role: body.role,
        avatar_url: body.avatar_url,
        telemetry_connected: existing.as_ref().is_some_and(|(p, _)| p.telemetry_connected),
        last_active: existing.map(|(p, _)| p.last_active).unwrap_or_else(chrono::Utc::now),
    };
    check(&profile)?;
    team::upsert_profile(&st.store, &team.id, &profile).await?;
    Ok(Json(profile))
}

// ---- secrets ----

/// Body of `PUT /api/admin/secrets/{name}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SecretValue {
    pub value: String,
}

fn master(st: &AppState) -> ApiResult<&secrets::MasterKey> {
    st.master_key.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_master_key",
            "secrets need a master key: start the cloud with PITBOX_CLOUD_MASTER_KEY or --master-key-file",
        )
    })
}

fn check_secret_name(name: &str) -> ApiResult<()> {
    let mut v = Validator::new("");
    v.id("name", name);
    v.finish().map_err(|e| ApiError::from_validation(&e))
}

/// `?teamId=` and `?scope=` of the secrets endpoints.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretQuery {
    /// The team whose secrets (default: the caller's; another team's for the owner).
    #[serde(default)]
    pub team_id: Option<String>,
    /// `team` (default) or `deployment`: the default every team falls back on (owner only).
    #[serde(default)]
    pub scope: Option<String>,
}

/// Whose secret a request is about, after checking the caller may manage it: a team's admin
/// their team's, the owner any team's and the deployment's.
fn secret_scope(auth: &Auth, q: &SecretQuery, action: &str) -> ApiResult<String> {
    auth.require(&[UserRole::Admin], action)?;
    match q.scope.as_deref() {
        None | Some("team") => auth.team(q.team_id.as_deref()),
        Some("deployment") if auth.is_owner() => Ok(String::new()),
        Some("deployment") => {
            Err(ApiError::forbidden("the deployment's secrets are the owner's; a team admin sets the team's own"))
        }
        Some(other) => Err(ApiError::validation("scope", format!("must be `team` or `deployment`, got `{other}`"))),
    }
}

fn scope_of(team: &str) -> secrets::Scope<'_> {
    if team.is_empty() { secrets::Scope::Deployment } else { secrets::Scope::Team(team) }
}

async fn list_secrets(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<SecretQuery>,
) -> ApiResult<Json<Vec<secrets::SecretInfo>>> {
    let team = secret_scope(&auth, &q, "listing secrets")?;
    Ok(Json(secrets::list(&st.store, &team).await?))
}

async fn put_secret(
    State(st): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<SecretQuery>,
    JsonBody(body): JsonBody<SecretValue>,
) -> ApiResult<StatusCode> {
    let team = secret_scope(&auth, &q, "storing a secret")?;
    check_secret_name(&name)?;
    if body.value.is_empty() || body.value.len() > 8_192 {
        return Err(ApiError::validation("value", "must be 1–8192 bytes"));
    }
    let key = master(&st)?;
    secrets::put(&st.store, key, scope_of(&team), &name, &body.value).await?;
    tracing::info!(secret = %name, team = %team, by = %auth.user_id(), "secret stored");
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_secret(
    State(st): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<SecretQuery>,
) -> ApiResult<StatusCode> {
    let team = secret_scope(&auth, &q, "deleting a secret")?;
    check_secret_name(&name)?;
    if secrets::delete(&st.store, scope_of(&team), &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no secret {name} of this {}",
            if team.is_empty() { "deployment" } else { "team" }
        )))
    }
}
