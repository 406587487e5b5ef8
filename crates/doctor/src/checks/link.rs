//! What the relay says about itself and what the token says about the driver: the relay's cloud
//! link and its duplicate and refusal counters (from its `GET /health`), and the token's owner
//! and expiry (read from the token itself, which the relay check verifies).

use pitbox_model::CheckStatus;
use pitbox_model::rest::ValidationResult;
use serde_json::{Map, Value, json};

use crate::Settings;
use crate::report::{not_configured, result};

/// Tokens that run out sooner than this are a warning: a race weekend outlives them.
pub const TOKEN_WARN_SECS: u64 = 24 * 3600;

/// The relay's `/health` address for its WebSocket URL: same host and port, `http(s)://`.
pub fn health_url(ws_url: &str) -> Option<String> {
    let (scheme, rest) = ws_url.trim().split_once("://")?;
    let scheme = match scheme {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}/health"))
}

/// The relay's `/health` body, or why it could not be read.
pub(crate) async fn relay_health(settings: &Settings) -> Option<Result<Value, String>> {
    let url = health_url(settings.relay_url.as_deref()?)?;
    let mut builder = reqwest::Client::builder().timeout(settings.timeout);
    for path in &settings.ca_files {
        if let Ok(pem) = std::fs::read(path)
            && let Ok(c) = reqwest::Certificate::from_pem(&pem)
        {
            builder = builder.add_root_certificate(c);
        }
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return Some(Err(format!("HTTP client: {e}"))),
    };
    let got = async {
        let resp = client.get(&url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| format!("GET {url}: HTTP {status}, not JSON: {e}"))?;
        Ok(v)
    };
    Some(got.await)
}

/// The relay's cloud link, as its `/health` tells it.
pub(crate) fn uplink(settings: &Settings, health: Option<&Result<Value, String>>) -> ValidationResult {
    const C: &str = "uplink";
    let Some(url) = &settings.relay_url else {
        return not_configured(C, "no relay to ask (give --relay-url or PITBOX_DRIVER_RELAY_URL)");
    };
    let h = match health {
        None => return not_configured(C, &format!("{url} has no /health address")),
        Some(Err(e)) if settings.relay_default => {
            return not_configured(C, &format!("no relay answers at the default address ({e})"));
        }
        Some(Err(e)) => {
            return result(C, CheckStatus::Error, format!("cannot read the relay's health: {e}"), Map::new());
        }
        Some(Ok(h)) => h,
    };
    let mut d = Map::new();
    d.insert("uplink".into(), h.get("uplink").cloned().unwrap_or(Value::Null));
    d.insert("detail".into(), h.get("uplinkDetail").cloned().unwrap_or(Value::Null));
    let state = h.get("uplink").and_then(Value::as_str).unwrap_or("unknown");
    let detail = h.get("uplinkDetail");
    let reason = detail.and_then(|x| x.get("reason")).and_then(Value::as_str);
    let spooling = h.pointer("/spool/batches").and_then(Value::as_u64).unwrap_or(0);
    let lag = h.get("uplinkLagSecs").and_then(Value::as_f64).unwrap_or(0.0);
    let refusal = detail
        .and_then(|x| x.get("lastRefusal"))
        .and_then(|r| Some(format!("{} ({})", r.get("message")?.as_str()?, r.get("code")?.as_str()?)));
    let why = |r: Option<&str>| r.map(|r| format!(": {r}")).unwrap_or_default();
    match state {
        "offline" => {
            let mut r = not_configured(C, "the relay runs offline (no cloud link configured): nothing is stored");
            if let Some(dd) = r.details.as_mut() {
                dd.extend(d);
            }
            r
        }
        "connected" => result(
            C,
            CheckStatus::Success,
            format!("the relay's cloud link is up ({spooling} batches spooled, lag {lag:.1} s)"),
            d,
        ),
        "unauthorised" => result(
            C,
            CheckStatus::Error,
            format!(
                "the cloud refuses the relay's token{}; {spooling} batches wait in its spool (link the relay \
                 again: `pitbox relay login` as an engineer or admin of the team)",
                why(reason)
            ),
            d,
        ),
        "refused" => result(
            C,
            CheckStatus::Error,
            format!(
                "the cloud refuses what the relay sends: {}; {spooling} batches wait in its spool",
                refusal.or(reason.map(str::to_string)).unwrap_or_else(|| "no reason given".into())
            ),
            d,
        ),
        "connecting" | "disconnected" => result(
            C,
            CheckStatus::Error,
            format!(
                "the relay's cloud link is down{}; {spooling} batches wait in its spool (lag {lag:.1} s)",
                why(reason)
            ),
            d,
        ),
        other => result(C, CheckStatus::Warning, format!("the relay reports its cloud link as `{other}`"), d),
    }
}

