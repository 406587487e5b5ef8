//! Issue 23: who may do what, as one table iterated over every role × endpoint × own/other team,
//! over REST and over `/ws`. A row lists the roles that may use the endpoint for their own team;
//! for another team only the deployment's owner may (a team's admin is an admin of that team
//! only). "May" means the request gets past authorisation (any answer but 401/403, and for
//! another team's resources but 404 too); "may not" means 403 (or, for another team's
//! resource, 403 or 404: it is not theirs to know of).

mod common;

use axum::http::StatusCode;
use common::{App, Opts, User, next_json, serve, ws_login, ws_send};
use pitbox_model::UserRole;
use serde_json::{Value, json};

/// Who acts: the owner (an admin of team A), a team admin, engineer, driver and viewer of A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Owner,
    Admin,
    Engineer,
    Driver,
    Viewer,
}

const EVERYONE: &[Who] = &[Who::Owner, Who::Admin, Who::Engineer, Who::Driver, Who::Viewer];
const MANAGERS: &[Who] = &[Who::Owner, Who::Admin, Who::Engineer];
const STAFF: &[Who] = &[Who::Owner, Who::Admin, Who::Engineer, Who::Driver];
const ADMINS: &[Who] = &[Who::Owner, Who::Admin];

/// One endpoint: method, path and body with `{team}`, `{session}`, `{driver}`, `{message}`,
/// `{member}` and `{n}` (a fresh number) filled in for the team it is about.
struct Row {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    /// Who may, for their own team.
    own: &'static [Who],
}

const fn row(method: &'static str, path: &'static str, body: Option<&'static str>, own: &'static [Who]) -> Row {
    Row { method, path, body, own }
}

const PLAN: &str = r#"{"race": {"laps": 20}, "lapTimeS": 90, "fuelPerLapL": 2.5, "tankL": 100, "pitLaneS": 30,
    "refuelLps": 2, "tyreChangeS": 20, "drivers": [{"id": "{driver}"}]}"#;

