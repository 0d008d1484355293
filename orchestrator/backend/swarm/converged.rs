//! Whether a stack has converged: every service runs the tasks it asks for, on its current
//! spec (an update has finished), and no other (a task is `running` once its health check, if
//! it has one, passed); and whether a service never will, because its restart policy leaves a
//! task ended for good. Pure, over `ps`'s task rows, so that `up` can poll it and say, when it
//! gives up, which service, on which node, and the task's error.

use std::collections::BTreeMap;

use bollard::models::{ServiceSpec, TaskSpecRestartPolicyConditionEnum};

use super::names;
use super::tasks::TaskRow;

/// What one service needs to be converged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The compose service's key.
    pub service: String,
    /// Running tasks wanted; `None` for a global service (one per eligible node).
    pub replicas: Option<i64>,
    pub restarts: Restarts,
}

/// Which ended tasks the swarm replaces, from a service's restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restarts {
    /// A task that exited 0 is replaced (`condition: any`).
    pub after_success: bool,
    /// A task that failed or was rejected is replaced (`any`, `on-failure`).
    pub after_failure: bool,
    /// At most this many replacements in a slot (`max_attempts`; not when a `window` makes it
    /// a count per time window, which the task rows cannot tell).
    pub max_attempts: Option<u64>,
}

impl Default for Restarts {
    /// The swarm's policy when the spec sets none: every ended task is replaced, forever.
    fn default() -> Restarts {
        Restarts {
            after_success: true,
            after_failure: true,
            max_attempts: None,
        }
    }
}

impl Restarts {
    pub fn of(spec: &ServiceSpec) -> Restarts {
        use TaskSpecRestartPolicyConditionEnum as C;
        let policy = spec
            .task_template
            .as_ref()
            .and_then(|t| t.restart_policy.as_ref());
        let Some(policy) = policy else {
            return Restarts::default();
        };
        let (after_success, after_failure) = match policy.condition {
            Some(C::NONE) => (false, false),
            Some(C::ON_FAILURE) => (false, true),
            _ => (true, true),
        };
        let windowed = policy.window.is_some_and(|w| w > 0);
        Restarts {
            after_success,
            after_failure,
            max_attempts: policy
                .max_attempts
                .filter(|n| *n > 0 && !windowed)
                .map(|n| n.unsigned_abs()),
        }
    }

    /// Why the swarm starts no other task in a slot whose tasks are `slot`: none is alive and
    /// one ended as the policy does not replace, or the attempts are used up; `None` while it
    /// may still start one.
    fn ended_for_good(&self, slot: &[&TaskRow]) -> Option<String> {
        let alive = |t: &&&TaskRow| matches!(t.desired_state.as_str(), "running" | "ready");
        if slot.iter().any(|t| alive(&t)) {
            return None;
        }
        let ended: Vec<&&TaskRow> = slot.iter().filter(|t| has_ended(t)).collect();
        if ended.is_empty() {
            return None;
        }
        if !self.after_success && ended.iter().any(|t| t.state == "complete") {
            return Some("it exited 0 and its restart policy replaces only failed tasks".into());
        }
        if !self.after_failure {
            return Some("its restart policy (condition none) replaces no task".into());
        }
        match self.max_attempts {
            Some(max) if ended.len() as u64 > max => Some(format!(
                "its restart policy's max_attempts ({max}) are used up"
            )),
            _ => None,
        }
    }
}

/// What `specs` (by swarm name) need; jobs are left out: they end.
pub fn wants<'a>(
    project: &str,
    specs: impl IntoIterator<Item = (&'a String, &'a ServiceSpec)>,
) -> Vec<Want> {
    specs
        .into_iter()
        .filter_map(|(name, spec)| {
            let mode = spec.mode.as_ref();
            let replicas = match mode {
                Some(m) if m.global.is_some() => None,
                Some(m) if m.replicated_job.is_some() || m.global_job.is_some() => return None,
                Some(m) => Some(m.replicated.as_ref().and_then(|r| r.replicas).unwrap_or(1)),
                None => Some(1),
            };
            let service = names::service_key(project, name)
                .unwrap_or(name)
                .to_string();
            Some(Want {
                service,
                replicas,
                restarts: Restarts::of(spec),
            })
        })
        .collect()
}

/// How far one service is: its running tasks on its current spec, and how many it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub service: String,
    pub running: usize,
    pub target: usize,
    /// Whether the service has converged: as many tasks running as it wants, and no other.
    pub converged: bool,
}

