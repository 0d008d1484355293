//! `ps` on a swarm: one row per task, named as `docker stack ps` names them (`<service>.<slot>`,
//! or `<service>.<node ID>` for a global service), with its node, desired and current state,
//! and error. Its JSON has the keys of compose's `ps --format json` that a task has, plus
//! `Node`, `DesiredState` and `Error`.

use std::collections::HashMap;

use bollard::models::Task;
use serde::Serialize;

use super::names;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskRow {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub image: String,
    pub project: String,
    /// The compose service's key.
    pub service: String,
    /// The task's current state (`running`, `failed`, …), as compose's `State`.
    pub state: String,
    /// The swarm's message for that state.
    pub status: String,
    pub exit_code: i64,
    /// The hostname of the node the task is on (empty while unassigned).
    pub node: String,
    pub desired_state: String,
    pub error: String,
    /// Whether the task runs the service's current spec (not one an update replaces).
    #[serde(skip)]
    pub current: bool,
}

impl TaskRow {
    /// The row of `task`, of the service named `service_name` whose current task spec is
    /// `template` (in the engine's JSON).
    pub fn new(
        project: &str,
        service_name: &str,
        template: &serde_json::Value,
        task: &Task,
        hostnames: &HashMap<String, String>,
    ) -> TaskRow {
        let node_id = task.node_id.clone().unwrap_or_default();
        let name = match task.slot {
            Some(slot) if slot > 0 => format!("{service_name}.{slot}"),
            _ => format!("{service_name}.{node_id}"),
        };
        let status = task.status.as_ref();
        let text = |value: Option<String>| value.unwrap_or_default();
        let state = |state: Option<&bollard::models::TaskState>| {
            state.map_or(String::new(), |s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
        };
        let container = task.spec.as_ref().and_then(|s| s.container_spec.as_ref());
        TaskRow {
            id: text(task.id.clone()),
            name,
            image: text(container.and_then(|c| c.image.clone())),
            project: project.to_string(),
            service: names::service_key(project, service_name)
                .unwrap_or(service_name)
                .to_string(),
            state: state(status.and_then(|s| s.state.as_ref())),
            status: text(status.and_then(|s| s.message.clone())),
            exit_code: status
                .and_then(|s| s.container_status.as_ref())
                .and_then(|c| c.exit_code)
                .unwrap_or_default(),
            node: hostnames.get(&node_id).cloned().unwrap_or_default(),
            desired_state: state(task.desired_state.as_ref()),
            error: text(status.and_then(|s| s.err.clone())),
            current: is_current(template, task),
        }
    }

    /// The row of a task whose node is not `ready` (`down`, `disconnected`, `unknown`, as
    /// `node_state` says): a task still on its way or running there was last reported so by a
    /// node that no longer reports, and is not known to run; its state is `unknown` and its
    /// error says why and what was last seen. A task that had ended keeps its state.
    pub fn on_lost_node(mut self, node_state: &str) -> TaskRow {
        if ENDED.contains(&self.state.as_str()) {
            return self;
        }
        let seen = std::mem::replace(&mut self.state, "unknown".into());
        let why = format!("node {} is {node_state} (last seen {seen})", self.node);
        self.error = match self.error.is_empty() {
            true => why,
            false => format!("{why}: {}", self.error),
        };
        self
    }

    /// The table's cells: NAME, SERVICE, NODE, DESIRED STATE, CURRENT STATE, ERROR.
    pub fn cells(&self) -> [&str; 6] {
        [
            &self.name,
            &self.service,
            &self.node,
            &self.desired_state,
            &self.state,
            &self.error,
        ]
    }
}

/// Whether `task` runs the spec `template`: the task's copy of the spec says all it says
/// (what the engine adds to a task's copy is no difference), but for the service's `Runtime`,
/// which the engine fills in on the service and not on its tasks.
fn is_current(template: &serde_json::Value, task: &Task) -> bool {
    let mut template = template.clone();
    if let Some(fields) = template.as_object_mut() {
        fields.remove("Runtime");
    }
    let spec = serde_json::to_value(&task.spec).expect("a task spec is JSON");
    let differences = super::diff::missing(&template, &spec);
    tracing::debug!(task = ?task.id, ?differences, "is the task on its service's spec");
    differences.is_empty()
}

/// The task states after which a task does nothing more.
const ENDED: &[&str] = &[
    "complete", "shutdown", "failed", "rejected", "orphaned", "remove",
];

pub const HEADERS: [&str; 6] = [
    "NAME",
    "SERVICE",
    "NODE",
    "DESIRED STATE",
    "CURRENT STATE",
    "ERROR",
];

#[cfg(test)]
mod tests {
    use bollard::models::{TaskState, TaskStatus};

    use super::*;

    #[test]
    fn a_task_is_named_by_its_slot_and_shows_its_node_and_states() {
        let task = Task {
            id: Some("t1".into()),
            slot: Some(2),
            node_id: Some("n1".into()),
            desired_state: Some(TaskState::RUNNING),
            status: Some(TaskStatus {
                state: Some(TaskState::FAILED),
                err: Some("task: non-zero exit (1)".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let hostnames = HashMap::from([("n1".to_string(), "node-1".to_string())]);
        let row = TaskRow::new(
            "shop",
            "shop_web",
            &serde_json::Value::Null,
            &task,
            &hostnames,
        );
        assert_eq!(
            row.cells(),
            [
                "shop_web.2",
                "web",
                "node-1",
                "running",
                "failed",
                "task: non-zero exit (1)"
            ]
        );
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["Service"], "web");
        assert_eq!(json["Node"], "node-1");
        assert_eq!(json["ID"], "t1");
    }

    fn row(state: TaskState) -> TaskRow {
        let task = Task {
            slot: Some(1),
            node_id: Some("n3".into()),
            desired_state: Some(TaskState::SHUTDOWN),
            status: Some(TaskStatus {
                state: Some(state),
                ..Default::default()
            }),
            ..Default::default()
        };
        let hostnames = HashMap::from([("n3".to_string(), "node-3".to_string())]);
        TaskRow::new(
            "shop",
            "shop_web",
            &serde_json::Value::Null,
            &task,
            &hostnames,
        )
    }

    #[test]
    fn a_task_on_a_lost_node_is_not_shown_running_and_says_why() {
        let lost = row(TaskState::RUNNING).on_lost_node("down");
        assert_eq!(lost.state, "unknown");
        assert_eq!(lost.error, "node node-3 is down (last seen running)");
        let ended = row(TaskState::COMPLETE).on_lost_node("down");
        assert_eq!(
            (ended.state.as_str(), ended.error.as_str()),
            ("complete", "")
        );
    }
}
