//! Whether callouts about the car (fuel, pit window, box now, coaching on pace and gaps) may be
//! spoken: only while the sim is connected and the player drives live. In the garage, out of the
//! car or in a replay the values on screen are not the race's, so "Low fuel, 0 percent" would be
//! false. Messages from people (team messages, handoffs) and answers to the driver's own
//! questions are never held.

use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_sources::ConnectionState;

/// Why car callouts are held right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The sim is not connected (not started, gone, or a finished replay).
    SimNotConnected,
    /// Connected, but no sample has arrived yet.
    NoTelemetry,
    /// The sim says the values are not the player driving live.
    NotDriving(pitbox_model::telemetry::NotDriving),
}

impl Held {
    /// Plain words for the voice log and status.
    pub fn describe(self) -> &'static str {
        match self {
            Held::SimNotConnected => "the sim is not connected",
            Held::NoTelemetry => "no telemetry yet",
            Held::NotDriving(why) => why.describe(),
        }
    }
}

/// `Some(why)` when car callouts must not be spoken now.
pub fn car_callouts_held(source: ConnectionState, latest: Option<&TelemetryUpdate>) -> Option<Held> {
    if !source.is_connected() {
        return Some(Held::SimNotConnected);
    }
    let Some(t) = latest else { return Some(Held::NoTelemetry) };
    t.not_driving().map(Held::NotDriving)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitbox_model::telemetry::NotDriving;

    fn sample(on_track: Option<bool>, in_garage: Option<bool>, replay: Option<bool>) -> TelemetryUpdate {
        let mut t: TelemetryUpdate = serde_json::from_value(serde_json::json!({
            "driverId": "d", "timestamp": "2026-12-06T12:00:00Z", "speed": 120.0, "rpm": 6000.0,
            "gear": 3, "throttle": 80.0, "brake": 0.0, "steeringAngle": 0.0, "latitude": null,
            "longitude": null, "trackPosition": 0.5, "lap": 3, "sector": 1, "fuelLevel": 2.0,
            "tireWear": {"frontLeft": 0.0, "frontRight": 0.0, "rearLeft": 0.0, "rearRight": 0.0}
        }))
        .expect("a valid sample");
        t.on_track = on_track;
        t.in_garage = in_garage;
        t.replay_playing = replay;
        t
    }

    #[test]
    fn only_a_connected_sim_with_the_player_driving_live_is_spoken_for() {
        let live = sample(Some(true), Some(false), Some(false));
        assert_eq!(car_callouts_held(ConnectionState::Connected, Some(&live)), None);
        for state in [ConnectionState::Waiting, ConnectionState::Disconnected, ConnectionState::Finished] {
            assert_eq!(car_callouts_held(state, Some(&live)), Some(Held::SimNotConnected), "{state:?}");
        }
        assert_eq!(car_callouts_held(ConnectionState::Connected, None), Some(Held::NoTelemetry));
        let cases = [
            (sample(Some(false), Some(false), Some(false)), NotDriving::NotInCar),
            (sample(Some(false), Some(true), Some(false)), NotDriving::InGarage),
            // A replay wins: its IsOnTrack is the replayed car's.
            (sample(Some(true), Some(false), Some(true)), NotDriving::ReplayPlaying),
            (sample(Some(false), Some(false), Some(true)), NotDriving::ReplayPlaying),
        ];
        for (t, why) in cases {
            assert_eq!(car_callouts_held(ConnectionState::Connected, Some(&t)), Some(Held::NotDriving(why)));
        }
        // Sources that do not say (files, older agents) are taken as driving.
        assert_eq!(car_callouts_held(ConnectionState::Connected, Some(&sample(None, None, None))), None);
    }
}
