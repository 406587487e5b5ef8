//! The OpenAPI 3.1 document at `/api/openapi.json` and Swagger UI at `/api/docs` (utoipa,
//! assets vendored into the binary: nothing is downloaded).
//!
//! Paths come from [`ENDPOINTS`], the table that also documents roles; bodies of the spec's
//! models use the JSON Schemas generated from `pitbox-model` (the same ones in docs/schema/),
//! the cloud's own bodies use `utoipa::ToSchema` derives. A test checks that every route of the
//! router is in the table.

use axum::Router;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{InfoBuilder, OpenApiBuilder, PathsBuilder};
use utoipa_swagger_ui::SwaggerUi;

use crate::server::AppState;

/// One documented endpoint: method, path, who may call it, what it does, request and response
/// schema names (in `components.schemas`).
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub roles: &'static str,
    pub summary: &'static str,
    pub request: Option<&'static str>,
    pub response: Option<&'static str>,
}

macro_rules! ep {
    ($m:literal $p:literal, $roles:literal, $s:literal, $req:expr, $resp:expr) => {
        Endpoint { method: $m, path: $p, roles: $roles, summary: $s, request: $req, response: $resp }
    };
}

/// Every endpoint of the API.
pub const ENDPOINTS: &[Endpoint] = &[
    ep!("get" "/health", "anyone", "Liveness and database health", None, None),
    ep!("get" "/metrics", "anyone", "Prometheus counters", None, None),
    ep!("get" "/api/config", "anyone", "What a client needs to know about this cloud", None, Some("ClientConfig")),
    ep!("post" "/api/auth/login", "anyone (rate-limited per user and per address)", "Log in: access token (24 h), refresh token, user", Some("login_request"), Some("login_response")),
    ep!("post" "/api/auth/refresh", "holder of a refresh token", "Rotate a refresh token; reusing a spent one revokes its family", Some("RefreshRequest"), Some("login_response")),
    ep!("post" "/api/auth/logout", "holder of a refresh token", "Revoke the refresh token's family and, with Authorization: Bearer, that access token on every node within seconds", Some("RefreshRequest"), None),
    ep!("get" "/api/auth/jwks", "anyone", "Public key (JWKS) that relays verify access tokens with", None, None),
    ep!("get" "/api/auth/revocations", "a relay's credential (its team); admin (own team; the owner: all)", "The deny-list relays apply: users whose tokens issued before an instant (Unix ms) are refused, and revoked token ids", None, Some("DenyList")),
    ep!("get" "/api/auth/me", "any user", "The caller as the server sees them", None, Some("Me")),
    ep!("get" "/api/teams", "any user (the owner: every team)", "Teams the caller can see", None, None),
    ep!("post" "/api/teams", "the deployment's owner", "Create a team", Some("NewTeam"), Some("Team")),
    ep!("get" "/api/relays", "admin, engineer (own team; the owner: ?teamId=)", "Which relay forwarded what: per relay credential and driver, messages and samples accepted and when (written every few seconds), latest first", None, Some("RelayForward[]")),
    ep!("post" "/api/relays/token", "admin, engineer (own team)", "Issue a relay's own credential (scope relay) for a team", Some("NewRelayToken"), Some("RelayToken")),
    ep!("get" "/api/users", "admin, engineer (own team; the owner: all or ?teamId=)", "List users", None, Some("UserView[]")),
    ep!("post" "/api/users", "admin (own team); engineer (drivers and viewers of own team); the owner (any team)", "Create a user", Some("NewUser"), Some("UserView")),
    ep!("delete" "/api/users/{id}", "admin (own team, not the owner); engineer (own team's drivers and viewers); the owner", "Delete an account: its credentials and profile go, every token is refused within seconds; what it wrote stays", None, None),
    ep!("post" "/api/users/{id}/password", "the user themself (with currentPassword); whoever may manage the account", "Set a new password; every earlier token and refresh token of the account ends", Some("PasswordChange"), None),
    ep!("put" "/api/users/{id}/role", "admin (own team); engineer (drivers and viewers); the owner", "Change a role; the account's access tokens end (a refresh gets the new role)", Some("RoleChange"), Some("UserView")),
    ep!("post" "/api/users/{id}/disable", "whoever may manage the account (not oneself)", "Disable an account: no sign-in, no refresh, every token refused within seconds", None, Some("UserView")),
    ep!("post" "/api/users/{id}/enable", "whoever may manage the account", "Enable a disabled account (its tokens from before stay refused)", None, Some("UserView")),
    ep!("post" "/api/users/{id}/unlock", "whoever may manage the account", "Lift the login lock (too many wrong passwords) on every node", None, None),
    ep!("post" "/api/telemetry", "driver (own driverId), admin (own team's drivers)", "Store one sample (spec)", Some("telemetry_post"), Some("telemetry_post_response")),
    ep!("post" "/api/telemetry/batch", "driver (own driverId), admin (own team's drivers)", "Store many samples; with sequence, at most once", Some("TelemetryBatchPost"), Some("TelemetryBatchResponse")),
    ep!("get" "/api/sessions", "any user (own team; the owner all)", "Sessions (one sim session of one driver each: sessionType, simSessionId …), newest first; items are SessionSummary", None, Some("SessionSummary[]")),
    ep!("post" "/api/sessions/import", "admin, engineer, driver (own sessions)", "Upload an iRacing .ibt file as the body (?driverId=): a session with laps", None, Some("ImportResult")),
    ep!("get" "/api/sessions/{id}/laps", "any user of the session's team", "Laps of a session as the sim timed them (lapTime, complete, valid, inLap, outLap, sectors); items are SimLap", None, Some("SimLap[]")),
    ep!("get" "/api/sessions/{id}/telemetry-laps", "any user of the session's team", "The session's stored telemetry by lap counter, with sample counts (what is stored, not lap times); items are TelemetryLap, each id readable with /api/laps/{id}/telemetry", None, Some("TelemetryLap[]")),
    ep!("get" "/api/laps/{id}/ibt", "any user of the lap's team", "Download a lap (a sim lap's or a telemetry lap's id) as an iRacing .ibt file: iRacing's channel names and units, the session's identity in its session info", None, None),
    ep!("get" "/api/laps/{id}/csv", "any user of the lap's team", "Download a lap's samples as CSV: timestamp (Unix ms) and every stored channel in the wire's units", None, None),
    ep!("get" "/api/sessions/{id}/ibt", "any user of the session's team", "Download a whole session as an iRacing .ibt file (up to 1,000,000 samples; 413 payload_too_large beyond: download it lap by lap)", None, None),
    ep!("get" "/api/sessions/{id}/csv", "any user of the session's team", "Download a whole session's samples as CSV (same limit)", None, None),
    ep!("get" "/api/events", "any user (own team; the owner all, or ?teamId=)", "Events (one iRacing subsession each: every driver's sessions of practice, qualifying and race), newest first (?limit=); items are EventSummary", None, Some("EventSummary[]")),
    ep!("get" "/api/events/{id}", "any user of the team (the owner: ?teamId=)", "One event: its sessions, every driver's stints (cut from the sim's laps) and the standings of every car stored per session (latest, at driver changes, at the session's end)", None, Some("EventDetail")),
    ep!("get" "/api/laps/{id}/reference", "any user of the lap's team", "A complete lap as the coaching engine's reference: its trace on the distance grid and its corners (the driver's agent loads the lap the pit wall chose for its cues); 400 naming id for an incomplete lap", None, None),
    ep!("get" "/api/laps/{id}/compare", "any user of both laps' team", "A lap against a reference lap (?reference=ID) of any session on the same track, corner by corner, by the coaching engine's analysis (the same as pitbox coach analyze)", None, Some("LapComparison")),
    ep!("get" "/api/laps/{id}/telemetry", "any user of the lap's team", "A lap's samples as columns (?channels=speed,rpm)", None, Some("LapTelemetry")),
    ep!("get" "/api/messages", "any user of the team", "Team messages, newest first", None, None),
    ep!("post" "/api/messages", "admin, engineer, driver", "Send a team message (pushed live)", Some("NewMessage"), Some("team_message")),
    ep!("post" "/api/messages/{id}/read", "any user of the team", "Mark a message read (pushed live)", None, None),
    ep!("get" "/api/handoffs", "any user of the team", "Handoffs, newest first", None, None),
    ep!("post" "/api/handoffs", "admin, engineer, driver (for themself)", "Request a driver handoff (pushed live)", Some("NewHandoff"), Some("handoff_request")),
    ep!("post" "/api/handoffs/{id}/respond", "admin, engineer, driver (party to it)", "Accept, reject or complete a handoff", Some("HandoffAnswer"), Some("handoff_request")),
    ep!("get" "/api/drivers", "any user of the team", "Driver profiles of the team (created on a driver's first sign-in or first stored samples), with lastActive, telemetryConnected, simName and stintStartedAt from the stored telemetry", None, Some("DriverView[]")),
    ep!("get" "/api/drivers/{id}", "any user of the team", "One driver profile, with what the stored telemetry says (see DriverView)", None, Some("DriverView")),
    ep!("put" "/api/drivers/{id}", "admin, engineer, the driver themself", "Create or update a driver profile", Some("ProfileUpdate"), Some("driver_profile")),
    ep!("get" "/api/drivers/{id}/cue-reference", "the driver themself; admin, engineer of the team", "The lap of the team's history this driver's cues before the corner are made against; 404 when the driver's own best valid lap is used", None, Some("driver_cue_reference")),
    ep!("put" "/api/drivers/{id}/cue-reference", "admin, engineer", "Choose a complete, valid lap of the team's history (same track) for this driver's cues; the driver's agent gets a cue_reference message. 400 naming lapId for an incomplete or invalid lap", Some("CueReferenceBody"), Some("driver_cue_reference")),
    ep!("delete" "/api/drivers/{id}/cue-reference", "admin, engineer", "Back to the driver's own best valid lap for the cues (the agent is told)", None, None),
    ep!("get" "/api/admin/secrets", "admin (own team); the owner (?teamId=, ?scope=deployment)", "Names of the secrets the team uses, its own and the deployment's defaults (never values)", None, Some("SecretInfo[]")),
    ep!("put" "/api/admin/secrets/{name}", "admin (own team); the owner (?teamId=, ?scope=deployment)", "Store a team's secret (or with ?scope=deployment the default every team falls back on), encrypted with the master key", Some("SecretValue"), None),
    ep!("delete" "/api/admin/secrets/{name}", "admin (own team); the owner (?teamId=, ?scope=deployment)", "Delete a team's secret (or the deployment's default)", None, None),
    ep!("post" "/api/coaching/analyze", "the driver themself; admin, engineer of the driver's team", "Analyse telemetry: feedback, suggestions, analysis (spec AI Coaching API)", Some("coaching_analyze_request"), Some("coaching_analyze_response")),
    ep!("get" "/api/coaching", "any user of the team (the owner: all)", "Live coaching messages made after every stored lap, newest first (?driverId=&sessionId=&limit=)", None, None),
    ep!("post" "/api/voice/synthesize", "admin, engineer, driver", "Speak text: audio stored for the team (spec Voice Synthesis API)", Some("voice_synthesize_request"), Some("voice_synthesize_response")),
    ep!("get" "/api/voice/audio/{file}", "any user of the clip's team", "A synthesised WAV file (the audioUrl of /api/voice/synthesize)", None, None),
    ep!("post" "/api/strategy/plan", "admin, engineer (drivers and viewers: 403; they read the plan with GET)", "Plan a race's stints: fewest stops, then least time stationary (docs/strategy.md); stored as the team's plan (?teamId= for the owner); ?dryRun=true plans without storing (a what-if). 400 validation_failed names a bad field, 400 plan_infeasible the rule no plan can meet", Some("StrategyPlanRequest"), Some("StrategyPlan")),
    ep!("get" "/api/strategy/plan", "any user of the team (the owner: ?teamId=)", "The team's current stint plan with the request it was made from; 404 before the first plan", None, Some("StoredStrategyPlan")),
    ep!("get" "/ws", "any user (authenticate in the first message)", "WebSocket protocol (docs/protocol.md)", None, None),
];

