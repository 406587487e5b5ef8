//! Live samples must be stamped near the server's clock: a sample of 9999 or 1900 would start
//! a session that sorts first forever and split the driver's live session. The window is
//! configurable (`--sample-clock-window-hours`, default ±24 h); imports are checked apart, by
//! the plausibility of the file's date (`pitbox_irsdk::import`).

use chrono::{DateTime, Utc};
use pitbox_model::telemetry::TelemetryUpdate;
use std::time::Duration;

/// Default half-width of the window: a day either side of the server's clock.
pub const DEFAULT_SAMPLE_CLOCK_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The first sample of `samples` stamped outside `now ± window`, as (index, message).
pub fn outside_window(samples: &[TelemetryUpdate], now: DateTime<Utc>, window: Duration) -> Option<(usize, String)> {
    let half = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let earliest = now.checked_sub_signed(half).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let latest = now.checked_add_signed(half).unwrap_or(DateTime::<Utc>::MAX_UTC);
    samples.iter().position(|s| s.timestamp < earliest || s.timestamp > latest).map(|i| {
        (
            i,
            format!(
                "timestamp {} is more than {} h from the server's clock ({}); live samples must be stamped now",
                samples[i].timestamp.to_rfc3339(),
                window.as_secs() / 3600,
                now.to_rfc3339()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> TelemetryUpdate {
        let mut u: TelemetryUpdate = serde_json::from_value(serde_json::json!({
            "driverId": "d", "timestamp": s, "speed": 0.0, "rpm": 0.0, "gear": 0, "throttle": 0.0, "brake": 0.0,
            "steeringAngle": 0.0, "trackPosition": 0.0, "lap": 0, "sector": 0, "fuelLevel": 0.0,
            "tireWear": {"frontLeft": 0.0, "frontRight": 0.0, "rearLeft": 0.0, "rearRight": 0.0}
        }))
        .expect("sample");
        u.timestamp = s.parse().expect("time");
        u
    }

    #[test]
    fn samples_far_from_the_clock_are_named() {
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("now");
        let day = DEFAULT_SAMPLE_CLOCK_WINDOW;
        assert_eq!(outside_window(&[at("2026-01-01T23:59:00Z"), at("2025-12-31T00:00:01Z")], now, day), None);
        let got = outside_window(&[at("2026-01-01T00:00:00Z"), at("9999-12-31T00:00:00Z")], now, day);
        assert_eq!(got.map(|g| g.0), Some(1));
        assert_eq!(outside_window(&[at("1900-01-01T00:00:00Z")], now, day).map(|g| g.0), Some(0));
        assert_eq!(outside_window(&[at("1900-01-01T00:00:00Z")], now, Duration::MAX), None);
    }
}
