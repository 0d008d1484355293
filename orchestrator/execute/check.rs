//! `CheckFailures`, the failure count of a rolling update: a control step that makes no engine
//! call. The run counts the watched operations that did not succeed, from the outcomes it has.

use crate::desired::FailureAction;

/// What a count is asked to judge.
pub(super) struct FailureCount<'a> {
    pub service: &'a str,
    pub tolerated: usize,
    /// How many replicas the whole update replaces.
    pub updated: usize,
    pub failure_action: FailureAction,
}

impl FailureCount<'_> {
    /// Fails, naming the service and each failure, when there are more than tolerated.
    /// `failures` are the messages of the watched operations that did not succeed.
    pub fn judge(&self, failures: impl IntoIterator<Item = String>) -> Result<(), String> {
        // The replicas' own messages name the service already; the count names it once.
        let prefix = format!("service {:?}: ", self.service);
        let failures: Vec<String> = failures
            .into_iter()
            .map(|m| m.strip_prefix(&prefix).map(str::to_string).unwrap_or(m))
            .collect();
        if failures.len() <= self.tolerated {
            return Ok(());
        }
        Err(self.update_stopped(&failures))
    }

    /// The service, the failures, and what the failure action leaves.
    fn update_stopped(&self, failures: &[String]) -> String {
        let (what, then) = match self.failure_action {
            FailureAction::Pause => ("paused", ""),
            FailureAction::Rollback => (
                "rolled back",
                "the failed batch runs its old containers again; ",
            ),
            FailureAction::Continue => ("continued", ""),
        };
        format!(
            "service {:?}: update {what}: {} of {} updated replicas failed ({} tolerated): {}; {then}the replicas not updated yet keep the old config",
            self.service,
            failures.len(),
            self.updated,
            self.tolerated,
            failures.join("; "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_tolerates_up_to_its_limit_and_names_each_failure_once_beyond() {
        let count = FailureCount {
            service: "web",
            tolerated: 1,
            updated: 3,
            failure_action: FailureAction::Rollback,
        };
        assert_eq!(count.judge(["service \"web\": one".to_string()]), Ok(()));
        let failed = count.judge(["service \"web\": one".to_string(), "two".to_string()]);
        assert_eq!(
            failed,
            Err("service \"web\": update rolled back: 2 of 3 updated replicas failed (1 tolerated): one; two; the failed batch runs its old containers again; the replicas not updated yet keep the old config".to_string())
        );
    }
}
