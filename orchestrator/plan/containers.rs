//! What plans do with one container: name it, make its spec, tell whether it must be stopped
//! or started, stop and remove it.

use std::time::Duration;

use super::{Cause, ContainerRef, EngineCall, Plan};
use crate::desired::{ContainerSpec, DesiredService, Hook, MountKind};
use crate::observe::{ContainerState, ObservedContainer};

/// Compose's warning for containers of services that are no longer in the file.
pub(super) fn orphan_warning(orphans: &[&ObservedContainer]) -> String {
    let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
    format!(
        "found orphan containers ([{}]) for this project; run with --remove-orphans to remove them",
        names.join(", ")
    )
}

/// A container that exists, named by its ID.
pub(super) fn existing(c: &ObservedContainer) -> ContainerRef {
    ContainerRef {
        name: c.name.clone(),
        id: Some(c.id.clone()),
    }
}

/// A container this plan creates, named by its name.
pub(super) fn created(name: &str) -> ContainerRef {
    ContainerRef {
        name: name.to_string(),
        id: None,
    }
}

/// A container that must be stopped before it can be removed without force.
pub(super) fn needs_stop(c: &ObservedContainer) -> bool {
    matches!(
        c.state,
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
    )
}

/// The name a replacement is created under, until the old container is gone: compose's
/// `<first 12 characters of the old ID>_<name>`.
pub(super) fn temporary_name(old: &ObservedContainer, name: &str) -> String {
    let short: String = old.id.chars().take(12).collect();
    format!("{short}_{name}")
}

/// The service's container spec for replica `number`.
pub(super) fn replica_spec(service: &DesiredService, number: u32) -> Box<ContainerSpec> {
    let mut spec = service.container.clone();
    if let Some(identity) = &mut spec.identity {
        identity.number = Some(number);
    }
    Box::new(spec)
}

/// The spec of the container that replaces `old`. The anonymous volumes that `old` has where
/// the file still asks for an anonymous volume are mounted again, so that a recreate keeps
/// their data, as compose does (unless `renew`: `up -V`).
pub(super) fn replacement_spec(
    service: &DesiredService,
    number: u32,
    old: &ObservedContainer,
    renew: bool,
) -> Box<ContainerSpec> {
    let mut spec = replica_spec(service, number);
    let replaced = match &service.container_name {
        Some(name) => name.clone(),
        None => format!("{}-{number}", service.name),
    };
    if let Some(identity) = &mut spec.identity {
        identity.replaces = Some(replaced);
    }
    if !renew {
        for volume in old.engine.volumes.iter().filter(|v| v.anonymous) {
            let anonymous = spec.mounts.iter_mut().find(|m| {
                m.kind == MountKind::Volume && m.source.is_none() && m.target == volume.target
            });
            if let Some(mount) = anonymous {
                mount.source = Some(volume.name.clone());
            }
        }
    }
    spec
}

/// A kept container that `up` starts again.
pub(super) fn needs_start(c: &ObservedContainer) -> bool {
    matches!(
        c.state,
        ContainerState::Created | ContainerState::Exited | ContainerState::Dead
    )
}

/// Stops (when it runs) and removes a container; returns the id of the removal.
pub(super) fn stop_and_remove(
    plan: &mut Plan,
    c: &ObservedContainer,
    cause: Cause,
    timeout: Option<Duration>,
    pre_stop: &[Hook],
) -> usize {
    stop_and_remove_after(plan, c, cause, timeout, pre_stop, false, Vec::new()).1
}

/// Like `stop_and_remove`, with the stop (or the removal, when there is no stop) waiting for
/// `after`; returns the ids of the stop (if any) and of the removal.
pub(super) fn stop_and_remove_after(
    plan: &mut Plan,
    c: &ObservedContainer,
    cause: Cause,
    timeout: Option<Duration>,
    pre_stop: &[Hook],
    volumes: bool,
    after: Vec<usize>,
) -> (Option<usize>, usize) {
    let mut stop = None;
    let mut previous = after;
    if needs_stop(c) {
        let id = plan.push_stop(
            c.service(),
            existing(c),
            timeout,
            pre_stop,
            cause.clone(),
            previous,
        );
        stop = Some(id);
        previous = vec![id];
    }
    let remove = plan.push(
        EngineCall::RemoveContainer {
            service: c.service().to_string(),
            container: existing(c),
            volumes,
        },
        cause,
        previous,
    );
    (stop, remove)
}
