//! The one judge of a wait's condition: from what is observed of a container to met, not yet,
//! or failed for good. It is pure, so every rule is tested here without an engine; the waits
//! only fetch the facts, ask, and word the answer.

use crate::observe::{ContainerState, Health};
use crate::plan::WaitCondition;

/// What a wait looks at in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: String,
    pub state: ContainerState,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
}

/// What is expected of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// A dependency's condition, met by each container of the service (`depends_on`,
    /// `up --wait`).
    Dependency(WaitCondition),
    /// A new replica of a rolling update, ready when running (healthy, for `Healthy`). It is
    /// held to more than a dependency: turning unhealthy fails it whatever the condition, as
    /// its monitor would next.
    Replica(WaitCondition),
    /// A replica under its monitor: running, and not unhealthy.
    KeepsRunning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    NotYet,
    /// It cannot be met any more: waiting longer would be for ever.
    Failed(Unmet),
}

/// Why an expectation cannot be met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmet {
    /// Created and never started: nothing in the plan starts it (that start would be waited
    /// for instead).
    NeverStarted,
    /// Its process ended; `-1` when the engine does not say with what code.
    Exited {
        code: i64,
    },
    Unhealthy,
    /// Healthy is asked of a container that has no healthcheck.
    NoHealthcheck,
    /// Neither running nor exited (paused, restarting, being removed).
    NotRunning(ContainerState),
}

/// As the end of a sentence that starts with the container: `container p-web-1 exited (1)`.
impl std::fmt::Display for Unmet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmet::NeverStarted => f.write_str("was created but never started"),
            Unmet::Exited { code } => write!(f, "exited ({code})"),
            Unmet::Unhealthy => f.write_str("is unhealthy"),
            Unmet::NoHealthcheck => f.write_str("has no healthcheck"),
            Unmet::NotRunning(state) => write!(f, "is {}", state_name(*state)),
        }
    }
}

/// `paused`, `restarting`, …
pub fn state_name(state: ContainerState) -> String {
    format!("{state:?}").to_lowercase()
}

