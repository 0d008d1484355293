//! The container calls of one request each: list, inspect, start, kill, remove, rename,
//! pause, unpause, top. Creating is `create`'s, stopping `stop`'s.

use std::collections::HashMap;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerInspectResponse, ContainerSummary};
use bollard::query_parameters::{
    KillContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RenameContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::stream::StreamExt;

use super::convert::{from_inspect, from_summary};
use super::errors::{container_error, engine_error};
use crate::engine::labels;
use crate::engine::{ContainerState, EngineContainer, EngineError, ProcessList, Result};

/// The containers with a label (`KEY` or `KEY=VALUE`); stopped ones too with `all`.
async fn labelled(docker: &Docker, label: String, all: bool) -> Result<Vec<ContainerSummary>> {
    let filters = HashMap::from([("label".to_string(), vec![label])]);
    let options = ListContainersOptionsBuilder::new()
        .all(all)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .map_err(engine_error)
}

pub(super) async fn inspect(docker: &Docker, id: &str) -> Result<ContainerInspectResponse> {
    docker
        .inspect_container(id, None)
        .await
        .map_err(|e| container_error(id, e))
}

/// The project's containers, stopped ones too, by name.
pub(super) async fn of_project(docker: &Docker, project: &str) -> Result<Vec<EngineContainer>> {
    let summaries = labelled(docker, format!("{}={project}", labels::PROJECT), true).await?;
    let mut out = Vec::with_capacity(summaries.len());
    for summary in summaries {
        let mut container = from_summary(&summary);
        // The list's status text carries the exit code; a dead container's needs an inspect.
        if matches!(
            container.state,
            ContainerState::Exited | ContainerState::Dead
        ) && container.exit_code.is_none()
        {
            match inspect(docker, &container.id).await {
                Ok(inspected) => {
                    container.exit_code = inspected.state.as_ref().and_then(|s| s.exit_code)
                }
                // Removed between the list and the inspect.
                Err(EngineError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        out.push(container);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub(super) async fn one(docker: &Docker, id_or_name: &str) -> Result<EngineContainer> {
    let inspected = inspect(docker, id_or_name).await?;
    Ok(from_inspect(&inspected))
}

/// The containers of every compose project (the running ones unless `all`).
pub(super) async fn of_every_project(docker: &Docker, all: bool) -> Result<Vec<EngineContainer>> {
    let summaries = labelled(docker, labels::PROJECT.to_string(), all).await?;
    Ok(summaries.iter().map(from_summary).collect())
}

pub(super) async fn start(docker: &Docker, id: &str) -> Result<()> {
    docker
        .start_container(id, None)
        .await
        .map_err(|e| container_error(id, e))
}

pub(super) async fn kill(docker: &Docker, id: &str, signal: &str) -> Result<()> {
    let options = KillContainerOptionsBuilder::new().signal(signal).build();
    docker
        .kill_container(id, Some(options))
        .await
        .map_err(|e| container_error(id, e))
}

/// Removes a container (a running one is killed first). One that the engine is removing
/// already, for a client that asked just before (a wharf process killed right after it asked,
/// then run again), is waited for: the removal is over when this returns, as when it is ours.
pub(super) async fn remove(docker: &Docker, id: &str, volumes: bool) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(volumes)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Err(BollardError::DockerResponseServerError {
            status_code: 409,
            message,
        }) if message.contains("already in progress") => wait_removed(docker, id).await,
        removed => removed.map_err(|e| container_error(id, e)),
    }
}

/// The engine's `wait` for the container to be removed; `NotFound` when it is gone already.
async fn wait_removed(docker: &Docker, id: &str) -> Result<()> {
    let options = WaitContainerOptionsBuilder::new()
        .condition("removed")
        .build();
    match docker.wait_container(id, Some(options)).next().await {
        // bollard reports a non-zero exit code as an error: the container is gone all the same.
        None | Some(Ok(_)) | Some(Err(BollardError::DockerContainerWaitError { .. })) => Ok(()),
        Some(Err(e)) => Err(container_error(id, e)),
    }
}

pub(super) async fn rename(docker: &Docker, id: &str, name: &str) -> Result<()> {
    let options = RenameContainerOptionsBuilder::new().name(name).build();
    docker
        .rename_container(id, options)
        .await
        .map_err(|e| match e {
            BollardError::DockerResponseServerError {
                status_code: 409, ..
            } => EngineError::Conflict(format!("container {name}")),
            e => container_error(id, e),
        })
}

pub(super) async fn pause(docker: &Docker, id: &str) -> Result<()> {
    docker
        .pause_container(id)
        .await
        .map_err(|e| container_error(id, e))
}

pub(super) async fn unpause(docker: &Docker, id: &str) -> Result<()> {
    docker
        .unpause_container(id)
        .await
        .map_err(|e| container_error(id, e))
}

pub(super) async fn top(docker: &Docker, id: &str) -> Result<ProcessList> {
    let top = docker
        .top_processes(id, None::<bollard::query_parameters::TopOptions>)
        .await
        .map_err(|e| container_error(id, e))?;
    Ok(ProcessList {
        titles: top.titles.unwrap_or_default(),
        processes: top.processes.unwrap_or_default(),
    })
}
