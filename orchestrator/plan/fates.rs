//! The fate of every container of a service, decided before any operation is written: which
//! replica numbers are kept, recreated (and why) or created, and which containers go.

use std::collections::{HashMap, HashSet};

use super::images::image_action;
use super::{Cause, EngineCall, ReconcileOptions};
use crate::desired::{DesiredService, Namespace};
use crate::observe::{ContainerState, Observed, ObservedContainer};

/// What happens to one replica number of a service.
pub(super) enum Fate<'a> {
    /// Up to date; started when it is not running, renamed when an interrupted replacement
    /// left it under its temporary name.
    Keep(&'a ObservedContainer),
    /// Diverged: replaced by a new container with the same number.
    Recreate(&'a ObservedContainer, Cause),
    /// No container has this number (any more): created, for this reason.
    Create(Cause),
}

/// Every decision about one service, made before any operation is written.
pub(super) struct ServiceFates<'a> {
    pub service: &'a DesiredService,
    /// Containers to stop and remove (scale down, duplicate numbers), in removal order.
    pub removals: Vec<(&'a ObservedContainer, Cause)>,
    /// By replica number.
    pub replicas: Vec<(u32, Fate<'a>)>,
    /// The image operation this service needs, if any.
    pub image: Option<(EngineCall, Cause)>,
}

/// The services whose namespaces this one joins (`network_mode`, `pid`, `ipc`), which must
/// have a container first and whose replacement replaces this one.
pub(super) fn namespace_services(service: &DesiredService) -> impl Iterator<Item = &str> {
    let spec = &service.container;
    [&spec.network_mode, &spec.pid, &spec.ipc]
        .into_iter()
        .filter_map(|mode| match mode {
            Some(Namespace::Service(name)) => Some(name.as_str()),
            _ => None,
        })
}

/// Decides the fate of every container of one service.
pub(super) fn decide_fates<'a>(
    project: &str,
    service: &'a DesiredService,
    observed: &'a Observed,
    options: &ReconcileOptions,
    recreated: &HashSet<String>,
    replaced: Option<&Cause>,
) -> ServiceFates<'a> {
    if let Some(cause) = replaced {
        // Its containers are removed with the network they are on: every replica is new.
        let replicas: Vec<(u32, Fate)> = (1..=service.replicas)
            .map(|n| (n, Fate::Create(cause.clone())))
            .collect();
        return ServiceFates {
            service,
            removals: Vec::new(),
            image: image_action(service, observed, options, !replicas.is_empty()),
            replicas,
        };
    }
    let existing: &[ObservedContainer] = observed
        .services
        .get(&service.name)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let image_id = observed.images.get(&service.image);
    let divergence = |c: &ObservedContainer| -> Option<Cause> {
        if options.force_recreate {
            return Some(Cause::Forced);
        }
        if c.identity.config_hash != service.config_hash {
            return Some(Cause::ConfigChanged);
        }
        if image_id.is_some_and(|id| *id != c.image_id) {
            return Some(Cause::ImageChanged);
        }
        if content_changed(service, c) {
            return Some(Cause::ContentChanged);
        }
        let restarts = service
            .depends_on
            .iter()
            .filter(|(_, d)| d.restart)
            .map(|(name, _)| name.as_str());
        restarts
            .chain(namespace_services(service))
            .find(|dep| recreated.contains(*dep))
            .map(|dep| Cause::DependencyRecreated(dep.to_string()))
    };

    // One container per number: an up-to-date one keeps it before a diverged one, then the
    // oldest (so an interrupted replacement is finished, not started again); the others, and
    // containers without a number, are removed. One the engine is removing already (for a
    // wharf process killed right after it asked) holds no number: its removal is waited for.
    let diverged: HashMap<&str, bool> = existing
        .iter()
        .map(|c| (c.id.as_str(), divergence(c).is_some()))
        .collect();
    let mut unique: Vec<&ObservedContainer> = Vec::new();
    let mut removals: Vec<(&ObservedContainer, Cause)> = Vec::new();
    for c in existing {
        if c.state == ContainerState::Removing {
            let replacing = Cause::Replacing(service.container_name(project, c.number()));
            removals.push((c, replacing));
            continue;
        }
        if c.number() == 0 {
            removals.push((c, Cause::ScaleDown));
            continue;
        }
        match unique.iter_mut().find(|u| u.number() == c.number()) {
            None => unique.push(c),
            Some(holder) if diverged[holder.id.as_str()] && !diverged[c.id.as_str()] => {
                // The new container of an interrupted replacement takes over.
                let replacing = Cause::Replacing(service.container_name(project, c.number()));
                removals.push((std::mem::replace(holder, c), replacing));
            }
            Some(_) => removals.push((c, Cause::ScaleDown)),
        }
    }
    // Keep up-to-date containers first, then the lowest numbers.
    let wanted = service.replicas as usize;
    let mut ranked = unique;
    ranked.sort_by_key(|c| (diverged[c.id.as_str()], c.number()));
    let mut surplus = ranked.split_off(wanted.min(ranked.len()));
    let mut kept = ranked;
    kept.sort_by_key(|c| c.number());
    // Diverged replicas first, then the highest numbers.
    surplus.sort_by_key(|c| (!diverged[c.id.as_str()], std::cmp::Reverse(c.number())));
    removals.extend(surplus.into_iter().map(|c| (c, Cause::ScaleDown)));

    let mut replicas: Vec<(u32, Fate)> = kept
        .iter()
        .map(|c| {
            let replica = match divergence(c) {
                Some(cause) if !options.no_recreate => Fate::Recreate(c, cause),
                _ => Fate::Keep(c),
            };
            (c.number(), replica)
        })
        .collect();
    let mut number = 0;
    for _ in kept.len()..wanted {
        number += 1;
        while kept.iter().any(|c| c.number() == number) {
            number += 1;
        }
        replicas.push((number, Fate::Create(Cause::Missing)));
    }
    replicas.sort_by_key(|(n, _)| *n);

    let needs_containers = replicas
        .iter()
        .any(|(_, r)| matches!(r, Fate::Create(_) | Fate::Recreate(..)));
    ServiceFates {
        service,
        removals,
        replicas,
        image: image_action(service, observed, options, needs_containers),
    }
}

/// Whether what the replica's secrets and configs hold changed since it was created. A
/// container without wharf's content hash (compose made it) is taken as it is: compose does
/// not recreate for content, and neither tool should undo the other's containers.
fn content_changed(service: &DesiredService, c: &ObservedContainer) -> bool {
    let desired = service.container.identity.as_ref();
    match &c.identity.content_hash {
        Some(observed) => desired.and_then(|d| d.content_hash.as_ref()) != Some(observed),
        None => false,
    }
}
