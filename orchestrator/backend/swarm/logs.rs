//! `logs` on a swarm: each task's output through the manager's `/tasks/{id}/logs` (the
//! manager fetches it from whichever node runs the task), under the name compose gives a
//! replica (`web-1`), so that a compose user reads the same prefixes on both targets.

use bollard::Docker;
use futures_util::stream::{self, BoxStream, StreamExt};

use super::tasks::TaskRow;
use crate::engine::docker::logs::{self, frame_lines};
use crate::engine::{LogLine, LogOptions};

/// A task whose output is shown, and the name its lines are printed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLog {
    pub id: String,
    /// compose's name for the replica: `web-1`, or `web-<node>` for a global service.
    pub name: String,
    /// The compose service's key.
    pub service: String,
}

/// One task's lines under its name.
pub type Tagged = BoxStream<'static, (String, LogLine)>;

/// The tasks of `services` (every service when empty) whose output is shown: those the swarm
/// keeps running or has run to completion (a job's), not the ones an update or a restart
/// replaced, whose lines `docker service logs` mixes under the same slot.
pub fn shown(rows: &[TaskRow], services: &[String]) -> Vec<TaskLog> {
    rows.iter()
        .filter(|row| services.is_empty() || services.contains(&row.service))
        .filter(|row| row.desired_state != "shutdown" || row.state == "running")
        .filter(|row| !NO_CONTAINER_YET.contains(&row.state.as_str()))
        .map(|row| TaskLog {
            id: row.id.clone(),
            name: replica_name(row),
            service: row.service.clone(),
        })
        .collect()
}

/// A task's states before it has a container to read the output of.
const NO_CONTAINER_YET: [&str; 6] = ["new", "pending", "assigned", "accepted", "preparing", ""];

/// compose's `<service>-<number>` for a task: its slot for a replicated service, its node's
/// hostname for a global one (whose tasks have no slot). The row's name is the swarm's
/// `<project>_<service>.<slot or node ID>`.
pub fn replica_name(row: &TaskRow) -> String {
    let slot = row.name.rsplit_once('.').map_or("", |(_, slot)| slot);
    match slot.parse::<u64>() {
        Ok(slot) => format!("{}-{slot}", row.service),
        Err(_) => format!("{}-{}", row.service, row.node),
    }
}

/// The lines of each task in `shown`, with the engine's timestamps (which order them even
/// when they are not printed). A task whose output cannot be read (its node is down, its
/// container gone) gives no lines.
pub async fn open(docker: &Docker, shown: &[TaskLog], options: &LogOptions) -> Vec<Tagged> {
    let query = logs::query(options);
    shown
        .iter()
        .map(|task| {
            let name = task.name.clone();
            docker
                .task_logs(&task.id, Some(query.clone()))
                .flat_map(move |frame| {
                    // A frame the engine failed to give ends nothing: the others still come.
                    let lines = frame.map_or_else(|_| Vec::new(), frame_lines);
                    let name = name.clone();
                    stream::iter(lines.into_iter().map(move |line| (name.clone(), line)))
                })
                .boxed()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, service: &str, node: &str, state: &str, desired: &str) -> TaskRow {
        TaskRow {
            id: format!("id-{name}-{state}"),
            name: name.into(),
            image: String::new(),
            project: "shop".into(),
            service: service.into(),
            state: state.into(),
            status: String::new(),
            exit_code: 0,
            node: node.into(),
            desired_state: desired.into(),
            error: String::new(),
            current: true,
        }
    }

    #[test]
    fn a_task_is_named_as_compose_names_a_replica() {
        let replicated = row("shop_web.2", "web", "node-1", "running", "running");
        assert_eq!(replica_name(&replicated), "web-2");
        let global = row("shop_agent.x7f3kq", "agent", "node-3", "running", "running");
        assert_eq!(replica_name(&global), "agent-node-3");
    }

    #[test]
    fn the_running_and_completed_tasks_of_the_named_services_are_shown() {
        let rows = [
            row("shop_web.1", "web", "n1", "running", "running"),
            row("shop_web.1", "web", "n1", "failed", "shutdown"),
            row("shop_web.2", "web", "n2", "pending", "running"),
            row("shop_db.1", "db", "n2", "running", "running"),
            row("shop_job.1", "job", "n3", "complete", "complete"),
        ];
        let names = |services: &[String]| -> Vec<String> {
            shown(&rows, services).into_iter().map(|t| t.name).collect()
        };
        assert_eq!(names(&[]), ["web-1", "db-1", "job-1"]);
        assert_eq!(names(&["web".into()]), ["web-1"]);
    }
}
