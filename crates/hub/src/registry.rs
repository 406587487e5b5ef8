//! Who is subscribed to what. Dispatch takes a snapshot of a team's subscribers (an `Arc`
//! clone under a short read lock) and offers the frame to each matching subscriber's outbox,
//! so publishing never waits for a subscriber.
//!
//! It also keeps each driver's latest state (newest `session_info`, `driver_status`,
//! `standings_update` and `telemetry_update`) and hands it to a new subscription at once, so a
//! dashboard that opens mid-race sees the car, the track and the standings without waiting for
//! the driver's next announcement.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use pitbox_model::Channel;

use crate::latest::LatestState;
use crate::metrics::HubMetrics;
use crate::outbox::{Offer, Outbox};

pub(crate) fn channel_bit(c: Channel) -> u16 {
    let i = Channel::ALL.iter().position(|x| *x == c).unwrap_or(0);
    1u16 << i
}

/// The video channel's bit (the last channel).
pub(crate) const VIDEO_BIT: u16 = 1 << (Channel::ALL.len() - 1);

/// What an empty `channels` list subscribes to: every channel but video, which is binary and
/// heavy, so only a client that asks for it by name gets it.
pub(crate) const ALL_CHANNELS: u16 = (u16::MAX >> (16 - Channel::ALL.len())) & !VIDEO_BIT;

/// One connection's subscription (immutable; replaced as a whole on change).
#[derive(Clone)]
pub(crate) struct Sub {
    pub(crate) conn: u64,
    pub(crate) team: String,
    /// Empty: every driver of the team.
    pub(crate) drivers: Vec<String>,
    /// Drivers taken out of an all-drivers subscription by `unsubscribe`.
    pub(crate) excluded: Vec<String>,
    pub(crate) channels: u16,
    pub(crate) rate_hz: f64,
    pub(crate) outbox: Arc<Outbox>,
}

impl Sub {
    pub(crate) fn wants(&self, driver: Option<&str>, bit: u16) -> bool {
        if self.channels & bit == 0 {
            return false;
        }
        match driver {
            None => true,
            Some(d) => {
                (self.drivers.is_empty() || self.drivers.iter().any(|x| x == d))
                    && !self.excluded.iter().any(|x| x == d)
            }
        }
    }
}

#[derive(Default)]
pub(crate) struct Registry {
    teams: RwLock<HashMap<String, Arc<Vec<Arc<Sub>>>>>,
    latest: std::sync::Mutex<LatestState<Utf8Bytes>>,
}

impl Registry {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Vec<Arc<Sub>>>>> {
        match self.teams.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn snapshot(&self, team: &str) -> Option<Arc<Vec<Arc<Sub>>>> {
        let g = match self.teams.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.get(team).cloned()
    }

    /// Number of subscriptions.
    pub(crate) fn len(&self) -> usize {
        let g = match self.teams.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.values().map(|v| v.len()).sum()
    }

    fn latest(&self) -> std::sync::MutexGuard<'_, LatestState<Utf8Bytes>> {
        match self.latest.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Installs or replaces the subscription of `sub.conn`; with `catch_up`, offers it the
    /// latest state of every driver it follows (see the module doc) — for a new subscription,
    /// not for one an `unsubscribe` only narrowed.
    pub(crate) fn upsert(&self, sub: Sub, catch_up: bool) {
        // Held across install and replay: a frame recorded after the replay is dispatched to
        // the installed subscription, so nothing newer is ever followed by something older.
        let latest = self.latest();
        let sub = Arc::new(sub);
        {
            let mut g = self.write();
            Self::remove_locked(&mut g, sub.conn);
            let list = g.entry(sub.team.clone()).or_default();
            let mut v: Vec<Arc<Sub>> = list.as_ref().clone();
            v.push(sub.clone());
            *list = Arc::new(v);
        }
        if !catch_up {
            return;
        }
        let now = Instant::now();
        for (channel, driver, frame) in latest.fresh(&sub.team, now) {
            if !sub.wants(Some(driver), channel_bit(channel)) {
                continue;
            }
            if channel == Channel::Telemetry {
                sub.outbox.offer_telemetry(driver, frame, now);
            } else {
                sub.outbox.push_control(frame.clone());
            }
        }
    }

