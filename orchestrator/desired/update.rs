//! How a service's diverged replicas are replaced: `deploy.update_config`, with swarm's
//! defaults for the keys it leaves out.

use std::time::Duration;

use crate::spec::model::Service;
pub use crate::spec::model::{FailureAction, UpdateOrder};

/// Swarm's default `monitor`: how long a new replica must keep running to count as updated.
const DEFAULT_MONITOR: Duration = Duration::from_secs(5);

/// A rolling update, resolved: every key has its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdatePolicy {
    /// Replicas replaced per batch; 0 replaces them all in one batch.
    pub parallelism: u64,
    /// Between the end of one batch and the start of the next.
    pub delay: Duration,
    pub order: UpdateOrder,
    /// How long each new replica is watched once it runs (and is healthy); an exit or an
    /// `unhealthy` in that time is a failure of that replica.
    pub monitor: Duration,
    pub failure_action: FailureAction,
    /// The fraction of the updated replicas that may fail before `failure_action` applies.
    pub max_failure_ratio: f64,
}

impl UpdatePolicy {
    /// `None` without `deploy.update_config`: `up` then replaces every replica at once, as
    /// compose does.
    pub fn from_service(service: &Service) -> Option<UpdatePolicy> {
        let config = service.deploy.as_ref()?.update_config.as_ref()?;
        Some(UpdatePolicy {
            parallelism: config.parallelism.unwrap_or(1),
            delay: config.delay.unwrap_or_default().0,
            order: config.order.unwrap_or(UpdateOrder::StopFirst),
            monitor: config.monitor.map_or(DEFAULT_MONITOR, |m| m.0),
            failure_action: config.failure_action.unwrap_or(FailureAction::Pause),
            max_failure_ratio: config.max_failure_ratio.unwrap_or(0.0),
        })
    }

    /// How many of `updated` replicas may fail before `failure_action` applies: swarm acts
    /// when failed / updated > max_failure_ratio.
    pub fn tolerated_failures(&self, updated: usize) -> usize {
        let ratio = self.max_failure_ratio.clamp(0.0, 1.0);
        // The epsilon keeps 0.2 × 5 at 1 despite binary fractions.
        (ratio * updated as f64 + 1e-9).floor() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ratio: f64) -> UpdatePolicy {
        UpdatePolicy {
            parallelism: 1,
            delay: Duration::ZERO,
            order: UpdateOrder::StopFirst,
            monitor: DEFAULT_MONITOR,
            failure_action: FailureAction::Pause,
            max_failure_ratio: ratio,
        }
    }

    #[test]
    fn tolerated_failures_follow_swarms_strict_comparison() {
        assert_eq!(policy(0.0).tolerated_failures(5), 0);
        assert_eq!(policy(0.2).tolerated_failures(5), 1, "1/5 is not > 0.2");
        assert_eq!(policy(0.3).tolerated_failures(5), 1);
        assert_eq!(policy(0.5).tolerated_failures(3), 1);
        assert_eq!(policy(1.0).tolerated_failures(3), 3);
        assert_eq!(
            policy(7.0).tolerated_failures(3),
            3,
            "clamped to every replica"
        );
    }
}
