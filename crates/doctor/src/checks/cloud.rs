//! The cloud: `GET /health` answers 200 with a working database, `GET /api/config` speaks a
//! protocol this build speaks; and the clock check, from the cloud's `Date` header and the
//! relay's `connection_established` timestamp.

use pitbox_model::CheckStatus;
use pitbox_model::control::{PROTOCOL_VERSION, protocol_compatible};
use pitbox_model::rest::ValidationResult;
use serde_json::{Map, Value, json};

use super::{ClockSample, now_ms};
use crate::Settings;
use crate::report::{not_configured, result};

const COMPONENT: &str = "cloud";

/// Offsets above this are a warning.
pub const CLOCK_WARN_MS: i64 = 1_000;
/// Offsets above this are an error: tokens issued by one clock look expired or not yet valid to
/// the other, and sample times disagree.
pub const CLOCK_ERROR_MS: i64 = 5_000;

/// `reqwest`'s error in a few words: the top level says only "error sending request", the
/// innermost cause says what happened ("Connection refused (os error 111)").
fn describe(e: &reqwest::Error, timeout: std::time::Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", humantime::format_duration(timeout));
    }
    let mut innermost = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        innermost = c.to_string();
        src = c.source();
    }
    if e.is_connect() { format!("cannot connect: {innermost}") } else { innermost }
}

/// A GET with its status, `Date` header, body and local send/receive times.
struct Got {
    status: u16,
    date: Option<String>,
    body: Vec<u8>,
    sent_ms: i64,
    received_ms: i64,
}

async fn get(client: &reqwest::Client, url: &str, timeout: std::time::Duration) -> Result<Got, String> {
    let sent_ms = now_ms();
    let resp = client.get(url).send().await.map_err(|e| format!("GET {url}: {}", describe(&e, timeout)))?;
    let received_ms = now_ms();
    let status = resp.status().as_u16();
    let date = resp.headers().get("date").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body =
        resp.bytes().await.map_err(|e| format!("GET {url}: reading the body: {}", describe(&e, timeout)))?.to_vec();
    Ok(Got { status, date, body, sent_ms, received_ms })
}

fn json_of(g: &Got, url: &str) -> Result<Value, String> {
    serde_json::from_slice(&g.body).map_err(|e| {
        let head: String = String::from_utf8_lossy(&g.body).chars().take(120).collect();
        format!("GET {url}: HTTP {} with a body that is not JSON ({e}): {head}", g.status)
    })
}

/// Runs the cloud check; also returns the cloud's clock when it answered with a `Date` header.
pub(crate) async fn check(settings: &Settings) -> (ValidationResult, Option<ClockSample>) {
    let Some(base) = &settings.cloud_url else {
        return (not_configured(COMPONENT, "give --cloud-url or PITBOX_DRIVER_CLOUD_ENDPOINT"), None);
    };
    let base = base.trim_end_matches('/');
    let mut d = Map::new();
    d.insert("url".into(), json!(base));
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        let m = format!("cloud URL {base} must start with http:// or https://");
        return (result(COMPONENT, CheckStatus::Error, m, d), None);
    }
    let mut builder = reqwest::Client::builder().timeout(settings.timeout);
    for path in &settings.ca_files {
        let cert = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|pem| reqwest::Certificate::from_pem(&pem).map_err(|e| describe(&e, settings.timeout)));
        match cert {
            Ok(c) => builder = builder.add_root_certificate(c),
            Err(e) => {
                let m = format!("CA file {}: {e}", path.display());
                return (result(COMPONENT, CheckStatus::Error, m, d), None);
            }
        }
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            let m = format!("HTTP client: {}", describe(&e, settings.timeout));
            return (result(COMPONENT, CheckStatus::Error, m, d), None);
        }
    };
    let health_url = format!("{base}/health");
    let health = match get(&client, &health_url, settings.timeout).await {
        Ok(g) => g,
        Err(m) if settings.cloud_default => {
            let m = format!(
                "no cloud answers at the default address {base} ({m}); give --cloud-url or PITBOX_DRIVER_CLOUD_ENDPOINT"
            );
            return (not_configured(COMPONENT, &m), None);
        }
        Err(m) => return (result(COMPONENT, CheckStatus::Error, format!("cannot reach the cloud: {m}"), d), None),
    };
    let clock = health.date.as_deref().and_then(|date| {
        let server = chrono::DateTime::parse_from_rfc2822(date).ok()?.timestamp_millis();
        // HTTP dates have whole seconds: the server's time was in [date, date + 1 s).
        Some(ClockSample {
            source: "cloud",
            low_ms: server - health.received_ms,
            high_ms: server + 999 - health.sent_ms,
        })
    });
    let h = match json_of(&health, &health_url) {
        Ok(v) => v,
        Err(m) => return (result(COMPONENT, CheckStatus::Error, m, d), clock),
    };
    let node = h.get("node").and_then(Value::as_str).unwrap_or("?").to_string();
    d.insert("node".into(), json!(node));
    d.insert("health".into(), h.clone());
    if health.status != 200 || h.get("status").and_then(Value::as_str) != Some("ok") {
        let db = h.get("database").and_then(Value::as_str).unwrap_or("unknown");
        let m = format!("cloud node {node} at {base} is unhealthy (HTTP {}): database: {db}", health.status);
        return (result(COMPONENT, CheckStatus::Error, m, d), clock);
    }
    let config_url = format!("{base}/api/config");
    let config = match get(&client, &config_url, settings.timeout).await.and_then(|g| {
        if g.status == 200 { json_of(&g, &config_url) } else { Err(format!("GET {config_url}: HTTP {}", g.status)) }
    }) {
        Ok(v) => v,
        Err(m) => return (result(COMPONENT, CheckStatus::Error, format!("cloud at {base}: {m}"), d), clock),
    };
    let version = config.get("version").and_then(Value::as_str).unwrap_or("?").to_string();
    let protocol = config.get("protocolVersion").and_then(Value::as_str).unwrap_or("").to_string();
    d.insert("version".into(), json!(version));
    d.insert("protocolVersion".into(), json!(protocol));
    if !protocol_compatible(&protocol) {
        let m = format!(
            "cloud at {base} speaks protocol `{protocol}`, this build speaks {PROTOCOL_VERSION}: upgrade the older one"
        );
        return (result(COMPONENT, CheckStatus::Error, m, d), clock);
    }
    let m = format!("cloud node {node} at {base} is healthy (version {version}, protocol {protocol}, database ok)");
    (result(COMPONENT, CheckStatus::Success, m, d), clock)
}

fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The clock check from what the cloud and relay checks saw: the largest offset that is
/// certain decides (over 1 s a warning, over 5 s an error).
pub(crate) fn clock(cloud: &Option<ClockSample>, relay: &Option<ClockSample>) -> ValidationResult {
    const COMPONENT: &str = "clock";
    let samples: Vec<ClockSample> = [*cloud, *relay].into_iter().flatten().collect();
    if samples.is_empty() {
        return not_configured(
            COMPONENT,
            "needs an answering cloud (--cloud-url) or relay (--relay-url) to compare with",
        );
    }
    let mut d = Map::new();
    for s in &samples {
        d.insert(
            s.source.into(),
            json!({"offsetMs": s.estimate_ms(), "lowMs": s.low_ms, "highMs": s.high_ms, "certainMs": s.certain_ms()}),
        );
    }
    let Some(worst) = samples.iter().max_by_key(|s| s.certain_ms().abs()) else {
        return not_configured(COMPONENT, "no clock to compare with");
    };
    let off = worst.certain_ms();
    let status = match off.abs() {
        x if x > CLOCK_ERROR_MS => CheckStatus::Error,
        x if x > CLOCK_WARN_MS => CheckStatus::Warning,
        _ => CheckStatus::Success,
    };
    let sources = samples.iter().map(|s| s.source).collect::<Vec<_>>().join(" and ");
    let m = if off == 0 {
        let spread = samples.iter().map(|s| s.high_ms - s.low_ms).max().unwrap_or(0);
        format!("local clock agrees with the {sources} (to within {})", seconds(spread))
    } else {
        let dir = if off > 0 { "behind" } else { "ahead of" };
        format!(
            "local clock is at least {} {dir} the {}; run NTP (e.g. systemd-timesyncd or chrony) on both machines",
            seconds(off.abs()),
            worst.source
        )
    };
    result(COMPONENT, status, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(low_ms: i64, high_ms: i64) -> Option<ClockSample> {
        Some(ClockSample { source: "cloud", low_ms, high_ms })
    }

    #[test]
    fn clock_thresholds_use_the_certain_offset() {
        assert_eq!(clock(&sample(-300, 900), &None).status, CheckStatus::Success);
        assert_eq!(clock(&sample(1_200, 2_100), &None).status, CheckStatus::Warning);
        // Up to 1.9 s off but maybe only 0.9 s: not certainly over 1 s.
        assert_eq!(clock(&sample(900, 1_900), &None).status, CheckStatus::Success);
        let r = clock(&sample(-7_100, -6_200), &None);
        assert_eq!(r.status, CheckStatus::Error);
        assert!(r.message.contains("at least 6.2 s ahead of the cloud"), "{}", r.message);
        let relay = Some(ClockSample { source: "relay", low_ms: 6_000, high_ms: 6_010 });
        let r = clock(&sample(0, 900), &relay);
        assert_eq!(r.status, CheckStatus::Error);
        assert!(r.message.contains("6.0 s behind the relay"), "{}", r.message);
        assert!(crate::report::is_not_configured(&clock(&None, &None)));
    }
}