/// How far each wanted service is, from the stack's task rows.
pub fn counts(wants: &[Want], rows: &[TaskRow]) -> Vec<Count> {
    wants
        .iter()
        .map(|want| {
            let tasks = rows.iter().filter(|r| r.service == want.service);
            let wanted = tasks
                .clone()
                .filter(|t| t.desired_state == "running")
                .count();
            let running = tasks
                .filter(|t| t.desired_state == "running" && t.state == "running" && t.current)
                .count();
            let target = want.replicas.map_or(wanted.max(1), |n| n as usize);
            Count {
                service: want.service.clone(),
                running,
                target,
                converged: running >= target && running == wanted,
            }
        })
        .collect()
}

/// One line per service that has not converged, with a task that says why; empty when every
/// one has.
pub fn pending(wants: &[Want], rows: &[TaskRow]) -> Vec<String> {
    counts(wants, rows)
        .into_iter()
        .filter(|count| !count.converged)
        .map(|count| {
            let Count {
                service,
                running,
                target,
                ..
            } = count;
            let mut line = format!("service {service}: {running} of {target} tasks running");
            let tasks: Vec<&TaskRow> = rows.iter().filter(|r| r.service == service).collect();
            let telling = tasks
                .iter()
                .find(|t| !t.error.is_empty())
                .or_else(|| tasks.iter().find(|t| t.state != "running"));
            if let Some(task) = telling {
                line.push_str(&format!("; {}", describe(task)));
            }
            line
        })
        .collect()
}

/// One line per service that will not converge without a change: a task of its current spec
/// ended and its restart policy starts no other in that slot (or on that node, for a global
/// service).
pub fn given_up(wants: &[Want], rows: &[TaskRow]) -> Vec<String> {
    let mut lines = Vec::new();
    for want in wants {
        let mut slots: BTreeMap<&str, Vec<&TaskRow>> = BTreeMap::new();
        for task in rows
            .iter()
            .filter(|r| r.service == want.service && r.current)
        {
            slots.entry(&task.name).or_default().push(task);
        }
        let found = slots.values().find_map(|slot| {
            let why = want.restarts.ended_for_good(slot)?;
            let task = slot.iter().find(|t| has_ended(t)).unwrap_or(&slot[0]);
            Some(format!(
                "service {}: {}; {why}",
                want.service,
                describe(task)
            ))
        });
        lines.extend(found);
    }
    lines
}

/// Whether the task's process ended by itself or never started (not a task the swarm shut
/// down for an update or a scale-down).
fn has_ended(task: &TaskRow) -> bool {
    matches!(task.state.as_str(), "complete" | "failed" | "rejected")
}

