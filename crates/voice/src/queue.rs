//! The callout queue's rules, with time passed in so they can be tested exactly:
//!
//! - **priority**: urgent before high before normal before low; first come, first served within a
//!   priority;
//! - **interruption**: an urgent callout stops a non-urgent one that is playing (the interrupted
//!   one goes back to the queue if it is still fresh, except low ones, which are dropped);
//! - **low waits**: a low callout plays only when nothing else is queued and the radio has been
//!   quiet for [`QueueConfig::low_quiet`];
//! - **expiry**: every callout has a deadline (by default by priority: a fuel call from three
//!   corners ago is worthless); expired ones are dropped, never played;
//! - **one voice**: nothing starts while something plays;
//! - **replacement**: a callout with the same `topic` as a queued one replaces it (the newer fuel
//!   number wins); an urgent one also cuts an urgent callout on its topic that is playing, which
//!   is then not said again ("clear left" over a "car left" still being said).

use std::time::{Duration, Instant};

use pitbox_model::Priority;

/// One thing the engineer wants to say.
#[derive(Debug, Clone, PartialEq)]
pub struct Callout {
    /// Set by the queue when pushed.
    pub id: u64,
    /// What to say.
    pub text: String,
    pub priority: Priority,
    /// When it was made.
    pub created: Instant,
    /// Not played after this instant.
    pub expires: Instant,
    /// Callouts on the same topic (e.g. `fuel`) replace each other while queued.
    pub topic: Option<String>,
    /// Audio made beforehand (the spotter's calls, synthesised at start-up): played as it is,
    /// with no synthesis and no chime, so it starts as soon as the radio is free.
    pub clip: Option<std::sync::Arc<crate::audio::Audio>>,
}

/// How long a callout stays worth saying, by priority, when its maker sets no deadline.
pub fn default_max_age(priority: Priority) -> Duration {
    match priority {
        Priority::Urgent => Duration::from_secs(5),
        Priority::High => Duration::from_secs(8),
        Priority::Normal => Duration::from_secs(12),
        Priority::Low => Duration::from_secs(30),
    }
}

impl Callout {
    /// A callout made `now` with the default deadline for its priority.
    pub fn new(text: impl Into<String>, priority: Priority, now: Instant) -> Self {
        Self {
            id: 0,
            text: text.into(),
            priority,
            created: now,
            expires: now + default_max_age(priority),
            topic: None,
            clip: None,
        }
    }

    /// The same callout played from `clip` (see [`Callout::clip`](Callout#structfield.clip)).
    pub fn with_clip(mut self, clip: std::sync::Arc<crate::audio::Audio>) -> Self {
        self.clip = Some(clip);
        self
    }

    /// The same callout with a deadline `max_age` after its making.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.expires = self.created + max_age;
        self
    }

    /// The same callout on `topic`.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Whether it is past its deadline at `now`.
    pub fn is_stale(&self, now: Instant) -> bool {
        now >= self.expires
    }
}

fn rank(p: Priority) -> u8 {
    match p {
        Priority::Urgent => 3,
        Priority::High => 2,
        Priority::Normal => 1,
        Priority::Low => 0,
    }
}

/// Queue settings.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Quiet time a low callout waits for.
    pub low_quiet: Duration,
    /// Most callouts waiting; past it the lowest-priority oldest one is dropped.
    pub max_pending: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self { low_quiet: Duration::from_secs(3), max_pending: 32 }
    }
}

/// What happened to a pushed callout.
#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    /// Waiting its turn (id given).
    Queued(u64),
    /// Waiting, in place of a queued callout on the same topic (the old id).
    Replaced { id: u64, replaced: u64 },
    /// Urgent: the player must stop the callout playing now (its id); this one plays next.
    Interrupt { id: u64, interrupted: u64 },
    /// Already stale when pushed.
    Expired(u64),
}

/// Why a callout was dropped without (fully) playing.
#[derive(Debug, Clone, PartialEq)]
pub enum Dropped {
    /// Past its deadline.
    Expired(Callout),
    /// Replaced by a newer callout on the same topic.
    Replaced(Callout),
    /// The queue was full.
    Overflow(Callout),
    /// Interrupted and not worth replaying (low priority, or stale).
    Interrupted(Callout),
}

