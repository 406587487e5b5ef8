//! Each driver's latest state, per team: the newest `session_info`, `driver_status`,
//! `standings_update`, `telemetry_update` and `strategy_update` — what a new subscription is caught up with so a
//! dashboard opened mid-race sees the car, the track and the field at once. The registry keeps
//! frames in it; on the cloud those come from every node, since its bus feeds the hub.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pitbox_model::Channel;

/// The state channels, in the order they are replayed (what the car is before where it is), and
/// how old a kept value may be to still be worth sending.
pub const STATE_CHANNELS: [(Channel, Duration); 5] = [
    (Channel::Session, Duration::from_secs(24 * 3600)),
    (Channel::Status, Duration::from_secs(24 * 3600)),
    // A live plan is made once a lap: worth showing (marked with its age) for a long stint.
    (Channel::Strategy, Duration::from_secs(3600)),
    (Channel::Standings, Duration::from_secs(60)),
    (Channel::Telemetry, Duration::from_secs(60)),
];

/// Most drivers kept per team, and most teams; past either, the stalest goes.
pub const MAX_DRIVERS_PER_TEAM: usize = 512;
pub const MAX_TEAMS: usize = 10_000;

/// One driver's newest value per state channel (index as [`STATE_CHANNELS`]).
struct DriverState<T> {
    slots: [Option<(T, Instant)>; STATE_CHANNELS.len()],
    touched: Instant,
}

/// team → driver → latest state. Bounded by [`MAX_TEAMS`] and [`MAX_DRIVERS_PER_TEAM`].
pub struct LatestState<T> {
    teams: HashMap<String, HashMap<String, DriverState<T>>>,
}

impl<T> Default for LatestState<T> {
    fn default() -> Self {
        LatestState { teams: HashMap::new() }
    }
}

impl<T> LatestState<T> {
    /// Keeps `value` as `driver`'s latest on `channel`; other channels are not state and are
    /// ignored.
    pub fn record(&mut self, team: &str, driver: &str, channel: Channel, value: T) {
        let Some(slot) = STATE_CHANNELS.iter().position(|(c, _)| *c == channel) else { return };
        let now = Instant::now();
        if !self.teams.contains_key(team) && self.teams.len() >= MAX_TEAMS {
            let stalest =
                self.teams.iter().min_by_key(|(_, d)| d.values().map(|s| s.touched).max()).map(|(t, _)| t.clone());
            if let Some(t) = stalest {
                self.teams.remove(&t);
            }
        }
        let drivers = match self.teams.get_mut(team) {
            Some(d) => d,
            None => self.teams.entry(team.to_string()).or_default(),
        };
        if !drivers.contains_key(driver) && drivers.len() >= MAX_DRIVERS_PER_TEAM {
            let stalest = drivers.iter().min_by_key(|(_, s)| s.touched).map(|(d, _)| d.clone());
            if let Some(d) = stalest {
                drivers.remove(&d);
            }
        }
        let state = match drivers.get_mut(driver) {
            Some(s) => s,
            None => drivers
                .entry(driver.to_string())
                .or_insert_with(|| DriverState { slots: std::array::from_fn(|_| None), touched: now }),
        };
        state.slots[slot] = Some((value, now));
        state.touched = now;
    }

    /// The team's values young enough to replay at `now`, in replay order (every driver's
    /// session, then status, standings, sample), each with its channel and driver.
    pub fn fresh(&self, team: &str, now: Instant) -> Vec<(Channel, &str, &T)> {
        let Some(drivers) = self.teams.get(team) else { return Vec::new() };
        let mut out = Vec::new();
        for (slot, (channel, max_age)) in STATE_CHANNELS.iter().enumerate() {
            for (driver, state) in drivers {
                if let Some((value, at)) = &state.slots[slot]
                    && now.duration_since(*at) <= *max_age
                {
                    out.push((*channel, driver.as_str(), value));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_state_per_driver_in_replay_order_and_ignores_events() {
        let mut l = LatestState::default();
        l.record("t", "d1", Channel::Telemetry, 1);
        l.record("t", "d1", Channel::Telemetry, 2);
        l.record("t", "d1", Channel::Session, 10);
        l.record("t", "d1", Channel::Messages, 99);
        l.record("u", "d9", Channel::Status, 7);
        let got: Vec<(Channel, &str, i32)> =
            l.fresh("t", Instant::now()).into_iter().map(|(c, d, v)| (c, d, *v)).collect();
        assert_eq!(got, vec![(Channel::Session, "d1", 10), (Channel::Telemetry, "d1", 2)]);
        assert!(l.fresh("nobody", Instant::now()).is_empty());
        // A sample older than a minute is not replayed; the session still is.
        let later = Instant::now() + Duration::from_secs(61);
        let got: Vec<Channel> = l.fresh("t", later).into_iter().map(|(c, _, _)| c).collect();
        assert_eq!(got, vec![Channel::Session]);
    }

    #[test]
    fn bounded_per_team_a_new_driver_replaces_a_stale_one() {
        let mut l = LatestState::default();
        for i in 0..=MAX_DRIVERS_PER_TEAM {
            l.record("t", &format!("d{i}"), Channel::Status, i);
        }
        let fresh = l.fresh("t", Instant::now());
        assert_eq!(fresh.len(), MAX_DRIVERS_PER_TEAM);
        let newest = format!("d{MAX_DRIVERS_PER_TEAM}");
        assert!(fresh.iter().any(|(_, d, _)| *d == newest), "the newest driver is kept");
    }
}