/// The table: every endpoint that reads or writes a team's data.
const TABLE: &[Row] = &[
    row("GET", "/api/sessions?teamId={team}", None, EVERYONE),
    row("GET", "/api/events?teamId={team}", None, EVERYONE),
    row("GET", "/api/sessions/{session}/laps", None, EVERYONE),
    row("GET", "/api/sessions/{session}/telemetry-laps", None, EVERYONE),
    row("GET", "/api/sessions/{session}/csv", None, EVERYONE),
    row("GET", "/api/messages?teamId={team}", None, EVERYONE),
    row("POST", "/api/messages", Some(r#"{"content": "box", "teamId": "{team}"}"#), STAFF),
    row("POST", "/api/messages/{message}/read", None, EVERYONE),
    row("GET", "/api/handoffs?teamId={team}", None, EVERYONE),
    row("GET", "/api/drivers?teamId={team}", None, EVERYONE),
    row("GET", "/api/users?teamId={team}", None, MANAGERS),
    row(
        "POST",
        "/api/users",
        Some(r#"{"username": "new{n}", "password": "long enough pw", "role": "viewer", "teamId": "{team}"}"#),
        MANAGERS,
    ),
    row("POST", "/api/users/{member}/unlock", None, MANAGERS),
    row("POST", "/api/users/{member}/password", Some(r#"{"password": "another long one"}"#), MANAGERS),
    row("POST", "/api/relays/token", Some(r#"{"teamId": "{team}"}"#), MANAGERS),
    // Planned first, so the read finds a plan (a 404 for another team would read as refused).
    row("POST", "/api/strategy/plan?teamId={team}", Some(PLAN), MANAGERS),
    row("GET", "/api/strategy/plan?teamId={team}", None, EVERYONE),
    row("GET", "/api/admin/secrets?teamId={team}", None, ADMINS),
    row("PUT", "/api/admin/secrets/k{n}?teamId={team}", Some(r#"{"value": "v"}"#), ADMINS),
    row("POST", "/api/telemetry", Some("TELEMETRY"), &[Who::Owner, Who::Admin, Who::Driver]),
];

/// What the placeholders stand for in one team.
struct Team {
    id: String,
    session: String,
    driver: String,
    message: String,
    /// A member of the team none of the actors is, whose account the managers may manage.
    member: String,
}

fn fill(s: &str, t: &Team, n: usize) -> String {
    s.replace("{team}", &t.id)
        .replace("{session}", &t.session)
        .replace("{driver}", &t.driver)
        .replace("{message}", &t.message)
        .replace("{member}", &t.member)
        .replace("{n}", &n.to_string())
}

async fn team_fixture(app: &App, id: &str, driver: &User, staff: &User, member: &str) -> Team {
    let (s, _) = app.as_user(driver, "POST", "/api/telemetry", Some(common::telemetry_post(&driver.id, T0, 1))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, sessions) = app.as_user(driver, "GET", "/api/sessions", None).await;
    let session = sessions[0]["id"].as_str().expect("a session").to_string();
    let (s, m) = app.as_user(staff, "POST", "/api/messages", Some(json!({"content": "fixture"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    Team {
        id: id.to_string(),
        session,
        driver: driver.id.clone(),
        message: m["id"].as_str().expect("id").to_string(),
        member: member.to_string(),
    }
}

const T0: i64 = 1_790_000_000_000;

#[tokio::test]
async fn every_role_endpoint_and_team_over_rest_and_ws() {
    for db in common::DBS {
        let Some(app) = App::start(db, "authz_table", Opts { master_key: true, ..Opts::default() }).await else {
            continue;
        };
        let user = |w: Who| match w {
            Who::Owner => &app.admin,
            Who::Admin => &app.team_admin,
            Who::Engineer => &app.engineer,
            Who::Driver => &app.driver,
            Who::Viewer => &app.viewer,
        };
        let viewer_b = app
            .state
            .store
            .create_user("wes", &app.admin.password_hash, UserRole::Viewer, Some(&app.team_b))
            .await
            .expect("viewer b");
        let own = team_fixture(&app, &app.team_a, &app.driver, &app.engineer, &app.driver2.id).await;
        let other = team_fixture(&app, &app.team_b, &app.driver_b, &app.engineer_b, &viewer_b.id).await;
        let mut n = 0;
        let mut checked = 0;
        for r in TABLE {
            for &who in EVERYONE {
                for (team, is_own) in [(&own, true), (&other, false)] {
                    n += 1;
                    let path = fill(r.path, team, n);
                    let body = r.body.map(|b| match b {
                        // A driver posts their own samples; everyone else posts for the team's driver.
                        "TELEMETRY" => {
                            let id = if who == Who::Driver && is_own { &app.driver.id } else { &team.driver };
                            common::telemetry_post(id, T0 + n as i64, 1)
                        }
                        b => serde_json::from_str::<Value>(&fill(b, team, n)).expect("row body is JSON"),
                    });
                    let allowed = if is_own { r.own.contains(&who) } else { who == Who::Owner };
                    let (s, v) = app.as_user(user(who), r.method, &path, body).await;
                    let refused = s == StatusCode::FORBIDDEN || (!is_own && s == StatusCode::NOT_FOUND);
                    let what =
                        format!("{db:?} {who:?} {} {path} ({} team)", r.method, if is_own { "own" } else { "other" });
                    assert_ne!(s, StatusCode::UNAUTHORIZED, "{what}: {v}");
                    if allowed {
                        assert!(!refused, "{what} should be allowed, got {s}: {v}");
                    } else {
                        assert!(refused, "{what} should be refused, got {s}: {v}");
                    }
                    checked += 1;
                }
            }
        }
        println!("{db:?}: {checked} REST cases");

        // /ws: every role follows its own team; only the owner another; no user's token is a relay.
        let addr = serve(app.router.clone()).await;
        for &who in EVERYONE {
            let token = app.token(user(who));
            let (mut ws, r) = ws_login(addr, &token, "dashboard").await;
            assert_eq!(r["data"]["success"], true, "{who:?}: {r}");
            for (team, is_own) in [(&app.team_a, true), (&app.team_b, false)] {
                ws_send(&mut ws, json!({"type": "subscribe", "data": {"teamId": team}})).await;
                // Skip the catch-up of the previous subscription (latest samples, state).
                let mut m = next_json(&mut ws).await;
                while !matches!(m["type"].as_str(), Some("subscribed" | "error")) {
                    m = next_json(&mut ws).await;
                }
                let allowed = is_own || who == Who::Owner;
                if allowed {
                    assert_eq!(m["type"], "subscribed", "{who:?} subscribes to {team}: {m}");
                } else {
                    assert_eq!(
                        (m["type"].as_str(), m["data"]["code"].as_str()),
                        (Some("error"), Some("forbidden")),
                        "{who:?}: {m}"
                    );
                }
            }
            let (_, r) = ws_login(addr, &token, "relay").await;
            assert_eq!(r["data"]["success"], false, "{who:?}'s token is no relay credential: {r}");
        }
    }
}