    /// Remembers `frame` as `driver`'s latest on `channel` when it is a state channel.
    fn record(&self, team: &str, driver: Option<&str>, channel: Channel, frame: &Utf8Bytes) {
        if let Some(driver) = driver {
            self.latest().record(team, driver, channel, frame.clone());
        }
    }

    /// The subscription of a connection, if any.
    pub(crate) fn get(&self, conn: u64, team: &str) -> Option<Arc<Sub>> {
        self.snapshot(team)?.iter().find(|s| s.conn == conn).cloned()
    }

    /// Removes the subscription of a connection.
    pub(crate) fn remove(&self, conn: u64) {
        let mut g = self.write();
        Self::remove_locked(&mut g, conn);
    }

    fn remove_locked(g: &mut HashMap<String, Arc<Vec<Arc<Sub>>>>, conn: u64) {
        let mut empty = Vec::new();
        for (team, list) in g.iter_mut() {
            if list.iter().any(|s| s.conn == conn) {
                let v: Vec<Arc<Sub>> = list.iter().filter(|s| s.conn != conn).cloned().collect();
                if v.is_empty() {
                    empty.push(team.clone());
                }
                *list = Arc::new(v);
            }
        }
        for t in empty {
            g.remove(&t);
        }
    }

    /// Offers a frame to every subscriber of `team` that wants `channel` (and `driver`).
    pub(crate) fn dispatch(
        &self,
        team: &str,
        driver: Option<&str>,
        channel: Channel,
        frame: &Utf8Bytes,
        metrics: &HubMetrics,
    ) {
        self.dispatch_except(team, driver, channel, frame, metrics, None, true);
    }

    /// [`Registry::dispatch`] to everyone but connection `except`; with `keep`, the frame is the
    /// driver's latest state on its channel (false for a message that shares a state channel
    /// without being its state). Returns how many were offered the frame.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn dispatch_except(
        &self,
        team: &str,
        driver: Option<&str>,
        channel: Channel,
        frame: &Utf8Bytes,
        metrics: &HubMetrics,
        except: Option<u64>,
        keep: bool,
    ) -> usize {
        if keep {
            self.record(team, driver, channel, frame);
        }
        let Some(subs) = self.snapshot(team) else { return 0 };
        let bit = channel_bit(channel);
        let now = Instant::now();
        // Hashed once here rather than compared with every slot of every subscriber.
        let key = driver.map(crate::outbox::driver_key).unwrap_or(0);
        let (mut offered, mut dropped, mut coalesced) = (0, 0, 0);
        for s in subs.iter() {
            if !s.wants(driver, bit) || Some(s.conn) == except {
                continue;
            }
            offered += 1;
            match (channel, driver) {
                (Channel::Telemetry, Some(d)) => match s.outbox.offer_telemetry_keyed(key, d, frame, now) {
                    Offer::ReplacedUnsent => dropped += 1,
                    Offer::Coalesced => coalesced += 1,
                    _ => {}
                },
                _ => {
                    if !s.outbox.push_control(frame.clone()) && s.outbox.overflowed() {
                        dropped += 1;
                    }
                }
            }
        }
        // Counted once per dispatch, not per subscriber: the counters are shared by every core,
        // and most offers to a team's dashboards are coalesced.
        if dropped > 0 {
            metrics.dropped_slow.fetch_add(dropped, Ordering::Relaxed);
        }
        if coalesced > 0 {
            metrics.coalesced.fetch_add(coalesced, Ordering::Relaxed);
        }
        offered
    }
}
