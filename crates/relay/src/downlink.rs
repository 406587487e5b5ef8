//! What the cloud sends down: team traffic (`ai_coaching`, `team_message`, handoffs, read
//! receipts, session, standings and status) is delivered to the local clients entitled to it
//! through [`pitbox_hub::Hub::deliver`]. The cloud fans out to every subscriber of a team,
//! the relay's own uplink included, so messages that local clients sent come back; the relay
//! remembers what it routed locally ([`Echoes`]) and drops those echoes, so nothing is delivered
//! twice or back to its sender.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pitbox_model::Message;

/// How long a locally routed message is remembered as a possible echo.
const ECHO_TTL: Duration = Duration::from_secs(600);
/// Most remembered messages; the oldest are forgotten first.
const ECHO_CAP: usize = 50_000;

/// The identity of a team message for echo detection: ids where the protocol has them (the
/// cloud may store and re-serialise a message), the whole JSON otherwise.
pub(crate) fn echo_key(msg: &Message) -> Option<String> {
    Some(match msg {
        Message::TeamMessage(m) => format!("team_message:{}", m.id),
        Message::MessageRead(r) => format!("message_read:{}:{}", r.message_id, r.reader_id),
        Message::HandoffRequest(h) => format!("handoff_request:{}:{}", h.id, h.status),
        Message::HandoffResponse(r) => format!("handoff_response:{}:{}:{}", r.handoff_id, r.status, r.responder_id),
        Message::SessionInfo(_) | Message::StandingsUpdate(_) | Message::DriverStatus(_) => msg.to_json(),
        _ => return None,
    })
}

/// Messages routed locally, remembered for a while (bounded).
#[derive(Default)]
pub(crate) struct Echoes {
    inner: Mutex<EchoInner>,
}

#[derive(Default)]
struct EchoInner {
    seen: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
}

impl Echoes {
    fn lock(&self) -> std::sync::MutexGuard<'_, EchoInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Remembers a message a local client sent (and the relay routed locally).
    pub(crate) fn remember(&self, key: String) {
        let now = Instant::now();
        let mut g = self.lock();
        while let Some((t, _)) = g.order.front() {
            if g.order.len() < ECHO_CAP && now.duration_since(*t) < ECHO_TTL {
                break;
            }
            if let Some((t, k)) = g.order.pop_front()
                && g.seen.get(&k) == Some(&t)
            {
                g.seen.remove(&k);
            }
        }
        g.seen.insert(key.clone(), now);
        g.order.push_back((now, key));
    }

    /// Whether `key` was routed locally within the last ten minutes.
    pub(crate) fn is_echo(&self, key: &str) -> bool {
        self.lock().seen.get(key).is_some_and(|t| t.elapsed() < ECHO_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_is_bounded() {
        let e = Echoes::default();
        e.remember("a".into());
        assert!(e.is_echo("a"));
        assert!(!e.is_echo("b"));
        for i in 0..ECHO_CAP + 10 {
            e.remember(format!("k{i}"));
        }
        assert!(!e.is_echo("a"), "the oldest are forgotten beyond the cap");
        assert!(e.is_echo(&format!("k{}", ECHO_CAP + 9)));
        assert!(e.lock().seen.len() <= ECHO_CAP + 1);
    }
}
