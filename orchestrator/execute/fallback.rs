//! What becomes of an operation once everything it waits for is over. Besides `after` (must
//! have succeeded), two kinds of dependency serve rolling updates and stay general: `settled`
//! (must be over, whatever the outcome) and `if_failed`, which makes the operation a fallback
//! that runs only when the operation it names did not succeed (it failed, or was skipped).
//! Otherwise a fallback is not needed, and neither is what only it leads to.

use crate::plan::Operation;

/// How an operation ended, or that it has not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Pending,
    Succeeded,
    Failed,
    /// An operation it needed failed or was skipped.
    Skipped,
    /// A fallback whose operation succeeded, or what only such a fallback led to.
    NotNeeded,
}

impl State {
    fn did_not_succeed(self) -> bool {
        matches!(self, State::Failed | State::Skipped)
    }
}

/// What becomes of an operation whose dependencies are all over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    Runs,
    /// `because` is an operation it needed, which did not succeed.
    Skipped {
        because: usize,
    },
    NotNeeded,
}

pub(super) fn fate<C>(op: &Operation<C>, state: impl Fn(usize) -> State) -> Fate {
    if op.if_failed.is_some_and(|f| !state(f).did_not_succeed()) {
        return Fate::NotNeeded;
    }
    if let Some(&because) = op.after.iter().find(|&&d| state(d).did_not_succeed()) {
        return Fate::Skipped { because };
    }
    if op.after.iter().any(|&d| state(d) == State::NotNeeded) {
        return Fate::NotNeeded;
    }
    Fate::Runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Cause, ControlStep, Deps, Plan};
    use std::time::Duration;

    /// An operation with these dependencies (its action does not matter here).
    fn op(after: &[usize], settled: &[usize], if_failed: Option<usize>) -> Operation {
        let mut plan: Plan = Plan::default();
        let delay = ControlStep::Delay {
            service: "web".into(),
            period: Duration::ZERO,
        };
        let deps = Deps {
            after: after.to_vec(),
            settled: settled.to_vec(),
            if_failed,
        };
        plan.push_with(delay, Cause::Requested, deps);
        plan.operations.remove(0)
    }

    #[test]
    fn a_fallback_runs_only_when_its_operation_failed_or_was_skipped() {
        let fallback = op(&[], &[], Some(0));
        for (state, expected) in [
            (State::Failed, Fate::Runs),
            (State::Skipped, Fate::Runs),
            (State::Succeeded, Fate::NotNeeded),
            (State::NotNeeded, Fate::NotNeeded),
        ] {
            assert_eq!(fate(&fallback, |_| state), expected, "{state:?}");
        }
    }

    #[test]
    fn what_needs_a_failure_is_skipped_and_what_needs_an_unneeded_fallback_is_not_needed() {
        let after = op(&[0, 1], &[], None);
        let states = [State::Succeeded, State::Failed];
        assert_eq!(fate(&after, |d| states[d]), Fate::Skipped { because: 1 });
        let states = [State::Succeeded, State::NotNeeded];
        assert_eq!(fate(&after, |d| states[d]), Fate::NotNeeded);
        assert_eq!(fate(&after, |_| State::Succeeded), Fate::Runs);
    }

    #[test]
    fn settled_runs_whatever_the_outcome() {
        let settled = op(&[], &[0], None);
        for state in [
            State::Succeeded,
            State::Failed,
            State::Skipped,
            State::NotNeeded,
        ] {
            assert_eq!(fate(&settled, |_| state), Fate::Runs, "{state:?}");
        }
    }
}
