//! The radio: the speech engine and the sink it plays into, started at the first need, and the
//! callouts queued on it and followed into the log.

use super::engine::open_engine;
use super::log::push_bounded;
use super::soundcard::sound_card;
use super::{CalloutEntry, CalloutOrigin, CalloutOutput, CalloutState, Worker};
use pitbox_model::Priority;
use pitbox_voice::radio::AudioSink;
use pitbox_voice::service::espeak_voices;
use pitbox_voice::{Callout, Radio, RadioConfig, RadioEvent, WavDirSink};
use std::time::Instant;

pub(super) enum RadioSlot {
    NotStarted,
    Running(Radio),
    /// Speech is off (logged once; the reason is in the status).
    Unavailable,
}

impl Worker {
    /// The radio, started at the first need.
    pub(super) fn radio(&mut self) -> Option<&Radio> {
        if let RadioSlot::NotStarted = self.radio {
            self.radio = match self.open_radio() {
                Ok(r) => {
                    self.set_status(|s| s.speech = "ready".into());
                    RadioSlot::Running(r)
                }
                Err(why) => {
                    // Once, clearly: callouts go on as text in the local API.
                    tracing::error!("callouts are not spoken: {why}; they stay as text in GET /api/voice/log");
                    self.set_status(|s| s.speech = why);
                    RadioSlot::Unavailable
                }
            };
        }
        match &self.radio {
            RadioSlot::Running(r) => Some(r),
            _ => None,
        }
    }

    fn open_radio(&mut self) -> Result<Radio, String> {
        let config_voice = self.shared.config.borrow().voice.voice_id.clone();
        self.radio_voice_id = config_voice.clone();
        let engine = open_engine(&self.settings.engine, &config_voice)?;
        let (tts, voice) = (engine.tts, engine.voice);
        self.fallback = engine.fallback;
        let (id, note) = (engine.id, engine.note);
        self.set_status(|s| s.engine = id);
        if let Some(n) = note {
            tracing::warn!("{n}");
        }
        let sink: Box<dyn AudioSink> = match &self.settings.output {
            CalloutOutput::WavDir { dir, time_scale } => {
                Box::new(WavDirSink::new(dir).map_err(|e| format!("callout folder: {e}"))?.time_scale(*time_scale))
            }
            CalloutOutput::SoundCard { device } => {
                let (sink, name) = sound_card(device.as_deref())?;
                self.set_status(|s| s.output = format!("sound card: {name}"));
                sink
            }
        };
        if self.settings.spotter {
            let made = Instant::now();
            let speed = self.settings.speed.clamp(0.5, 2.0);
            let clips = match super::spotter::make_clips(tts.as_ref(), &voice, speed, self.settings.chime) {
                Ok(clips) => {
                    let ms = made.elapsed().as_secs_f64() * 1_000.0;
                    tracing::info!("spotter: {} calls made in {ms:.0} ms", clips.len());
                    self.spotter_clips = clips;
                    format!("ready ({} calls made in {ms:.0} ms)", self.spotter_clips.len())
                }
                Err(why) => {
                    tracing::warn!("spotter calls not made beforehand ({why}): they are synthesised when called");
                    self.spotter_clips.clear();
                    format!("not made beforehand ({why}): synthesised when called")
                }
            };
            self.set_status(|s| s.spotter.clips = clips);
        }
        let config = RadioConfig {
            voice,
            speed: self.settings.speed.clamp(0.5, 2.0),
            chime: self.settings.chime,
            ..RadioConfig::default()
        };
        Radio::start(tts, sink, config).map_err(|e| format!("cannot start the radio thread: {e}"))
    }

    /// A new voiceId (`PUT /api/config`, the settings) or speed (the settings) takes effect at
    /// the next callout: the radio starts again with it.
    pub(super) fn follow_settings(&mut self) {
        let voice_id = self.shared.config.borrow().voice.voice_id.clone();
        let speed = f64::from_bits(self.speed.load(std::sync::atomic::Ordering::Relaxed));
        let new_speed = (speed - self.settings.speed).abs() > 1e-9;
        self.settings.speed = speed;
        if (voice_id != self.radio_voice_id || new_speed) && !matches!(self.radio, RadioSlot::NotStarted) {
            self.radio = RadioSlot::NotStarted;
        }
    }

    /// "Test voice": `text` on the radio with the settings as they are now.
    pub(super) fn test_voice(&mut self, text: String) -> Result<super::TestVoice, String> {
        if !self.enabled() {
            return Err(super::VoiceError::Disabled.to_string());
        }
        self.follow_settings();
        if self.radio().is_none() {
            return Err(self.status().speech);
        }
        let c = Callout::new(text.clone(), Priority::High, Instant::now());
        let id = self.say(CalloutOrigin::Answer, c).ok_or_else(|| "the voice is off".to_string())?;
        let st = self.status();
        Ok(super::TestVoice {
            text,
            engine: st.engine,
            voice_id: self.radio_voice_id.clone(),
            speed: self.settings.speed,
            output: st.output,
            callout_id: id,
        })
    }

    /// Queues a callout (or logs it as text when there is no engine).
    pub(super) fn callout(&mut self, origin: CalloutOrigin, text: String, priority: Priority, topic: Option<&str>) {
        let mut c = Callout::new(text, priority, Instant::now());
        if let Some(t) = topic {
            c = c.topic(t);
        }
        let _ = self.say(origin, c);
    }

