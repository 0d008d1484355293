//! Stopping a container and waiting for its exit: the engine's stop, wharf's quicker end (the
//! stop signal, then SIGKILL, returning at the `die` event), and the engine's `wait`.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    EventsOptionsBuilder, KillContainerOptionsBuilder, StopContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures_util::stream::StreamExt;

use super::client::{LONG_REQUEST_TIMEOUT, REQUEST_TIMEOUT};
use super::errors::container_error;
use super::events::events_since;
use super::fields::ceil_secs;
use crate::engine::timestamp::unix_nanos;
use crate::engine::{EngineError, Result};

/// The engine's grace period between the stop signal and SIGKILL, when nothing sets one.
const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);

/// The engine's stop: signal, grace period, SIGKILL, and the cleanup after the exit.
pub(super) async fn stop(docker: &Docker, id: &str, timeout: Option<Duration>) -> Result<()> {
    let mut options = StopContainerOptionsBuilder::new();
    let mut client_timeout = REQUEST_TIMEOUT;
    if let Some(timeout) = timeout {
        options = options.t(ceil_secs(timeout).min(i32::MAX as i64) as i32);
        client_timeout += timeout;
    } else {
        // The container's own stop timeout applies; it may be long.
        client_timeout = LONG_REQUEST_TIMEOUT;
    }
    let docker = docker.clone().with_timeout(client_timeout);
    // An already stopped container answers 304, which bollard takes as success.
    docker
        .stop_container(id, Some(options.build()))
        .await
        .map_err(|e| container_error(id, e))
}

/// The container's stop signal, then SIGKILL once the grace period is over, as the
/// engine's own stop does; but this returns at the `die` event, where the engine's stop
/// (and its `wait`) return only after it has cleaned up after the exit (network endpoints,
/// mounts: a few hundred ms, under the container's lock). Nothing that waits for a stop
/// needs that cleanup (a removal waits for it in the engine), and `down` stops services
/// one dependency level after another.
pub(super) async fn end(docker: &Docker, id: &str, timeout: Option<Duration>) -> Result<()> {
    let inspected = super::containers::inspect(docker, id).await?;
    let state = inspected.state.as_ref();
    if !state.and_then(|s| s.running).unwrap_or(false) {
        return Ok(());
    }
    if state.and_then(|s| s.paused).unwrap_or(false) {
        // A paused process takes no signal until it is thawed: the engine's stop does that.
        return stop(docker, id, timeout).await;
    }
    let config = inspected.config.as_ref();
    let signal = config
        .and_then(|c| c.stop_signal.clone())
        .filter(|signal| !signal.is_empty())
        .unwrap_or_else(|| "SIGTERM".to_string());
    let grace = timeout
        .or_else(|| {
            let seconds = config.and_then(|c| c.stop_timeout)?;
            Some(Duration::from_secs(u64::try_from(seconds).ok()?))
        })
        .unwrap_or(DEFAULT_STOP_GRACE);
    // This run's `die` is the first one since it started (the engine's clock, so no skew).
    let since = state
        .and_then(|s| s.started_at.as_deref())
        .and_then(unix_nanos)
        .map(events_since);
    let since = since.as_deref();
    if signal_and_wait(docker, id, &signal, since, Some(grace)).await? {
        return Ok(());
    }
    signal_and_wait(docker, id, "SIGKILL", since, None)
        .await
        .map(|_| ())
}

/// Sends `signal` and waits for the container's process to exit, for at most `limit`:
/// true when it has exited (or was not running any more), false when the limit passed.
/// The exit is its first `die` event since `since`, replayed by the engine if it came
/// before the subscription; without `since`, or if the event stream fails, the engine's
/// `wait`.
async fn signal_and_wait(
    docker: &Docker,
    id: &str,
    signal: &str,
    since: Option<&str>,
    limit: Option<Duration>,
) -> Result<bool> {
    let options = KillContainerOptionsBuilder::new().signal(signal).build();
    match docker.kill_container(id, Some(options)).await {
        Ok(()) => {}
        // 409: it is not running (any more).
        Err(BollardError::DockerResponseServerError {
            status_code: 409, ..
        }) => return Ok(true),
        Err(e) => return Err(container_error(id, e)),
    }
    let exited = async {
        if let Some(since) = since {
            let filters = HashMap::from([("container", vec![id]), ("event", vec!["die"])]);
            let options = EventsOptionsBuilder::new()
                .filters(&filters)
                .since(since)
                .build();
            if let Some(Ok(_)) = docker.events(Some(options)).next().await {
                return Ok(());
            }
        }
        wait_exit(docker, id, limit).await
    };
    match limit {
        Some(limit) => match tokio::time::timeout(limit, exited).await {
            Ok(exited) => exited.map(|()| true),
            Err(_) => Ok(false),
        },
        None => exited.await.map(|()| true),
    }
}

/// The engine's `wait` for the container to stop running.
async fn wait_exit(docker: &Docker, id: &str, limit: Option<Duration>) -> Result<()> {
    let docker = docker
        .clone()
        .with_timeout(limit.unwrap_or(LONG_REQUEST_TIMEOUT) + REQUEST_TIMEOUT);
    let options = WaitContainerOptionsBuilder::new()
        .condition("not-running")
        .build();
    match docker.wait_container(id, Some(options)).next().await {
        // bollard reports a non-zero exit code as an error: it is an exit all the same.
        None | Some(Ok(_)) | Some(Err(BollardError::DockerContainerWaitError { .. })) => Ok(()),
        Some(Err(e)) => Err(container_error(id, e)),
    }
}

/// The engine's `wait` for the container to stop running, with its exit code.
pub(super) async fn wait(docker: &Docker, id: &str) -> Result<i64> {
    // A one-off may run for hours: no request timeout.
    let docker = docker.clone().with_timeout(Duration::MAX / 4);
    let options = WaitContainerOptionsBuilder::new()
        .condition("not-running")
        .build();
    match docker.wait_container(id, Some(options)).next().await {
        Some(Ok(response)) => Ok(response.status_code),
        // bollard reports a non-zero exit code as an error: it is an exit all the same.
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
        None => Err(EngineError::Engine {
            message: format!("the engine's wait for container {id} ended without an exit"),
        }),
        Some(Err(e)) => Err(container_error(id, e)),
    }
}