fn method(m: &str) -> HttpMethod {
    match m {
        "post" => HttpMethod::Post,
        "put" => HttpMethod::Put,
        "delete" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn own_schemas() -> Vec<(&'static str, Value)> {
    fn s<T: ToSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap_or(Value::Null)
    }
    vec![
        ("ClientConfig", s::<crate::api::ClientConfig>()),
        ("RefreshRequest", s::<crate::api::RefreshRequest>()),
        ("Me", s::<crate::api::Me>()),
        ("DenyList", s::<crate::revocation::DenyListSchema>()),
        ("NewTeam", s::<crate::api::NewTeam>()),
        ("NewRelayToken", s::<crate::api::NewRelayToken>()),
        ("RelayToken", s::<crate::api::RelayToken>()),
        ("RelayForward", s::<crate::relays::RelayForward>()),
        ("Team", s::<crate::store::Team>()),
        ("NewUser", s::<crate::api::NewUser>()),
        ("UserView", s::<crate::api::UserView>()),
        ("TelemetryBatchPost", s::<crate::api::TelemetryBatchPost>()),
        ("TelemetryBatchResponse", s::<crate::api::TelemetryBatchResponse>()),
        ("LapTelemetry", s::<crate::api::LapTelemetry>()),
        ("NewMessage", s::<crate::api::NewMessage>()),
        ("NewHandoff", s::<crate::api::NewHandoff>()),
        ("HandoffAnswer", s::<crate::api::HandoffAnswer>()),
        ("ProfileUpdate", s::<crate::api::ProfileUpdate>()),
        ("DriverView", s::<crate::team::DriverView>()),
        ("SecretValue", s::<crate::api::SecretValue>()),
        ("SecretInfo", s::<crate::secrets::SecretInfo>()),
        ("PasswordChange", s::<crate::api::PasswordChange>()),
        ("RoleChange", s::<crate::api::RoleChange>()),
        ("ImportResult", s::<crate::import::ImportResult>()),
        ("SessionSummary", s::<crate::telemetry::SessionSummary>()),
        ("SimLap", s::<crate::telemetry::SimLapSummary>()),
        ("EventSummary", s::<crate::events::EventSummary>()),
        ("EventDetail", s::<crate::events::EventDetail>()),
        ("EventStint", s::<crate::events::EventStint>()),
        ("StoredStandings", s::<crate::events::StoredStandings>()),
        ("TelemetryLap", s::<crate::telemetry::LapSummary>()),
        ("LapComparison", s::<crate::lap_compare::LapComparison>()),
        ("CueReferenceBody", s::<crate::cue_reference::CueReferenceBody>()),
    ]
}

/// Hoists a schemars schema's `$defs` into `defs` and points its references there.
fn hoist(mut schema: Value, defs: &mut serde_json::Map<String, Value>) -> Value {
    if let Some(Value::Object(d)) = schema.as_object_mut().and_then(|o| o.remove("$defs")) {
        for (k, v) in d {
            let v = hoist(v, defs);
            defs.insert(k, v);
        }
    }
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
    }
    rewrite_refs(&mut schema);
    schema
}

fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/{name}");
            }
            for x in o.values_mut() {
                rewrite_refs(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// A response schema by name; `Name[]` is an array of `Name`.
fn response_schema(name: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    match name.strip_suffix("[]") {
        Some(item) => utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name(item))
            .build()
            .into(),
        None => utoipa::openapi::Ref::from_schema_name(name).into(),
    }
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = PathsBuilder::new();
    for e in ENDPOINTS {
        let mut op = OperationBuilder::new()
            .summary(Some(e.summary))
            .description(Some(format!("Who may call it: {}.", e.roles)))
            .response(
                "default",
                utoipa::openapi::ResponseBuilder::new()
                    .description("See the response schema; errors are {error:{code,message,field}}"),
            );
        if let Some(req) = e.request {
            op = op.request_body(Some(
                utoipa::openapi::request_body::RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name(req)))
                            .build(),
                    )
                    .build(),
            ));
        }
        if let Some(resp) = e.response {
            op = op.response(
                "200",
                utoipa::openapi::ResponseBuilder::new().description("Success").content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new().schema(Some(response_schema(resp))).build(),
                ),
            );
        }
        paths = paths.path(e.path, PathItem::new(method(e.method), op));
    }
    let api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("PitBox cloud API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("Accounts, teams, telemetry storage and live fan-out. Authenticate with `Authorization: Bearer <token>` from POST /api/auth/login.")),
        )
        .paths(paths)
        .build();
    let mut doc = serde_json::to_value(&api).unwrap_or_else(|_| json!({}));
    let mut schemas = serde_json::Map::new();
    for m in pitbox_model::schema::MODEL_SPECS {
        let s = hoist(m.schema(), &mut schemas);
        schemas.insert(m.name.to_string(), s);
    }
    for (name, s) in own_schemas() {
        schemas.insert(name.to_string(), s);
    }
    for (name, s) in [
        ("StrategyPlanRequest", pitbox_strategy::plan_request_schema()),
        ("StrategyPlan", pitbox_strategy::plan_response_schema()),
    ] {
        let s = hoist(s, &mut schemas);
        schemas.insert(name.to_string(), s);
    }
    schemas.insert(
        "StoredStrategyPlan".into(),
        json!({
            "allOf": [
                {"$ref": "#/components/schemas/StrategyPlan"},
                {
                    "type": "object",
                    "required": ["request", "teamId", "plannedBy", "plannedAt"],
                    "properties": {
                        "request": {"$ref": "#/components/schemas/StrategyPlanRequest"},
                        "teamId": {"type": "string"},
                        "plannedBy": {"type": "string", "description": "User id of the engineer or admin who made the plan"},
                        "plannedAt": {"type": "string", "format": "date-time"}
                    }
                }
            ]
        }),
    );
    if let Some(o) = doc.as_object_mut() {
        o.insert(
            "components".into(),
            json!({
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            }),
        );
        o.insert("security".into(), json!([{"bearer": []}]));
    }
    doc
}

/// `/api/openapi.json` and `/api/docs`.
pub fn routes() -> Router<AppState> {
    Router::from(SwaggerUi::new("/api/docs").external_url_unchecked("/api/openapi.json", document()))
}