    /// Queues `c` on the radio, unless the voice is off or it is about the car while car
    /// callouts are held (then logged as not spoken); logs it. The radio's id when queued.
    pub(super) fn say(&mut self, origin: CalloutOrigin, c: Callout) -> Option<u64> {
        if !self.enabled() {
            return None;
        }
        let (text, priority) = (c.text.clone(), c.priority);
        if origin.is_about_the_car()
            && let Some(held) = self.car_callouts_held()
        {
            // Logged, not spoken: the numbers on screen are not the race's (issue 19).
            tracing::info!(origin = ?origin, "callout held ({}): {text}", held.describe());
            if let Ok(mut l) = self.log.lock() {
                let detail = Some(format!("not spoken: {}", held.describe()));
                push_bounded(
                    &mut l.callouts,
                    CalloutEntry {
                        id: 0,
                        at: chrono::Utc::now(),
                        origin,
                        text,
                        priority,
                        state: CalloutState::Dropped,
                        detail,
                        fallback: None,
                        started_after_ms: None,
                    },
                );
            }
            return None;
        }
        if !matches!(origin, CalloutOrigin::Spotter | CalloutOrigin::Cue) {
            // "Say again" repeats the engineer, not the spotter or a cue (stale a corner later).
            self.engineer.said(&text);
        }
        let (id, state, detail) = match self.radio() {
            Some(r) => (r.say(c), CalloutState::Queued, None),
            None => (0, CalloutState::TextOnly, Some(self.status().speech)),
        };
        let queued = (state == CalloutState::Queued).then_some(id);
        tracing::info!(origin = ?origin, %priority, "callout: {text}");
        if let Ok(mut l) = self.log.lock() {
            push_bounded(
                &mut l.callouts,
                CalloutEntry {
                    id,
                    at: chrono::Utc::now(),
                    origin,
                    text,
                    priority,
                    state,
                    detail,
                    fallback: None,
                    started_after_ms: None,
                },
            );
        }
        queued
    }

    pub(super) fn radio_events(&mut self) {
        self.fallback_notes();
        let RadioSlot::Running(r) = &self.radio else { return };
        let events = r.take_events();
        if events.is_empty() {
            return;
        }
        let Ok(mut l) = self.log.lock() else { return };
        let mut spotter_latencies = Vec::new();
        let mut cue_events = Vec::new();
        for e in events {
            let mut after = None;
            let (id, state, detail) = match e {
                RadioEvent::Started { id, after: a, .. } => {
                    after = Some(a.as_secs_f64() * 1_000.0);
                    (id, CalloutState::Speaking, None)
                }
                RadioEvent::Finished { id, .. } => (id, CalloutState::Spoken, None),
                RadioEvent::Interrupted { id, played, .. } => {
                    (id, CalloutState::Interrupted, Some(format!("cut after {played:.1} s")))
                }
                RadioEvent::Dropped { id, reason, .. } => (id, CalloutState::Dropped, Some(reason.to_string())),
                RadioEvent::Failed { id, error } => {
                    tracing::warn!(error = %error, "callout failed");
                    (id, CalloutState::Failed, Some(error))
                }
            };
            if let Some(c) = l.callouts.iter_mut().rev().find(|c| c.id == id && id != 0) {
                if c.origin == CalloutOrigin::Cue {
                    cue_events.push((id, state));
                }
                c.state = state;
                c.detail = detail;
                if let Some(ms) = after {
                    c.started_after_ms = Some(ms);
                    if c.origin == CalloutOrigin::Spotter {
                        spotter_latencies.push(ms);
                    }
                }
            }
        }
        drop(l);
        for (id, state) in cue_events {
            self.cue_event(id, state);
        }
        if !spotter_latencies.is_empty() {
            self.set_status(|s| {
                for ms in spotter_latencies {
                    s.spotter.spoken += 1;
                    s.spotter.last_latency_ms = Some(ms);
                    s.spotter.max_latency_ms = Some(s.spotter.max_latency_ms.map_or(ms, |m: f64| m.max(ms)));
                }
            });
        }
    }
}

impl Worker {
    /// The cloud voice's fallbacks into the callouts' entries and the status.
    fn fallback_notes(&mut self) {
        let Some(f) = self.fallback.clone() else { return };
        let local = f.secondary_id().unwrap_or("no local engine");
        let speech = match f.failing() {
            None => "ready".to_string(),
            Some(why) => format!("the cloud's voice is unavailable ({why}): speaking with {local}"),
        };
        self.set_status(|s| s.speech = speech);
        let notes = f.take_notes();
        if notes.is_empty() {
            return;
        }
        let Ok(mut l) = self.log.lock() else { return };
        for n in notes {
            let what = match n.spoken_by {
                Some(by) => format!("spoken by {by}: the cloud's voice failed: {}", n.why),
                None => format!("not spoken: the cloud's voice failed: {}", n.why),
            };
            tracing::warn!("callout {what}");
            if let Some(c) = l.callouts.iter_mut().rev().find(|c| c.id != 0 && c.text == n.text && c.fallback.is_none())
            {
                c.fallback = Some(what);
            }
        }
    }
}

/// The espeak-ng voice for the config's `voiceId`: one of PitBox's voices by id, `default` for
/// the engineer, else the id as an espeak-ng voice name.
pub fn espeak_voice(voice_id: &str) -> String {
    let id = if voice_id.is_empty() || voice_id == "default" { pitbox_voice::service::DEFAULT_VOICE } else { voice_id };
    espeak_voices().into_iter().find(|v| v.id == id).map_or_else(|| id.to_string(), |v| v.engine_voice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voice_ids_map_to_espeak_voices() {
        assert_eq!(espeak_voice("default"), "en-us");
        assert_eq!(espeak_voice("engineer-uk"), "en-gb");
        assert_eq!(espeak_voice("en-gb-scotland"), "en-gb-scotland");
    }
}