/// The queue: what waits, what plays.
#[derive(Debug)]
pub struct CalloutQueue {
    config: QueueConfig,
    pending: Vec<Callout>,
    playing: Option<Callout>,
    quiet_since: Option<Instant>,
    next_id: u64,
    dropped: Vec<Dropped>,
    /// The playing callout, cut by a newer one on its topic: dropped, not said again.
    superseded: Option<u64>,
}

impl Default for CalloutQueue {
    fn default() -> Self {
        Self::new(QueueConfig::default())
    }
}

impl CalloutQueue {
    /// An empty queue.
    pub fn new(config: QueueConfig) -> Self {
        Self {
            config,
            pending: Vec::new(),
            playing: None,
            quiet_since: None,
            next_id: 1,
            dropped: Vec::new(),
            superseded: None,
        }
    }

    /// Adds a callout at `now`. A callout whose `id` is still 0 gets the next id; one that
    /// carries an id (the [`crate::radio::Radio`] numbers callouts as they are said, so callers
    /// can follow them) keeps it.
    pub fn push(&mut self, mut c: Callout, now: Instant) -> PushOutcome {
        if c.id == 0 {
            c.id = self.next_id;
        }
        self.next_id = self.next_id.max(c.id + 1);
        let id = c.id;
        if c.is_stale(now) {
            self.dropped.push(Dropped::Expired(c));
            return PushOutcome::Expired(id);
        }
        let mut replaced = None;
        if let Some(topic) = &c.topic
            && let Some(i) = self.pending.iter().position(|p| p.topic.as_ref() == Some(topic))
        {
            let old = self.pending.remove(i);
            replaced = Some(old.id);
            self.dropped.push(Dropped::Replaced(old));
        }
        let interrupt = match &self.playing {
            Some(p) if c.priority == Priority::Urgent && p.priority != Priority::Urgent => Some(p.id),
            Some(p) if c.priority == Priority::Urgent && c.topic.is_some() && p.topic == c.topic => {
                self.superseded = Some(p.id);
                Some(p.id)
            }
            _ => None,
        };
        self.pending.push(c);
        if self.pending.len() > self.config.max_pending {
            // Drop the oldest of the lowest priority.
            if let Some(i) = (0..self.pending.len()).min_by_key(|&i| (rank(self.pending[i].priority), i)) {
                let d = self.pending.remove(i);
                self.dropped.push(Dropped::Overflow(d));
            }
        }
        match (interrupt, replaced) {
            (Some(interrupted), _) => PushOutcome::Interrupt { id, interrupted },
            (None, Some(replaced)) => PushOutcome::Replaced { id, replaced },
            (None, None) => PushOutcome::Queued(id),
        }
    }

    /// The callout to play now, if any: nothing while one plays; expired ones are dropped on the
    /// way. The returned callout counts as playing until [`CalloutQueue::finished`].
    pub fn next(&mut self, now: Instant) -> Option<Callout> {
        if self.playing.is_some() {
            return None;
        }
        self.expire(now);
        let best = (0..self.pending.len()).max_by_key(|&i| (rank(self.pending[i].priority), std::cmp::Reverse(i)))?;
        let c = &self.pending[best];
        if c.priority == Priority::Low {
            let quiet_for = self.quiet_since.map(|t| now.saturating_duration_since(t)).unwrap_or(Duration::MAX);
            if quiet_for < self.config.low_quiet {
                return None;
            }
        }
        let c = self.pending.remove(best);
        self.playing = Some(c.clone());
        Some(c)
    }

    /// The playing callout ended at `now` (played through or stopped).
    pub fn finished(&mut self, id: u64, now: Instant) {
        if self.playing.as_ref().is_some_and(|p| p.id == id) {
            self.playing = None;
            self.superseded = None;
            self.quiet_since = Some(now);
        }
    }