/// `task shop_web.2 on node n3: task: non-zero exit (1)`: a task, its node, and its error (or
/// its state when it has none).
pub fn describe(task: &TaskRow) -> String {
    let node = match task.node.as_str() {
        "" => "no node yet".to_string(),
        node => format!("node {node}"),
    };
    let why = match task.error.as_str() {
        "" => task.state.as_str(),
        error => error,
    };
    format!("task {} on {node}: {why}", task.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        service: &str,
        slot: u32,
        node: &str,
        desired: &str,
        state: &str,
        error: &str,
    ) -> TaskRow {
        TaskRow {
            id: format!("{service}{slot}"),
            name: format!("shop_{service}.{slot}"),
            image: "b".into(),
            project: "shop".into(),
            service: service.into(),
            state: state.into(),
            status: String::new(),
            exit_code: 0,
            node: node.into(),
            desired_state: desired.into(),
            error: error.into(),
            current: true,
        }
    }

    fn web(replicas: Option<i64>) -> Vec<Want> {
        vec![Want {
            service: "web".into(),
            replicas,
            restarts: Restarts::default(),
        }]
    }

    #[test]
    fn a_service_with_all_its_tasks_running_has_converged() {
        let rows = [
            row("web", 1, "n1", "running", "running", ""),
            row("web", 2, "n2", "running", "running", ""),
            row("web", 1, "n1", "shutdown", "failed", "old failure"),
        ];
        assert!(pending(&web(Some(2)), &rows).is_empty());
        assert!(pending(&web(None), &rows).is_empty());
    }

    #[test]
    fn tasks_of_the_spec_an_update_replaces_do_not_count() {
        let mut old = row("web", 1, "n1", "running", "running", "");
        old.current = false;
        assert_eq!(
            pending(&web(Some(1)), &[old]),
            ["service web: 0 of 1 tasks running"]
        );
    }

    #[test]
    fn a_service_short_of_tasks_names_a_task_its_node_and_error() {
        let rows = [
            row("web", 1, "n1", "running", "running", ""),
            row("web", 2, "n2", "running", "starting", ""),
            row(
                "web",
                2,
                "n3",
                "shutdown",
                "failed",
                "task: non-zero exit (1)",
            ),
        ];
        assert_eq!(
            pending(&web(Some(2)), &rows),
            [
                "service web: 1 of 2 tasks running; task shop_web.2 on node n3: task: non-zero exit (1)"
            ]
        );
        let unplaced = [row("web", 1, "", "running", "pending", "")];
        assert_eq!(
            pending(&web(Some(1)), &unplaced),
            ["service web: 0 of 1 tasks running; task shop_web.1 on no node yet: pending"]
        );
    }

    /// web's first task, failed on `node` (a slot's earlier tasks are on other nodes).
    fn failure(node: &str) -> TaskRow {
        row(
            "web",
            1,
            node,
            "shutdown",
            "failed",
            "task: non-zero exit (1)",
        )
    }

    fn policy(after_success: bool, after_failure: bool, max_attempts: Option<u64>) -> Vec<Want> {
        let restarts = Restarts {
            after_success,
            after_failure,
            max_attempts,
        };
        vec![Want {
            restarts,
            ..web(Some(1)).remove(0)
        }]
    }

    #[test]
    fn a_failed_task_that_the_policy_replaces_is_waited_past() {
        let failed = [failure("n1")];
        assert!(given_up(&web(Some(1)), &failed).is_empty(), "any");
        assert!(
            given_up(&policy(false, true, None), &failed).is_empty(),
            "on-failure"
        );
        let replaced = [failed[0].clone(), row("web", 1, "n2", "ready", "ready", "")];
        assert!(
            given_up(&policy(false, false, None), &replaced).is_empty(),
            "a new task"
        );
    }

    #[test]
    fn a_slot_the_policy_leaves_ended_is_given_up_naming_the_task_and_why() {
        let failed = [failure("n1")];
        assert_eq!(
            given_up(&policy(false, false, None), &failed),
            [
                "service web: task shop_web.1 on node n1: task: non-zero exit (1); its restart policy (condition none) replaces no task"
            ]
        );
        let complete = [row("web", 1, "n1", "shutdown", "complete", "")];
        assert_eq!(
            given_up(&policy(false, true, None), &complete),
            [
                "service web: task shop_web.1 on node n1: complete; it exited 0 and its restart policy replaces only failed tasks"
            ]
        );
        assert!(
            given_up(&web(Some(1)), &complete).is_empty(),
            "any restarts it"
        );
    }

    #[test]
    fn max_attempts_count_the_ended_tasks_of_a_slot_of_the_current_spec() {
        let two = [failure("n1"), failure("n2")];
        assert!(given_up(&policy(true, true, Some(2)), &two).is_empty());
        let mut three = vec![failure("n1"), failure("n2"), failure("n3")];
        assert_eq!(
            given_up(&policy(true, true, Some(2)), &three),
            [
                "service web: task shop_web.1 on node n1: task: non-zero exit (1); its restart policy's max_attempts (2) are used up"
            ]
        );
        three[0].current = false;
        assert!(
            given_up(&policy(true, true, Some(2)), &three).is_empty(),
            "an older spec's"
        );
        let shut_down = [
            failure("n1"),
            row("web", 1, "n2", "shutdown", "shutdown", ""),
            row("web", 1, "n3", "shutdown", "shutdown", ""),
        ];
        assert!(
            given_up(&policy(true, true, Some(1)), &shut_down).is_empty(),
            "not ended by itself"
        );
    }

    #[test]
    fn restarts_are_read_from_the_spec_and_a_window_leaves_max_attempts_out() {
        use bollard::models::{TaskSpec, TaskSpecRestartPolicy};
        let spec = |condition, max_attempts, window| ServiceSpec {
            task_template: Some(TaskSpec {
                restart_policy: Some(TaskSpecRestartPolicy {
                    condition: Some(condition),
                    max_attempts,
                    window,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        use TaskSpecRestartPolicyConditionEnum as C;
        assert_eq!(Restarts::of(&ServiceSpec::default()), Restarts::default());
        assert_eq!(
            Restarts::of(&spec(C::ON_FAILURE, Some(3), None)),
            Restarts {
                after_success: false,
                after_failure: true,
                max_attempts: Some(3)
            }
        );
        assert_eq!(
            Restarts::of(&spec(C::ANY, Some(3), Some(10_000_000_000))).max_attempts,
            None
        );
        assert_eq!(
            Restarts::of(&spec(C::NONE, None, None)),
            Restarts {
                after_success: false,
                after_failure: false,
                max_attempts: None
            }
        );
    }
}
