//! The spotter ([`pitbox_spotter`]) in the agent: fed one tick per sim row on the source thread
//! ([`SpotterFeed`]), its calls sent to the voice thread, which plays them from clips made when
//! the radio opened ([`make_clips`]): no synthesis and no chime between the tick and the sound.
//! Side calls are urgent (they cut any other callout but an urgent one); "car behind" and
//! "faster class behind" are high. Like the car callouts they are held (logged, not spoken) while
//! the sim is not connected, a replay plays or the player is not in the car.

use super::log::SpotterStatus;
use super::{CalloutOrigin, Job, Worker};
use pitbox_irsdk::flags::CarLeftRight;
use pitbox_model::Priority;
use pitbox_sources::SpotterTick;
use pitbox_spotter::{Call, Classes, Frame, Spotter, SpotterConfig};
use pitbox_voice::{Audio, Callout, SpeechRequest, TtsProvider};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// Where the source thread's spotter sends its calls: set once the voice has started.
pub type SpotterLink = Arc<OnceLock<SpotterSender>>;

/// The voice thread's end for spotter calls.
#[derive(Clone)]
pub struct SpotterSender(pub(super) mpsc::Sender<Job>);

/// The spotter as the source thread runs it.
pub struct SpotterFeed {
    spotter: Spotter,
    link: SpotterLink,
    /// Its calls are spoken (`--spotter`); a silent one still judges traffic for the cues.
    speak: bool,
}

impl SpotterFeed {
    pub fn new(link: SpotterLink, speak: bool) -> SpotterFeed {
        SpotterFeed { spotter: Spotter::new(SpotterConfig::default()), link, speak }
    }

    /// In traffic at sim time `t` (see [`Spotter::busy`]).
    pub fn busy(&self, t: f64) -> bool {
        self.spotter.busy(t)
    }

    /// One sim tick: the spotter judges it, and what it calls goes to the voice thread.
    pub fn tick(&mut self, t: &SpotterTick) {
        if let Some(s) = &t.session {
            self.spotter.set_classes(Classes::from_session(s));
        }
        let frame = Frame {
            time_s: t.session_time,
            car_left_right: t.car_left_right.map(CarLeftRight::from_i32),
            player_idx: t.player_idx.and_then(|p| usize::try_from(p).ok()),
            lap_dist_pct: &t.lap_dist_pct,
            est_time: &t.est_time,
            on_pit_road: &t.on_pit_road,
        };
        let calls = self.spotter.update(&frame);
        if calls.is_empty() || !self.speak {
            return;
        }
        if let Some(tx) = self.link.get() {
            let _ = tx.0.send(Job::Spot { calls, at: t.read_at });
        }
    }
}

/// How long a call stays worth saying: a side call a second and a half late is wrong.
fn max_age(c: Call) -> Duration {
    if c.is_side() { Duration::from_millis(1_500) } else { Duration::from_secs(3) }
}

/// Calls about one side replace each other while queued ("clear left" over "car left").
fn topic(c: Call) -> &'static str {
    match c {
        Call::CarLeft | Call::ClearLeft => "spotter-left",
        Call::CarRight | Call::ClearRight => "spotter-right",
        Call::ThreeWide | Call::StillThere => "spotter-sides",
        Call::CarBehindClosing | Call::FasterClassBehind => "spotter-behind",
    }
}

/// Every call synthesised with the radio's engine (radio-filtered when the radio chimes, but
/// without the chime). The error names the call that failed.
pub(super) fn make_clips(
    tts: &dyn TtsProvider,
    voice: &str,
    speed: f64,
    radio_filter: bool,
) -> Result<HashMap<Call, Arc<Audio>>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime to make the spotter's calls: {e}"))?;
    let mut clips = HashMap::new();
    for c in Call::ALL {
        let req = SpeechRequest { text: c.text().into(), voice: voice.into(), speed, pitch: None };
        let audio = rt.block_on(tts.synthesize(&req)).map_err(|e| format!("\"{}\": {e}", c.text()))?;
        let audio = if radio_filter { pitbox_voice::radio::radio_effect(&audio) } else { audio };
        clips.insert(c, Arc::new(audio));
    }
    Ok(clips)
}

impl Worker {
    /// The spotter's calls of one tick (`at`: when the tick was read), most urgent first.
    pub(super) fn spot(&mut self, calls: &[Call], at: Instant) {
        if !self.settings.spotter {
            return;
        }
        // The radio (and so the clips) is opened at the first need.
        let _ = self.radio();
        for &c in calls {
            let priority = if c.is_side() { Priority::Urgent } else { Priority::High };
            let mut callout = Callout::new(c.text(), priority, at).max_age(max_age(c)).topic(topic(c));
            if let Some(clip) = self.spotter_clips.get(&c) {
                callout = callout.with_clip(clip.clone());
            }
            self.set_status(|s| {
                s.spotter.calls += 1;
                s.spotter.last_call = Some(c.text().into());
            });
            self.say(CalloutOrigin::Spotter, callout);
        }
    }
}

/// The spotter's part of the voice status at start-up.
pub(super) fn initial_status(on: bool) -> SpotterStatus {
    SpotterStatus {
        enabled: on,
        clips: if on { "not made yet (the radio has not started)".into() } else { "off".into() },
        ..SpotterStatus::default()
    }
}
