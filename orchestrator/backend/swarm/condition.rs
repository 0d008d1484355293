//! `depends_on`'s conditions on a swarm: whether a dependency's tasks are what a dependent
//! waits for before it is created or updated. Pure, over `ps`'s task rows, so that the wait
//! (`wait.rs`) only polls, and says which service, node and task failed.
//!
//! A swarm reports a task with a health check `running` only once it is healthy, so
//! `service_started` and `service_healthy` wait for the same thing: as many tasks running on
//! the service's current spec as it asks for. `service_completed_successfully` waits for its
//! tasks to be `complete` (exit 0): a job's, or a service's that does not restart them.

use std::fmt;

use bollard::models::ServiceSpec;

use super::converged::{self, Want};
use super::tasks::TaskRow;
use crate::spec::model::DependencyCondition;

/// What a dependent waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl From<DependencyCondition> for Condition {
    fn from(condition: DependencyCondition) -> Condition {
        match condition {
            DependencyCondition::ServiceStarted => Condition::Started,
            DependencyCondition::ServiceHealthy => Condition::Healthy,
            DependencyCondition::ServiceCompletedSuccessfully => Condition::CompletedSuccessfully,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Condition::Started => "started",
            Condition::Healthy => "healthy",
            Condition::CompletedSuccessfully => "completed successfully",
        })
    }
}

/// Where a dependency is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Met,
    /// Not yet: how far it is.
    Waiting(String),
    /// It will not be met: the task that failed, its node and its error.
    Failed(String),
}

/// How many tasks `spec` runs: its replicas or a job's completions; `None` for a global
/// service or job (one per eligible node).
pub fn tasks(spec: &ServiceSpec) -> Option<i64> {
    let Some(mode) = &spec.mode else {
        return Some(1);
    };
    if mode.global.is_some() || mode.global_job.is_some() {
        return None;
    }
    if let Some(job) = &mode.replicated_job {
        return Some(job.total_completions.unwrap_or(1));
    }
    Some(
        mode.replicated
            .as_ref()
            .and_then(|r| r.replicas)
            .unwrap_or(1),
    )
}

/// Whether the service `want` names (its compose key) meets `condition`.
pub fn status(condition: Condition, want: &Want, rows: &[TaskRow]) -> Status {
    let service = &want.service;
    let tasks = want.replicas;
    let current: Vec<&TaskRow> = rows
        .iter()
        .filter(|r| r.service == *service && r.current)
        .collect();
    match condition {
        // A task that fails is replaced by the swarm, and the next may run: the wait fails
        // when the restart policy replaces it no more, or at the time limit, with the task
        // that says why.
        Condition::Started | Condition::Healthy => {
            let want = std::slice::from_ref(want);
            if let Some(line) = converged::given_up(want, rows).pop() {
                return Status::Failed(line);
            }
            match converged::pending(want, rows).pop() {
                None => Status::Met,
                Some(line) => Status::Waiting(line),
            }
        }
        Condition::CompletedSuccessfully => {
            let failed = current
                .iter()
                .find(|t| ["failed", "rejected"].contains(&t.state.as_str()));
            if let Some(task) = failed {
                let why = converged::describe(task);
                return Status::Failed(format!("service {service}: {why}"));
            }
            let complete = current.iter().filter(|t| t.state == "complete").count();
            let target = tasks.map_or(current.len().max(1), |n| n as usize);
            match complete >= target {
                true => Status::Met,
                false => Status::Waiting(format!(
                    "service {service}: {complete} of {target} tasks complete"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(replicas: Option<i64>) -> Want {
        Want {
            service: "db".into(),
            replicas,
            restarts: converged::Restarts::default(),
        }
    }

    fn row(slot: u32, state: &str, error: &str) -> TaskRow {
        TaskRow {
            id: format!("t{slot}"),
            name: format!("shop_db.{slot}"),
            image: "b".into(),
            project: "shop".into(),
            service: "db".into(),
            state: state.into(),
            status: String::new(),
            exit_code: 0,
            node: "n1".into(),
            desired_state: match state {
                "complete" | "failed" => "shutdown".into(),
                _ => "running".into(),
            },
            error: error.into(),
            current: true,
        }
    }

    #[test]
    fn started_and_healthy_wait_for_every_task_running() {
        let starting = [row(1, "running", ""), row(2, "starting", "")];
        for condition in [Condition::Started, Condition::Healthy] {
            assert_eq!(
                status(condition, &db(Some(2)), &starting),
                Status::Waiting(
                    "service db: 1 of 2 tasks running; task shop_db.2 on node n1: starting".into()
                )
            );
            let running = [row(1, "running", ""), row(2, "running", "")];
            assert_eq!(status(condition, &db(Some(2)), &running), Status::Met);
        }
    }

    #[test]
    fn a_failed_task_of_a_running_service_is_waited_past_and_named() {
        let rows = [row(1, "rejected", "No such image: nope")];
        assert_eq!(
            status(Condition::Healthy, &db(Some(1)), &rows),
            Status::Waiting(
                "service db: 0 of 1 tasks running; task shop_db.1 on node n1: No such image: nope"
                    .into()
            )
        );
    }

    #[test]
    fn a_failed_task_that_its_restart_policy_does_not_replace_fails_the_wait() {
        let mut never = db(Some(1));
        never.restarts.after_failure = false;
        never.restarts.after_success = false;
        let mut failed = row(1, "failed", "task: non-zero exit (3)");
        failed.desired_state = "shutdown".into();
        assert_eq!(
            status(Condition::Started, &never, &[failed]),
            Status::Failed(
                "service db: task shop_db.1 on node n1: task: non-zero exit (3); its restart policy (condition none) replaces no task"
                    .into()
            )
        );
    }

    #[test]
    fn completed_successfully_waits_for_complete_tasks_and_fails_on_a_non_zero_exit() {
        let rows = [row(1, "complete", ""), row(2, "running", "")];
        assert_eq!(
            status(Condition::CompletedSuccessfully, &db(Some(2)), &rows),
            Status::Waiting("service db: 1 of 2 tasks complete".into())
        );
        let done = [row(1, "complete", ""), row(2, "complete", "")];
        assert_eq!(
            status(Condition::CompletedSuccessfully, &db(Some(2)), &done),
            Status::Met
        );
        let failed = [
            row(1, "complete", ""),
            row(2, "failed", "task: non-zero exit (3)"),
        ];
        assert_eq!(
            status(Condition::CompletedSuccessfully, &db(Some(2)), &failed),
            Status::Failed("service db: task shop_db.2 on node n1: task: non-zero exit (3)".into())
        );
    }

    #[test]
    fn tasks_of_a_spec_an_update_replaced_do_not_count() {
        let mut old = row(1, "complete", "");
        old.current = false;
        assert_eq!(
            status(Condition::CompletedSuccessfully, &db(Some(1)), &[old]),
            Status::Waiting("service db: 0 of 1 tasks complete".into())
        );
    }
}