/// Adds the relay's duplicate and refusal counters to a successful relay check: any is a warning.
pub(crate) fn counters(relay: &mut ValidationResult, health: Option<&Result<Value, String>>) {
    let Some(Ok(h)) = health else { return };
    let dups = h.get("duplicates").and_then(Value::as_u64).unwrap_or(0);
    let refused = h.get("refused").and_then(Value::as_u64).unwrap_or(0);
    let d = relay.details.get_or_insert_with(Map::new);
    d.insert("duplicates".into(), json!(dups));
    d.insert("refused".into(), json!(refused));
    if relay.status == CheckStatus::Success && (dups > 0 || refused > 0) {
        relay.status = CheckStatus::Warning;
        relay.message = format!(
            "{}; since it started it dropped {dups} duplicate samples and refused {refused} messages (its log \
             names the drivers)",
            relay.message
        );
    }
}

/// What the agent reads from a token (unverified; the relay check verifies it).
#[derive(Debug, serde::Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    exp: u64,
    #[serde(default)]
    scope: Option<String>,
}

fn claims(token: &str) -> Option<Claims> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The driver agent's sign-in (`pitbox driver login`): whose it is, against the driver id. The
/// agent renews its access token itself, so an access token near its end is no warning here.
fn signed_in(
    settings: &Settings,
    path: &std::path::Path,
    login: &pitbox_auth::login::StoredLogin,
    now_secs: u64,
) -> ValidationResult {
    const C: &str = "token";
    let mut d = Map::new();
    d.insert("login".into(), json!(path.display().to_string()));
    d.insert("userId".into(), json!(login.user_id));
    d.insert("role".into(), json!(login.role));
    d.insert("cloud".into(), json!(login.cloud));
    let who = format!("{} ({}, {})", login.username, login.role, login.user_id);
    if let Some(id) = &settings.driver_id {
        d.insert("driverId".into(), json!(id));
        if login.role == "driver" && *id != login.user_id {
            let m = format!(
                "signed in as {who} but the driver id is {id}: the relay refuses every sample of a driver \
                 publishing as someone else (leave the driver id out: the agent takes it from the sign-in)"
            );
            return result(C, CheckStatus::Error, m, d);
        }
    }
    let token = match login.access_token.as_deref().and_then(claims) {
        Some(c) if c.exp > now_secs => {
            d.insert("expiresAt".into(), json!(c.exp));
            let left = c.exp - now_secs;
            format!("the token in use has {}h {:02}m left", left / 3600, (left % 3600) / 60)
        }
        Some(_) => "the last token has run out; the agent gets a new one when it starts".into(),
        None => "the agent gets its first token when it starts".into(),
    };
    let m = format!(
        "signed in as {who} at {} ({}): the agent renews its token before it expires; {token}",
        login.cloud,
        path.display()
    );
    result(C, CheckStatus::Success, m, d)
}