    /// The playing callout was stopped by an urgent one at `now`: it goes back to the front of
    /// its priority if still fresh and not low, otherwise it is dropped (and so is one a newer
    /// callout on its topic cut).
    pub fn interrupted(&mut self, id: u64, now: Instant) {
        let Some(p) = self.playing.take_if(|p| p.id == id) else {
            return;
        };
        self.quiet_since = Some(now);
        if self.superseded.take() == Some(id) {
            self.dropped.push(Dropped::Replaced(p));
        } else if p.priority == Priority::Low || p.is_stale(now) {
            self.dropped.push(Dropped::Interrupted(p));
        } else {
            self.pending.insert(0, p);
        }
    }

    /// Drops every expired waiting callout.
    pub fn expire(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].is_stale(now) {
                let d = self.pending.remove(i);
                self.dropped.push(Dropped::Expired(d));
            } else {
                i += 1;
            }
        }
    }

    /// What plays now.
    pub fn playing(&self) -> Option<&Callout> {
        self.playing.as_ref()
    }

    /// What waits, in no particular order.
    pub fn pending(&self) -> &[Callout] {
        &self.pending
    }

    /// Takes the record of dropped callouts.
    pub fn take_dropped(&mut self) -> Vec<Dropped> {
        std::mem::take(&mut self.dropped)
    }

    /// When the next waiting callout may become playable (for a player's sleep): the earliest
    /// of "a low callout's quiet time is over" and "now" when anything else waits.
    pub fn wake_at(&self, now: Instant) -> Option<Instant> {
        if self.playing.is_some() || self.pending.is_empty() {
            return None;
        }
        if self.pending.iter().any(|c| c.priority != Priority::Low) {
            return Some(now);
        }
        Some(self.quiet_since.map(|t| t + self.config.low_quiet).unwrap_or(now).max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn priority_order_and_fifo_within_a_priority() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("n1", Priority::Normal, t0), t0);
        q.push(Callout::new("h1", Priority::High, t0), t0);
        q.push(Callout::new("n2", Priority::Normal, t0), t0);
        q.push(Callout::new("u1", Priority::Urgent, t0), t0);
        let mut order = Vec::new();
        let mut t = t0;
        while let Some(c) = q.next(t) {
            order.push(c.text.clone());
            assert!(q.next(t).is_none(), "nothing starts while one plays");
            t += Duration::from_millis(500);
            q.finished(c.id, t);
        }
        assert_eq!(order, ["u1", "h1", "n1", "n2"]);
    }

    #[test]
    fn an_urgent_callout_cuts_an_urgent_one_on_its_topic_which_is_not_said_again() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("car left", Priority::Urgent, t0).topic("left"), t0);
        let playing = q.next(t0).unwrap();
        // Another topic waits its turn.
        assert!(matches!(
            q.push(Callout::new("car right", Priority::Urgent, t0).topic("right"), t0),
            PushOutcome::Queued(_)
        ));
        let out = q.push(Callout::new("clear left", Priority::Urgent, t0).topic("left"), at(t0, 300));
        assert!(matches!(out, PushOutcome::Interrupt { interrupted, .. } if interrupted == playing.id), "{out:?}");
        q.interrupted(playing.id, at(t0, 305));
        assert!(matches!(q.take_dropped().as_slice(), [Dropped::Replaced(c)] if c.text == "car left"));
        let mut order = Vec::new();
        while let Some(c) = q.next(at(t0, 310)) {
            order.push(c.text.clone());
            q.finished(c.id, at(t0, 310));
        }
        assert_eq!(order, ["car right", "clear left"]);
    }

    #[test]
    fn low_waits_for_quiet_and_for_everything_else() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("low", Priority::Low, t0), t0);
        q.push(Callout::new("normal", Priority::Normal, t0), t0);
        let c = q.next(t0).unwrap();
        assert_eq!(c.text, "normal");
        q.finished(c.id, at(t0, 1_000));
        // Quiet for 1 s only: low still waits.
        assert!(q.next(at(t0, 2_000)).is_none());
        assert_eq!(q.wake_at(at(t0, 2_000)), Some(at(t0, 4_000)));
        assert_eq!(q.next(at(t0, 4_000)).unwrap().text, "low");
    }

    #[test]
    fn stale_callouts_expire_and_never_play() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("fuel: 3 laps", Priority::Normal, t0).max_age(Duration::from_secs(2)), t0);
        q.push(Callout::new("long one", Priority::High, t0), t0);
        let c = q.next(t0).unwrap();
        assert_eq!(c.text, "long one");
        q.finished(c.id, at(t0, 3_000));
        assert!(q.next(at(t0, 3_000)).is_none());
        let dropped = q.take_dropped();
        assert!(matches!(&dropped[..], [Dropped::Expired(c)] if c.text == "fuel: 3 laps"));
        // Stale on arrival.
        let old = Callout::new("old", Priority::Normal, t0).max_age(Duration::from_millis(10));
        assert_eq!(q.push(old, at(t0, 20)), PushOutcome::Expired(3));
    }

    #[test]
    fn urgent_interrupts_normal_which_replays_if_fresh() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("gap ahead 1.2", Priority::Normal, t0), t0);
        let playing = q.next(t0).unwrap();
        let out = q.push(Callout::new("yellow flag", Priority::Urgent, at(t0, 300)), at(t0, 300));
        assert_eq!(out, PushOutcome::Interrupt { id: 2, interrupted: playing.id });
        q.interrupted(playing.id, at(t0, 310));
        assert_eq!(q.next(at(t0, 310)).unwrap().text, "yellow flag");
        q.finished(2, at(t0, 1_500));
        assert_eq!(q.next(at(t0, 1_500)).unwrap().text, "gap ahead 1.2");
    }

    #[test]
    fn urgent_does_not_interrupt_urgent_and_high_does_not_interrupt() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("u1", Priority::Urgent, t0), t0);
        q.next(t0).unwrap();
        assert_eq!(q.push(Callout::new("u2", Priority::Urgent, t0), t0), PushOutcome::Queued(2));
        q.finished(1, at(t0, 100));
        q.push(Callout::new("n", Priority::Normal, t0), t0);
        assert_eq!(q.next(at(t0, 100)).unwrap().text, "u2");
        q.finished(2, at(t0, 200));
        q.next(at(t0, 200)).unwrap();
        assert_eq!(q.push(Callout::new("h", Priority::High, t0), at(t0, 250)), PushOutcome::Queued(4));
    }

    #[test]
    fn interrupted_low_is_dropped() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("tip", Priority::Low, t0), t0);
        let c = q.next(t0).unwrap();
        q.push(Callout::new("box now", Priority::Urgent, t0), t0);
        q.interrupted(c.id, t0);
        assert_eq!(q.next(t0).unwrap().text, "box now");
        assert!(matches!(&q.take_dropped()[..], [Dropped::Interrupted(c)] if c.text == "tip"));
    }

    #[test]
    fn same_topic_replaces_the_queued_one() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::default();
        q.push(Callout::new("fuel for 5 laps", Priority::Normal, t0).topic("fuel"), t0);
        let out = q.push(Callout::new("fuel for 4 laps", Priority::Normal, t0).topic("fuel"), at(t0, 10));
        assert_eq!(out, PushOutcome::Replaced { id: 2, replaced: 1 });
        assert_eq!(q.next(at(t0, 10)).unwrap().text, "fuel for 4 laps");
        assert!(q.next(at(t0, 10)).is_none());
    }

    #[test]
    fn overflow_drops_the_oldest_lowest() {
        let t0 = Instant::now();
        let mut q = CalloutQueue::new(QueueConfig { max_pending: 2, ..Default::default() });
        q.push(Callout::new("low", Priority::Low, t0), t0);
        q.push(Callout::new("n1", Priority::Normal, t0), t0);
        q.push(Callout::new("n2", Priority::Normal, t0), t0);
        assert!(matches!(&q.take_dropped()[..], [Dropped::Overflow(c)] if c.text == "low"));
        assert_eq!(q.pending().len(), 2);
    }
}
