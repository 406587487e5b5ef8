//! The recogniser and turning recognised commands into the engineer's answers and messages to
//! the relay (`team_message`, `handoff_request`, `handoff_response`).

use super::log::push_bounded;
use super::{CalloutOrigin, CommandEntry, Job, VoiceError, Worker};
use pitbox_model::team::HandoffRequest;
use pitbox_model::{HandoffStatus, Message, Priority, Urgency};
use pitbox_voice::engineer::team_message;
use pitbox_voice::{Action, CommandRecognizer, EspeakNg, Recognition, RecognizerConfig};
use std::sync::atomic::Ordering;

impl Worker {
    /// The recogniser, loaded at the first command (again when the sensitivity changes).
    fn recognizer(&mut self) -> Result<&mut CommandRecognizer, String> {
        let sensitivity = self.shared.config.borrow().voice.sensitivity;
        let stale = match &self.recognizer {
            Some(Ok((_, s))) => (*s - sensitivity).abs() > 1e-9,
            Some(Err(_)) => false,
            None => true,
        };
        if stale {
            let r = CommandRecognizer::new(RecognizerConfig::default().with_sensitivity(sensitivity))
                .map(|mut r| {
                    warm_up(&mut r);
                    (r, sensitivity)
                })
                .map_err(|e| e.to_string());
            match &r {
                Ok(_) => self.set_status(|s| s.recognizer = "ready".into()),
                Err(e) => {
                    tracing::error!("voice commands are off: {e}");
                    let e = e.clone();
                    self.set_status(|s| s.recognizer = e);
                }
            }
            self.recognizer = Some(r);
        }
        match &mut self.recognizer {
            Some(Ok((r, _))) => Ok(r),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not loaded".into()),
        }
    }

    pub(super) fn job(&mut self, job: Job) {
        let (recognition, origin, reply) = match job {
            Job::Audio { audio, origin, reply } => {
                if !self.enabled() {
                    if let Some(r) = reply {
                        let _ = r.send(Err(VoiceError::Disabled.to_string()));
                    }
                    return;
                }
                match self.recognizer().and_then(|r| r.recognize(&audio).map_err(|e| e.to_string())) {
                    Ok(rec) => (rec, origin, reply),
                    Err(e) => {
                        if let Some(r) = reply {
                            let _ = r.send(Err(e));
                        }
                        return;
                    }
                }
            }
            Job::Heard { recognition, origin } => {
                if !self.enabled() {
                    return;
                }
                (recognition, origin, None)
            }
            Job::TestVoice { text, reply } => {
                let _ = reply.send(self.test_voice(text));
                return;
            }
            Job::Spot { calls, at } => {
                self.spot(&calls, at);
                return;
            }
            Job::Cue { report, at } => {
                self.cue(report, at);
                return;
            }
        };
        let entry = self.act(recognition, origin);
        tracing::info!(origin = %entry.origin, command = ?entry.command, answers = ?entry.answers, "voice command");
        if let Ok(mut l) = self.log.lock() {
            push_bounded(&mut l.commands, entry.clone());
        }
        if let Some(r) = reply {
            let _ = r.send(Ok(entry));
        }
    }

    fn next_message_id(&self, kind: &str) -> String {
        let n = self.message_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut id = format!("{}-{kind}-{}-{n}", self.shared.driver_id, chrono::Utc::now().timestamp_millis());
        id.truncate(pitbox_model::validate::MAX_ID_LEN);
        id
    }

