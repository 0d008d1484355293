//! A plan's wait for a dependency's `depends_on` condition: the stack's tasks are polled until
//! the condition is met (`condition.rs` decides), it fails, or the deadline passes.

use std::time::{Duration, Instant};

use bollard::Docker;

use super::client;
use super::condition::{self, Condition, Status};
use super::converged::{Restarts, Want};
use super::names;
use crate::engine::EngineError;

/// How often the tasks are looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// What one wait is for: the dependency's swarm name, its condition, how many tasks it runs
/// and which ended ones the swarm replaces.
pub struct Dependency<'a> {
    pub service: &'a str,
    pub condition: Condition,
    pub tasks: Option<i64>,
    pub restarts: Restarts,
}

/// Waits until `dependency` of the stack `project` meets its condition, telling `pending`
/// where it is each time that changes; fails with the task that failed, or, past `deadline`,
/// with where it was.
pub async fn until(
    docker: &Docker,
    project: &str,
    dependency: &Dependency<'_>,
    deadline: Instant,
    pending: &(dyn Fn(&str) + Sync),
) -> Result<(), EngineError> {
    let key = names::service_key(project, dependency.service).unwrap_or(dependency.service);
    let want = Want {
        service: key.to_string(),
        replicas: dependency.tasks,
        restarts: dependency.restarts,
    };
    let mut told = String::new();
    loop {
        let rows = client::tasks(docker, project).await?;
        let message = match condition::status(dependency.condition, &want, &rows) {
            Status::Met => return Ok(()),
            Status::Failed(message) => return Err(EngineError::Engine { message }),
            Status::Waiting(where_it_is) => where_it_is,
        };
        if message != told {
            pending(&message);
            told = message;
        }
        if Instant::now() >= deadline {
            let message = format!("{told} (not {} in time)", dependency.condition);
            return Err(EngineError::Engine { message });
        }
        tokio::time::sleep(POLL).await;
    }
}