pub fn judge(expectation: Expectation, facts: &ContainerFacts) -> Verdict {
    let ended = matches!(facts.state, ContainerState::Exited | ContainerState::Dead);
    let exited = Verdict::Failed(Unmet::Exited {
        code: facts.exit_code.unwrap_or(-1),
    });
    let unhealthy = facts.health == Some(Health::Unhealthy);
    let running = facts.state == ContainerState::Running;
    let met_when = |met: bool| if met { Verdict::Met } else { Verdict::NotYet };
    match expectation {
        Expectation::Dependency(WaitCondition::Started) => match facts.state {
            ContainerState::Created => Verdict::Failed(Unmet::NeverStarted),
            _ => Verdict::Met,
        },
        Expectation::Dependency(WaitCondition::Running) if ended => exited,
        Expectation::Dependency(WaitCondition::Running) => met_when(running),
        Expectation::Dependency(WaitCondition::Healthy) => match facts.health {
            Some(Health::Unhealthy) => Verdict::Failed(Unmet::Unhealthy),
            _ if ended => exited,
            None => Verdict::Failed(Unmet::NoHealthcheck),
            Some(Health::Healthy) => Verdict::Met,
            Some(Health::Starting) => Verdict::NotYet,
        },
        Expectation::Dependency(WaitCondition::CompletedSuccessfully) => match facts.exit_code {
            _ if !ended => Verdict::NotYet,
            Some(0) => Verdict::Met,
            _ => exited,
        },
        Expectation::Replica(_) if ended => exited,
        Expectation::Replica(_) if unhealthy => Verdict::Failed(Unmet::Unhealthy),
        Expectation::Replica(WaitCondition::Healthy) => {
            met_when(facts.health == Some(Health::Healthy))
        }
        Expectation::Replica(_) => met_when(running),
        Expectation::KeepsRunning if ended => exited,
        Expectation::KeepsRunning if !running => Verdict::Failed(Unmet::NotRunning(facts.state)),
        Expectation::KeepsRunning if unhealthy => Verdict::Failed(Unmet::Unhealthy),
        Expectation::KeepsRunning => Verdict::Met,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerState::{Created, Dead, Exited, Paused, Running};
    use Expectation::{Dependency, KeepsRunning, Replica};
    use WaitCondition::{CompletedSuccessfully, Healthy, Started};

    fn facts(
        state: ContainerState,
        health: Option<Health>,
        exit_code: Option<i64>,
    ) -> ContainerFacts {
        ContainerFacts {
            name: "p-web-1".into(),
            state,
            health,
            exit_code,
        }
    }

    fn exited(code: i64) -> Verdict {
        Verdict::Failed(Unmet::Exited { code })
    }

    #[test]
    fn started_is_met_by_a_container_that_ran_once_and_fails_on_one_never_started() {
        assert_eq!(
            judge(Dependency(Started), &facts(Exited, None, Some(4))),
            Verdict::Met
        );
        assert_eq!(
            judge(Dependency(Started), &facts(Running, None, None)),
            Verdict::Met
        );
        let never = judge(Dependency(Started), &facts(Created, None, None));
        assert_eq!(never, Verdict::Failed(Unmet::NeverStarted));
    }

    #[test]
    fn running_fails_on_an_exit_whatever_its_code() {
        let running = Dependency(WaitCondition::Running);
        assert_eq!(judge(running, &facts(Running, None, None)), Verdict::Met);
        assert_eq!(judge(running, &facts(Created, None, None)), Verdict::NotYet);
        assert_eq!(judge(running, &facts(Exited, None, Some(0))), exited(0));
        assert_eq!(judge(running, &facts(Dead, None, None)), exited(-1));
        // A dependency that only has to run may be unhealthy.
        let unhealthy = facts(Running, Some(Health::Unhealthy), None);
        assert_eq!(judge(running, &unhealthy), Verdict::Met);
    }

    #[test]
    fn healthy_needs_a_healthcheck_and_an_unhealthy_report_fails_first() {
        let healthy = Dependency(Healthy);
        let starting = facts(Running, Some(Health::Starting), None);
        assert_eq!(judge(healthy, &starting), Verdict::NotYet);
        let good = facts(Running, Some(Health::Healthy), None);
        assert_eq!(judge(healthy, &good), Verdict::Met);
        let none = facts(Running, None, None);
        assert_eq!(judge(healthy, &none), Verdict::Failed(Unmet::NoHealthcheck));
        let ended_unhealthy = facts(Exited, Some(Health::Unhealthy), Some(1));
        assert_eq!(
            judge(healthy, &ended_unhealthy),
            Verdict::Failed(Unmet::Unhealthy)
        );
        assert_eq!(judge(healthy, &facts(Exited, None, Some(1))), exited(1));
    }

    #[test]
    fn completed_successfully_needs_an_exit_with_code_zero() {
        let completed = Dependency(CompletedSuccessfully);
        assert_eq!(
            judge(completed, &facts(Running, None, None)),
            Verdict::NotYet
        );
        assert_eq!(
            judge(completed, &facts(Exited, None, Some(0))),
            Verdict::Met
        );
        assert_eq!(judge(completed, &facts(Exited, None, Some(3))), exited(3));
        assert_eq!(judge(completed, &facts(Dead, None, None)), exited(-1));
    }

    #[test]
    fn a_replica_fails_when_it_exits_or_turns_unhealthy_whatever_is_asked() {
        let running = Replica(WaitCondition::Running);
        let unhealthy = facts(Running, Some(Health::Unhealthy), None);
        assert_eq!(
            judge(running, &unhealthy),
            Verdict::Failed(Unmet::Unhealthy)
        );
        assert_eq!(judge(running, &facts(Running, None, None)), Verdict::Met);
        assert_eq!(judge(running, &facts(Created, None, None)), Verdict::NotYet);
        let ended_unhealthy = facts(Exited, Some(Health::Unhealthy), Some(2));
        assert_eq!(judge(Replica(Healthy), &ended_unhealthy), exited(2));
        // Running is not enough for healthy; no healthcheck yet is not a failure.
        assert_eq!(
            judge(Replica(Healthy), &facts(Running, None, None)),
            Verdict::NotYet
        );
        let good = facts(Running, Some(Health::Healthy), None);
        assert_eq!(judge(Replica(Healthy), &good), Verdict::Met);
    }

    #[test]
    fn a_monitored_replica_must_keep_running_and_not_turn_unhealthy() {
        assert_eq!(
            judge(KeepsRunning, &facts(Running, None, None)),
            Verdict::Met
        );
        let starting = facts(Running, Some(Health::Starting), None);
        assert_eq!(judge(KeepsRunning, &starting), Verdict::Met);
        let unhealthy = facts(Running, Some(Health::Unhealthy), None);
        assert_eq!(
            judge(KeepsRunning, &unhealthy),
            Verdict::Failed(Unmet::Unhealthy)
        );
        assert_eq!(
            judge(KeepsRunning, &facts(Exited, None, Some(137))),
            exited(137)
        );
        let paused = facts(Paused, Some(Health::Unhealthy), None);
        assert_eq!(
            judge(KeepsRunning, &paused),
            Verdict::Failed(Unmet::NotRunning(Paused))
        );
    }
}
