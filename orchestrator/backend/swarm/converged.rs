//! Whether a stack has converged: every service runs the tasks it asks for, on its current
//! spec (an update has finished), and no other (a task is `running` once its health check, if
//! it has one, passed). Pure, over `ps`'s task rows, so
//! that `up` can poll it and say, when it gives up, which service, on which node, and the
//! task's error.

use bollard::models::ServiceSpec;

use super::names;
use super::tasks::TaskRow;

/// What one service needs to be converged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The compose service's key.
    pub service: String,
    /// Running tasks wanted; `None` for a global service (one per eligible node).
    pub replicas: Option<i64>,
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
            Some(Want { service, replicas })
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
}