    fn driver_name(&self) -> String {
        if let Some(n) = &self.settings.driver_name {
            return n.clone();
        }
        self.shared
            .session
            .borrow()
            .as_ref()
            .and_then(|s| s.drivers.iter().find(|d| d.car_idx == s.player_car_idx).map(|d| d.name.clone()))
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| self.shared.driver_id.clone())
    }

    /// Sends to the relay; the error is for the command's entry.
    fn send(&self, m: Message, sent: &mut Vec<String>) -> Result<(), String> {
        if let Err(e) = m.validate() {
            return Err(format!("{} not sent: {e}", m.type_name()));
        }
        let label = match &m {
            Message::TeamMessage(t) => format!("team_message {}", t.id),
            Message::HandoffRequest(h) => format!("handoff_request {}", h.id),
            Message::HandoffResponse(r) => format!("handoff_response {} {}", r.handoff_id, r.status),
            other => other.type_name().to_string(),
        };
        self.shared.outbox.try_send(m).map_err(|_| format!("{label} not sent: the relay queue is full or closed"))?;
        sent.push(label);
        Ok(())
    }

    /// Carries out a recognised command.
    fn act(&mut self, rec: Recognition, origin: String) -> CommandEntry {
        let mut entry = CommandEntry {
            at: chrono::Utc::now(),
            origin,
            words: rec.words.clone(),
            command: rec.command,
            phrase: rec.command.map(|c| c.phrase()),
            confidence: rec.confidence,
            audio_seconds: rec.audio_seconds,
            decode_ms: rec.decode_seconds * 1000.0,
            answers: Vec::new(),
            sent: Vec::new(),
            error: None,
        };
        let Some(cmd) = rec.command else {
            let text = "Say again.".to_string();
            entry.answers.push(text.clone());
            self.callout(CalloutOrigin::Answer, text, Priority::Normal, None);
            return entry;
        };
        self.refresh_engineer();
        let now = chrono::Utc::now();
        let mut errors = Vec::new();
        let mut replace_answer: Option<String> = None;
        for action in self.engineer.handle(cmd) {
            match action {
                Action::Say { text, priority } => {
                    let text = match replace_answer.take() {
                        Some(t) => {
                            // "Repeat that" says what was said.
                            self.engineer.said(&t);
                            t
                        }
                        None => text,
                    };
                    entry.answers.push(text.clone());
                    self.callout(CalloutOrigin::Answer, text, priority, None);
                }
                Action::SendTeamMessage { content, priority } => {
                    let m = team_message(
                        self.next_message_id("msg"),
                        &content,
                        priority,
                        &self.shared.driver_id,
                        &self.driver_name(),
                        now,
                    );
                    if let Err(e) = self.send(Message::TeamMessage(m), &mut entry.sent) {
                        errors.push(e);
                    }
                }
                Action::RequestHandoff { reason } => match self.settings.handoff_to.clone() {
                    Some(target) => {
                        let h = HandoffRequest {
                            id: self.next_message_id("handoff"),
                            requester_id: self.shared.driver_id.clone(),
                            requester_name: self.driver_name(),
                            target_driver_id: target.id.clone(),
                            target_driver_name: target.name.clone(),
                            reason,
                            urgency: Urgency::Normal,
                            requested_at: now,
                            status: HandoffStatus::Pending,
                            telemetry_snapshot: None,
                            responded_at: None,
                            responder_id: None,
                        };
                        if let Err(e) = self.send(Message::HandoffRequest(h), &mut entry.sent) {
                            errors.push(e);
                        }
                        replace_answer = Some(format!("Copy, handoff to {} requested.", target.name));
                    }
                    None => {
                        // No relief driver configured: the team decides who takes over.
                        let m = team_message(
                            self.next_message_id("msg"),
                            "Driver requests a driver change.",
                            Priority::High,
                            &self.shared.driver_id,
                            &self.driver_name(),
                            now,
                        );
                        if let Err(e) = self.send(Message::TeamMessage(m), &mut entry.sent) {
                            errors.push(e);
                        }
                        replace_answer = Some("Copy, driver change requested from the team.".into());
                    }
                },
                Action::RespondHandoff(r) => {
                    let accepted = (r.status == HandoffStatus::Accepted).then(|| r.handoff_id.clone());
                    self.handoff_answered(&r);
                    match self.send(Message::HandoffResponse(r), &mut entry.sent) {
                        Ok(()) => {
                            if let Some(id) = accepted
                                && let Ok(mut h) = self.shared.accepted_handoff.lock()
                            {
                                *h = Some(id);
                            }
                        }
                        Err(e) => errors.push(e),
                    }
                }
                Action::SetBoxThisLap(b) => self.set_status(|s| s.box_this_lap = b),
                Action::ClearPitStop => {
                    // The same as `POST /api/pit/clear`.
                    let cleared = self.shared.clear_pit_stop(&self.driver_name());
                    match cleared.team {
                        Ok(label) => entry.sent.push(label),
                        Err(e) => errors.push(e),
                    }
                    if !cleared.status.applied {
                        replace_answer = Some("Pit stop not cleared in the sim: clear it yourself.".into());
                    }
                }
            }
        }
        if !errors.is_empty() {
            let text = "Message not sent, the team link is down.".to_string();
            entry.answers.push(text.clone());
            self.callout(CalloutOrigin::Answer, text, Priority::High, None);
            entry.error = Some(errors.join("; "));
        }
        entry
    }
}

/// Decodes two spoken phrases on a fresh recogniser and forgets the results. PocketSphinx adapts
/// its feature normalisation to the speech it has heard, and the driver's first command after
/// start was the one most often lost: over the 18 commands in 3 espeak-ng voices, each the first
/// utterance of a fresh decoder, 49/54 were recognised without a warm-up and 52/54 after this one
/// (`cargo run --release -p pitbox-driver --example first_command`). The phrases are made with
/// espeak-ng when it is installed.
pub fn warm_up(r: &mut CommandRecognizer) {
    let tts = EspeakNg::new();
    for (text, voice) in WARM_UP {
        let speech = tts.synthesize_blocking(&pitbox_voice::SpeechRequest::new(*text, *voice));
        match speech.map(|a| r.recognize(&a)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "recogniser warm-up failed: the first command may be missed");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "no espeak-ng to warm the recogniser up: the first command may be missed");
                return;
            }
        }
    }
}

/// What [`warm_up`] says, in which espeak-ng voice.
pub const WARM_UP: &[(&str, &str)] = &[("radio check", "en-us"), ("fuel status", "en")];
