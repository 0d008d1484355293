//! What the verbs that act on existing containers one call each share (`kill`, `pause`,
//! `unpause`, `rm`): the containers of the services named, the same engine call on each at
//! once with one line per container, and the marks that keep a supervisor away.

use std::future::Future;

use futures_util::future::join_all;

use super::error::CliError;
use super::output;
use super::progress::Progress;
use crate::engine::{self, ContainerState};
use crate::observe::{Observed, ObservedContainer};
use crate::supervisor::state::StateDir;

/// The containers of `services` (every service when empty) that `keep` accepts, lowest
/// replica number first within a service.
pub fn containers<'a>(
    observed: &'a Observed,
    services: &[String],
    keep: impl Fn(&ObservedContainer) -> bool,
) -> Vec<&'a ObservedContainer> {
    observed
        .services
        .iter()
        .filter(|(name, _)| services.is_empty() || services.contains(name))
        .flat_map(|(_, containers)| containers)
        .filter(|c| keep(c))
        .collect()
}

/// Running, restarting or paused: it has a process, which compose's `kill`, `pause`, `unpause`
/// and `port` act on (and which `rm` refuses without `--stop`). Wider than
/// `ObservedContainer::is_up`, which leaves paused ones out.
pub fn has_process(c: &ObservedContainer) -> bool {
    matches!(
        c.state,
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
    )
}

/// Runs `act` on every container at once and prints ` ✔ Container NAME  DONE` as each
/// succeeds (` ✘ …` as one fails); `Err` with the failures, to be said afterwards.
pub async fn each<'a, F, Fut>(
    containers: &[&'a ObservedContainer],
    done: &str,
    act: F,
) -> Result<(), CliError>
where
    F: Fn(&'a ObservedContainer) -> Fut,
    Fut: Future<Output = engine::Result<()>>,
{
    let progress = Progress::new(containers.len());
    let results = join_all(containers.iter().map(|c| {
        let progress = &progress;
        let call = act(c);
        async move {
            let result = call.await;
            match &result {
                Ok(()) => progress.print(&format!(" ✔ Container {}  {done}", c.name)),
                Err(err) => progress.print(&format!(" ✘ Container {}  Error: {err}", c.name)),
            }
            result
        }
    }))
    .await;
    progress.finish();
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(Result::err)
        .map(|err| err.to_string())
        .collect();
    match failures.is_empty() {
        true => Ok(()),
        false => Err(CliError::Messages(failures)),
    }
}

/// `--dry-run`: what `each` would print, in compose's words, and nothing done.
pub fn dry_run(containers: &[&ObservedContainer], done: &str) {
    for c in containers {
        eprintln!(" DRY-RUN MODE -  Container {}  {done}", c.name);
    }
}

/// Marks services as stopped by the user, as `wharf stop` does: a running supervisor leaves
/// them alone until `start` or `up`. A mark that cannot be recorded is said, and the command
/// goes on.
pub fn mark_stopped<'a>(state: &StateDir, services: impl IntoIterator<Item = &'a str>) {
    for name in services {
        if let Err(err) = state.mark_user_stopped(name) {
            output::error_line(&format!("cannot record that {name} is stopped: {err}"));
        }
    }
}

/// Replica `index` of `service`, which must be running: compose's messages otherwise.
pub fn running_replica<'a>(
    observed: &'a Observed,
    service: &str,
    index: u32,
) -> Result<&'a ObservedContainer, CliError> {
    let found = observed
        .services
        .get(service)
        .and_then(|replicas| replicas.iter().find(|c| c.number() == index));
    match found {
        Some(container) if container.state == ContainerState::Running => Ok(container),
        _ => {
            let which = if index == 1 {
                String::new()
            } else {
                format!(" container #{index}")
            };
            Err(CliError::Message(format!(
                "service {service:?} is not running{which}"
            )))
        }
    }
}

/// `-e` values as `KEY=VALUE`: a bare `KEY` takes wharf's own value, and is left out when
/// wharf has none (as compose does).
pub fn environment(values: &[String]) -> Vec<String> {
    values
        .iter()
        .filter_map(|value| match value.split_once('=') {
            Some(_) => Some(value.clone()),
            None => std::env::var(value).ok().map(|v| format!("{value}={v}")),
        })
        .collect()
}
