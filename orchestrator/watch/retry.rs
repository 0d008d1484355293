//! Syncs that failed (a replica restarting, the engine not answering for a moment), tried
//! again: a save is not lost because its one sync failed. Each is tried again after [`DELAY`],
//! at most [`ATTEMPTS`] times in all; a later save of the same files syncs them anyway.

use std::time::Duration;

use tokio::time::Instant;

use super::change::SyncBatch;

/// How long a failed sync waits before it is tried again.
pub const DELAY: Duration = Duration::from_secs(1);

/// How many times a sync is tried in all.
pub const ATTEMPTS: u32 = 5;

/// A sync of one service's files that failed, and how many times it was tried.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedSync {
    pub subject: String,
    pub service: String,
    pub batches: Vec<SyncBatch>,
    pub attempts: u32,
}

/// The failed syncs waiting for their next try.
#[derive(Debug, Default)]
pub struct Retries {
    waiting: Vec<(Instant, FailedSync)>,
}

impl Retries {
    /// Queues `failed` for another try after [`DELAY`]; `false` when it has had its
    /// [`ATTEMPTS`].
    pub fn add(&mut self, failed: FailedSync) -> bool {
        if failed.attempts >= ATTEMPTS {
            return false;
        }
        self.waiting.push((Instant::now() + DELAY, failed));
        true
    }

    /// Waits until a sync is due, and takes those that are; never ends while none waits.
    /// Cancelled before then, it takes nothing.
    pub async fn due(&mut self) -> Vec<FailedSync> {
        let Some(first) = self.waiting.iter().map(|(at, _)| *at).min() else {
            return std::future::pending().await;
        };
        tokio::time::sleep_until(first).await;
        let now = Instant::now();
        let (due, later) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.waiting = later;
        due.into_iter().map(|(_, failed)| failed).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(attempts: u32) -> FailedSync {
        FailedSync {
            subject: "web: index.html changed".to_string(),
            service: "web".to_string(),
            batches: Vec::new(),
            attempts,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_sync_is_due_after_the_delay_and_not_before_until_its_attempts_are_used() {
        let mut retries = Retries::default();
        assert!(retries.add(failed(1)));
        let start = Instant::now();
        let due = retries.due().await;
        assert_eq!(due, vec![failed(1)]);
        assert_eq!(start.elapsed(), DELAY);
        assert!(!retries.add(failed(ATTEMPTS)), "its attempts are used up");
        let nothing = tokio::time::timeout(DELAY * 10, retries.due()).await;
        assert!(nothing.is_err(), "nothing waits: never due");
    }
}
