//! When a burst of events has arrived and a plan may be made for it: `SETTLE` after its last
//! event, or, while replicas sent a SIGKILL have not reported their `die` yet, once they have.
//!
//! A `docker kill` of many replicas reaches the supervisor as every `kill` event at once, then
//! the `die` events spread over up to a second while the engine reaps the processes (50
//! replicas: 0.8 s on the 2-core test machine). Planned `SETTLE` after the first `die`, the
//! restarts of the others waited for that plan to end, and its one start is slow while the
//! engine cleans up after the rest (2.5–4 s); a SIGKILL always ends the process, so the
//! supervisor waits for those `die` events and restarts the whole burst in one plan.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// How long a burst of events is gathered before a plan is made.
pub(super) const SETTLE: Duration = Duration::from_millis(30);
/// How long after a SIGKILL its `die` is waited for, at most: a lost event (the stream
/// reopened meanwhile) holds no plan back for longer.
const DIE_LIMIT: Duration = Duration::from_secs(2);

/// The signal whose `kill` event is always followed by a `die`.
const SIGKILL: i32 = 9;

/// The replicas sent a SIGKILL that have not died yet, by container ID, with when the kill
/// was taken in.
#[derive(Default)]
pub(super) struct Burst {
    dying: HashMap<String, Instant>,
}

impl Burst {
    /// A `kill` event, with its signal, of a container the supervisor is not stopping itself.
    pub fn killed(&mut self, id: &str, signal: Option<i32>, now: Instant) {
        if signal == Some(SIGKILL) {
            self.dying.insert(id.to_string(), now);
        }
    }

    /// The container died or is gone: nothing more to wait for from it.
    pub fn ended(&mut self, id: &str) {
        self.dying.remove(id);
    }

    /// When a plan for the events so far may be made: `SETTLE` from `now`, or later, when a
    /// replica sent a SIGKILL has not died yet (at most `DIE_LIMIT` after its kill). The
    /// trigger takes the earliest time it is given, so the `die` that ends the burst brings the
    /// plan to `SETTLE` after it.
    pub fn settled_at(&mut self, now: Instant) -> Instant {
        self.dying.retain(|_, killed| now < *killed + DIE_LIMIT);
        let last_die = self.dying.values().max().map(|killed| *killed + DIE_LIMIT);
        last_die.map_or(now + SETTLE, |limit| limit.max(now + SETTLE))
    }

    /// The event stream was reopened: the `die` events awaited may be lost.
    pub fn forget(&mut self) {
        self.dying.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_kill_a_burst_settles_after_settle() {
        let now = Instant::now();
        assert_eq!(Burst::default().settled_at(now), now + SETTLE);
    }

    #[test]
    fn a_sigkill_holds_the_plan_until_its_die_at_most_the_limit() {
        let now = Instant::now();
        let mut burst = Burst::default();
        burst.killed("a", Some(SIGKILL), now);
        burst.killed("b", Some(SIGKILL), now);
        let later = now + Duration::from_millis(300);
        assert_eq!(burst.settled_at(later), now + DIE_LIMIT);
        burst.ended("a");
        assert_eq!(burst.settled_at(later), now + DIE_LIMIT, "b has not died");
        burst.ended("b");
        assert_eq!(burst.settled_at(later), later + SETTLE);
    }

    #[test]
    fn a_signal_that_may_not_end_the_process_holds_nothing() {
        let now = Instant::now();
        let mut burst = Burst::default();
        burst.killed("a", Some(15), now);
        burst.killed("b", None, now);
        assert_eq!(burst.settled_at(now), now + SETTLE);
    }

    #[test]
    fn a_die_that_never_comes_holds_no_plan_after_the_limit() {
        let now = Instant::now();
        let mut burst = Burst::default();
        burst.killed("a", Some(SIGKILL), now);
        let after = now + DIE_LIMIT;
        assert_eq!(burst.settled_at(after), after + SETTLE);
        burst.killed("b", Some(SIGKILL), now);
        burst.forget();
        assert_eq!(burst.settled_at(now), now + SETTLE);
    }
}
