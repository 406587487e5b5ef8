//! Received messages turned into callouts: `ai_coaching` (AI coaching), `team_message`,
//! `handoff_request`, handoff answers, the pit wall's request for the driver's screen
//! (`video_request`), and the key points of the team's live plan (`strategy_update`).

use super::{CalloutOrigin, Worker};
use crate::state::AgentEvent;
use pitbox_model::team::HandoffResponse;
use pitbox_model::{HandoffStatus, Message, Priority, Urgency};

/// Longest text spoken for one received message, characters (the full text is in the inbox).
pub const MAX_SPOKEN_CHARS: usize = 300;

impl Worker {
    /// A received message or a handoff answer.
    pub(super) fn event(&mut self, ev: AgentEvent) {
        let me = self.shared.driver_id.clone();
        let ev = match ev {
            AgentEvent::Received(m) => Ok(*m),
            AgentEvent::HandoffAnswered(r) => Err(r),
        };
        match ev {
            Ok(Message::AiCoaching(c)) => {
                if c.driver_id.as_deref().is_some_and(|d| d != me) {
                    return;
                }
                let (text, _) = shorten(&c.feedback, MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::AiCoaching, text, c.priority, None);
            }
            Ok(Message::PitCommand(p)) => {
                if p.driver_id != me {
                    return;
                }
                let applied =
                    self.shared.pit.lock().ok().and_then(|s| s.as_ref().filter(|s| s.id == p.id).map(|s| s.applied));
                let tail = if applied == Some(false) { " Not set in the sim: set it yourself." } else { "" };
                let text = format!("Pit stop set by {}: {}.{tail}", p.sender_name, p.describe());
                let (text, _) = shorten(&text, MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::PitWindow, text, Priority::High, Some("pit-command"));
            }
            Ok(Message::VideoRequest(v)) => {
                if v.driver_id != me {
                    return;
                }
                let text = format!("{} asks for your screen. Answer in your PitBox window.", v.sender_name);
                let (text, _) = shorten(&text, MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::TeamMessage, text, Priority::Normal, Some("video-request"));
            }
            Ok(Message::StrategyUpdate(u)) => {
                for text in self.engineer.on_strategy(&u) {
                    self.callout(CalloutOrigin::PitWindow, text, Priority::High, None);
                }
            }
            Ok(Message::TeamMessage(m)) => {
                // Our own messages come back from the team channel.
                if m.sender_id == me {
                    return;
                }
                let (text, _) = shorten(&format!("From {}: {}", m.sender_name, m.content), MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::TeamMessage, text, m.priority, None);
            }
            Ok(Message::HandoffRequest(h)) => {
                self.engineer.on_handoff_request(&h);
                self.handoffs.insert(h.id.clone(), h.clone());
                if h.requester_id == me || h.status != HandoffStatus::Pending {
                    return;
                }
                let priority = if h.urgency == Urgency::Urgent { Priority::Urgent } else { Priority::High };
                let text = if h.target_driver_id == me {
                    let reason =
                        if h.reason.trim().is_empty() { String::new() } else { format!(": {}", h.reason.trim()) };
                    format!("Handoff request from {}{reason}. Say accept handoff to take it.", h.requester_name)
                } else {
                    format!("{} asks for a driver change to {}.", h.requester_name, h.target_driver_name)
                };
                let (text, _) = shorten(&text, MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::HandoffRequest, text, priority, Some("handoff"));
            }
            Err(r) => {
                self.handoff_answered(&r);
                let text = match r.status {
                    HandoffStatus::Accepted => "Handoff accepted. Driver change at the next stop.",
                    HandoffStatus::Completed => "Driver change done.",
                    HandoffStatus::Rejected => "Handoff rejected.",
                    HandoffStatus::Pending => return,
                };
                self.callout(CalloutOrigin::HandoffAnswer, text.into(), Priority::High, Some("handoff"));
            }
            Ok(_) => {}
        }
    }

    /// The engineer forgets a handoff once it is answered.
    pub(super) fn handoff_answered(&mut self, r: &HandoffResponse) {
        if let Some(mut h) = self.handoffs.remove(&r.handoff_id) {
            h.status = r.status;
            self.engineer.on_handoff_request(&h);
        }
    }
}

/// `text` cut to at most `max` characters at a word boundary, with an ellipsis.
fn shorten(text: &str, max: usize) -> (String, bool) {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() <= max {
        return (t, false);
    }
    let cut: String = t.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a).to_string();
    (format!("{cut}…"), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_a_word() {
        assert_eq!(shorten("  box   this lap ", 100), ("box this lap".into(), false));
        let (s, cut) = shorten("one two three four", 10);
        assert!(cut);
        assert_eq!(s, "one two…");
    }
}