/// The token: whose it is (against the driver id, when one is set) and how long it lasts; or,
/// without a token, the driver agent's sign-in.
pub(crate) fn token(settings: &Settings, now_secs: u64) -> ValidationResult {
    const C: &str = "token";
    let Some(token) = &settings.token else {
        return match &settings.login {
            Some((path, Ok(Some(login)))) => signed_in(settings, path, login, now_secs),
            Some((path, Err(e))) => {
                let mut d = Map::new();
                d.insert("login".into(), json!(path.display().to_string()));
                result(
                    C,
                    CheckStatus::Error,
                    format!("the sign-in cannot be read: {e}; sign in again with `pitbox driver login`"),
                    d,
                )
            }
            Some((path, Ok(None))) => not_configured(
                C,
                &format!(
                    "not signed in ({} does not exist): sign in with `pitbox driver login`, or give --token",
                    path.display()
                ),
            ),
            None => not_configured(C, "give --token or PITBOX_DRIVER_TOKEN"),
        };
    };
    let Some(c) = claims(token) else {
        return result(C, CheckStatus::Error, "the token is not a JWT (three base64url parts)", Map::new());
    };
    let mut d = Map::new();
    d.insert("userId".into(), json!(c.sub));
    d.insert("role".into(), json!(c.role));
    d.insert("expiresAt".into(), json!(c.exp));
    if let Some(id) = &settings.driver_id {
        d.insert("driverId".into(), json!(id));
        if c.role == "driver" && *id != c.sub {
            let m = format!(
                "the token belongs to driver {} but the driver id is {id}: the relay refuses every sample of a \
                 driver publishing as someone else (leave the driver id out: the agent takes it from the token)",
                c.sub
            );
            return result(C, CheckStatus::Error, m, d);
        }
    }
    let whose = match c.scope.as_deref() {
        Some("relay") => format!("a relay's credential for {} ({})", c.sub, c.role),
        _ => format!("{} ({})", c.sub, c.role),
    };
    let at = chrono::DateTime::from_timestamp(i64::try_from(c.exp).unwrap_or(i64::MAX), 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| c.exp.to_string());
    if c.exp <= now_secs {
        let m = format!("the token of {whose} expired at {at}: the relay refuses it; log in again");
        return result(C, CheckStatus::Error, m, d);
    }
    let left = c.exp - now_secs;
    let left_text = format!("{}h {:02}m", left / 3600, (left % 3600) / 60);
    if left < TOKEN_WARN_SECS {
        let m = format!(
            "the token of {whose} expires in {left_text} (at {at}), within a day: renew it before the race \
             (pitbox driver init --force)"
        );
        return result(C, CheckStatus::Warning, m, d);
    }
    result(C, CheckStatus::Success, format!("the token of {whose} is valid until {at} ({left_text} left)"), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", e.encode("{\"alg\":\"EdDSA\"}"), e.encode(payload))
    }

    #[test]
    fn health_urls() {
        assert_eq!(health_url("ws://127.0.0.1:8765/").as_deref(), Some("http://127.0.0.1:8765/health"));
        assert_eq!(health_url("wss://relay.example/ws").as_deref(), Some("https://relay.example/health"));
        assert_eq!(health_url("http://x"), None);
    }

    #[test]
    fn token_owner_and_expiry() {
        let now = 1_800_000_000;
        let s = |token: &str, driver: Option<&str>| Settings {
            token: Some(token.into()),
            driver_id: driver.map(str::to_string),
            ..Settings::default()
        };
        let good = jwt(&format!(r#"{{"sub":"usr-1","role":"driver","exp":{}}}"#, now + 3 * 86_400));
        let r = token(&s(&good, Some("usr-1")), now);
        assert_eq!(r.status, CheckStatus::Success, "{}", r.message);
        let r = token(&s(&good, Some("driver-1")), now);
        assert_eq!(r.status, CheckStatus::Error, "{}", r.message);
        assert!(r.message.contains("belongs to driver usr-1 but the driver id is driver-1"), "{}", r.message);
        let soon = jwt(&format!(r#"{{"sub":"usr-1","role":"driver","exp":{}}}"#, now + 5 * 3600));
        let r = token(&s(&soon, None), now);
        assert_eq!(r.status, CheckStatus::Warning, "{}", r.message);
        assert!(r.message.contains("expires in 5h 00m"), "{}", r.message);
        let gone = jwt(&format!(r#"{{"sub":"usr-1","role":"driver","exp":{}}}"#, now - 1));
        assert_eq!(token(&s(&gone, None), now).status, CheckStatus::Error);
        // An admin publishes for anyone of the team.
        let admin = jwt(&format!(r#"{{"sub":"adm","role":"admin","exp":{}}}"#, now + 3 * 86_400));
        assert_eq!(token(&s(&admin, Some("usr-1")), now).status, CheckStatus::Success);
        assert_eq!(token(&s("not-a-jwt", None), now).status, CheckStatus::Error);
        assert!(crate::is_not_configured(&token(&Settings::default(), now)));
    }

    #[test]
    fn the_driver_agents_sign_in() {
        let now = 1_800_000_000;
        let path = std::path::PathBuf::from("/data/login.json");
        let login = |access: Option<String>| pitbox_auth::login::StoredLogin {
            cloud: "https://team.example".into(),
            username: "alex".into(),
            user_id: "usr-1".into(),
            role: "driver".into(),
            refresh_token: "r".into(),
            access_token: access,
            relay_id: None,
            relay_name: None,
        };
        let s = |l: Result<Option<pitbox_auth::login::StoredLogin>, String>, driver: Option<&str>| Settings {
            login: Some((path.clone(), l)),
            driver_id: driver.map(str::to_string),
            ..Settings::default()
        };
        // A token that runs out in a minute is no warning: the agent renews it.
        let soon = jwt(&format!(r#"{{"sub":"usr-1","role":"driver","exp":{}}}"#, now + 60));
        let r = token(&s(Ok(Some(login(Some(soon)))), Some("usr-1")), now);
        assert_eq!(r.status, CheckStatus::Success, "{}", r.message);
        assert!(r.message.contains("signed in as alex (driver, usr-1) at https://team.example"), "{}", r.message);
        assert!(r.message.contains("renews its token") && r.message.contains("0h 01m left"), "{}", r.message);
        let r = token(&s(Ok(Some(login(None))), None), now);
        assert_eq!(r.status, CheckStatus::Success, "{}", r.message);
        let r = token(&s(Ok(Some(login(None))), Some("driver-1")), now);
        assert_eq!(r.status, CheckStatus::Error, "{}", r.message);
        assert!(r.message.contains("but the driver id is driver-1"), "{}", r.message);
        let r = token(&s(Err("bad JSON".into()), None), now);
        assert_eq!(r.status, CheckStatus::Error, "{}", r.message);
        assert!(r.message.contains("pitbox driver login"), "{}", r.message);
        let r = token(&s(Ok(None), None), now);
        assert!(crate::is_not_configured(&r), "{}", r.message);
        assert!(r.message.contains("/data/login.json does not exist"), "{}", r.message);
    }
}
