//! When the supervisor reconciles next, and what for (kube-runtime's scheduler, in small): one
//! pending trigger per service or for the whole project, each at its due time. A burst of
//! events for one service is one trigger, due once the burst has had time to arrive. A service
//! whose plan failed is retried after a delay that doubles with each failure in a row, and is
//! held out of the plans made meanwhile for the others, which it would otherwise fail again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

/// What a trigger is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Everything: a resync, a restart's backoff ending, a removed network.
    Project,
    Service(String),
}

/// The first retry after a failure; doubled on each failure in a row.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The longest wait before a retry: the resync's period, which bounded it before there were
/// backoffs.
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// The targets due now, taken from the queue at once: one reconcile serves them all.
#[derive(Debug, Default, PartialEq)]
pub struct Due {
    pub project: bool,
    pub services: BTreeSet<String>,
}

#[derive(Default)]
pub struct Triggers {
    pending: BTreeMap<Target, Instant>,
    /// Per target, the delay of its next retry and when it may be planned for again.
    failing: HashMap<Target, Retry>,
}

#[derive(Debug, Clone, Copy)]
struct Retry {
    delay: Duration,
    at: Instant,
}

impl Triggers {
    /// Asks for a reconcile of `target` at `at`, or at its earlier pending time; a failing
    /// target waits for its retry.
    pub fn schedule(&mut self, target: Target, at: Instant) {
        let at = match self.failing.get(&target) {
            Some(retry) => at.max(retry.at),
            None => at,
        };
        let pending = self.pending.entry(target).or_insert(at);
        *pending = (*pending).min(at);
    }

    /// Sets when the project is reconciled next, whatever was pending for it.
    pub fn reschedule_project(&mut self, at: Instant) {
        self.pending.remove(&Target::Project);
        self.schedule(Target::Project, at);
    }

    /// When the next trigger is due; none when nothing is pending.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.values().min().copied()
    }

    /// Takes every trigger due at `now`.
    pub fn take_due(&mut self, now: Instant) -> Due {
        let due: Vec<Target> = self
            .pending
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(target, _)| target.clone())
            .collect();
        let mut taken = Due::default();
        for target in due {
            self.pending.remove(&target);
            match target {
                Target::Project => taken.project = true,
                Target::Service(service) => {
                    taken.services.insert(service);
                }
            }
        }
        taken
    }

    /// The services waiting for a retry at `now`: the plans made meanwhile leave them out.
    pub fn held(&self, now: Instant) -> BTreeSet<String> {
        self.failing
            .iter()
            .filter(|(_, retry)| retry.at > now)
            .filter_map(|(target, _)| match target {
                Target::Service(service) => Some(service.clone()),
                Target::Project => None,
            })
            .collect()
    }

    /// `target`'s plan failed at `now`: it is retried after a longer delay than last time.
    pub fn failed(&mut self, target: Target, now: Instant) -> Duration {
        let delay = match self.failing.get(&target) {
            Some(retry) => (retry.delay * 2).min(LONGEST_RETRY),
            None => FIRST_RETRY,
        };
        let at = now + delay;
        self.failing.insert(target.clone(), Retry { delay, at });
        self.pending.insert(target, at);
        delay
    }

    /// `target`'s plan succeeded: its next failure starts the delays again.
    pub fn succeeded(&mut self, target: &Target) {
        self.failing.remove(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Target {
        Target::Service("web".into())
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_for_one_service_is_one_trigger_at_its_first_time() {
        let mut triggers = Triggers::default();
        let now = Instant::now();
        let settle = Duration::from_millis(30);
        triggers.schedule(web(), now + settle);
        triggers.schedule(web(), now + settle * 2);
        triggers.schedule(web(), now + settle * 3);
        assert_eq!(triggers.next_due(), Some(now + settle));
        assert_eq!(triggers.take_due(now), Due::default());
        let due = triggers.take_due(now + settle);
        assert_eq!(due.services, BTreeSet::from(["web".to_string()]));
        assert_eq!(triggers.next_due(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_in_a_row_wait_longer_up_to_the_resync_period() {
        let mut triggers = Triggers::default();
        let now = Instant::now();
        let delays: Vec<Duration> = (0..7).map(|_| triggers.failed(web(), now)).collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 5000, 5000].map(Duration::from_millis)
        );
        triggers.succeeded(&web());
        assert_eq!(triggers.failed(web(), now), FIRST_RETRY);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_service_is_held_until_its_retry_and_the_others_are_not() {
        let mut triggers = Triggers::default();
        let now = Instant::now();
        triggers.failed(web(), now);
        triggers.schedule(web(), now);
        triggers.schedule(Target::Service("db".into()), now);
        let due = triggers.take_due(now);
        assert_eq!(due.services, BTreeSet::from(["db".to_string()]));
        assert_eq!(triggers.held(now), BTreeSet::from(["web".to_string()]));
        let retry = now + FIRST_RETRY;
        assert_eq!(triggers.next_due(), Some(retry));
        assert!(triggers.held(retry).is_empty());
        assert_eq!(
            triggers.take_due(retry).services,
            BTreeSet::from(["web".to_string()])
        );
    }
}
