//! `down`: the project's containers stopped and removed, dependents first, then its networks,
//! with `-v` its volumes, with `--rmi` its images. It works from what is observed alone.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::containers::{orphan_warning, stop_and_remove_after};
use super::{Cause, DownOptions, EngineCall, Plan, ResourceKind, Rmi};
use crate::desired::{Desired, Hook};
use crate::graph::ServiceGraph;
use crate::observe::{Observed, ObservedContainer};

/// The services a container said it depends on, for `down` without a file.
fn recorded_dependencies(c: &ObservedContainer) -> Vec<String> {
    let marks = &c.identity.depends_on;
    marks.iter().map(|mark| mark.service.clone()).collect()
}

/// `down`: stop and remove the project's containers (dependents first), then its networks,
/// and with `-v` its volumes. Works from the observed state alone; a desired state gives the
/// dependency order and tells orphans apart.
pub fn down(
    project: &str,
    desired: Option<&Desired>,
    observed: &Observed,
    options: &DownOptions,
) -> Plan {
    let mut plan = Plan::default();

    // Containers by service (one-off containers with their service), by name.
    let mut by_service: BTreeMap<&str, Vec<&ObservedContainer>> = BTreeMap::new();
    for c in observed.containers().chain(&observed.oneoff) {
        by_service.entry(c.service()).or_default().push(c);
    }
    for containers in by_service.values_mut() {
        containers.sort_by(|a, b| (a.number(), &a.name).cmp(&(b.number(), &b.name)));
    }
    let is_orphan = |service: &str| desired.is_some_and(|d| !d.knows(service));
    let mut left: Vec<&ObservedContainer> = Vec::new();
    if !options.remove_orphans {
        by_service.retain(|service, containers| {
            if is_orphan(service) {
                left.extend(containers.iter());
                false
            } else {
                true
            }
        });
    }
    if !left.is_empty() {
        plan.warnings.push(orphan_warning(&left));
    }

    // The dependency graph: the file's for its services, the labels' for the others.
    let mut dependencies: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    if let Some(desired) = desired {
        for (name, service) in &desired.services {
            dependencies.insert(name, service.depends_on.keys().cloned().collect());
        }
    }
    for (service, containers) in &by_service {
        dependencies
            .entry(service)
            .or_insert_with(|| recorded_dependencies(containers[0]));
    }
    let known: HashSet<&str> = dependencies.keys().copied().collect();
    let graph = ServiceGraph::new(dependencies.iter().map(|(name, deps)| {
        (
            *name,
            deps.iter()
                .map(String::as_str)
                .filter(|d| known.contains(d)),
        )
    }))
    .or_else(|_| ServiceGraph::new(known.iter().map(|name| (*name, std::iter::empty()))))
    .expect("a graph without edges is valid");

    // `down SERVICE...`: those services and their dependents; the other containers stay.
    let mut staying: Vec<&ObservedContainer> = Vec::new();
    if !options.services.is_empty() {
        let scope: HashSet<String> = options
            .services
            .iter()
            .flat_map(|s| graph.dependents_of(s).into_iter().chain([s.clone()]))
            .collect();
        by_service.retain(|service, containers| {
            let kept = scope.contains(*service);
            if !kept {
                staying.extend(containers.iter());
            }
            kept
        });
    }

    // Stop dependents first: a service's stops wait for the stops of its nearest dependents
    // that have any.
    let cause = |service: &str| {
        if is_orphan(service) {
            Cause::Orphan
        } else {
            Cause::Down
        }
    };
    // The file's `pre_stop` hooks; without a file, or for an orphan, there are none.
    let pre_stop = |service: &str| -> &[Hook] {
        desired
            .and_then(|d| d.services.get(service))
            .map_or(&[], |s| s.hooks.pre_stop.as_slice())
    };
    let mut stop_ops: HashMap<String, Vec<usize>> = HashMap::new();
    let mut removals: Vec<usize> = Vec::new();
    for service in graph
        .stop_levels_for(by_service.keys().copied())
        .into_iter()
        .flatten()
    {
        let after = nearest_stops(&graph, &service, &stop_ops);
        let mut stops = Vec::new();
        for c in &by_service[service.as_str()] {
            let (stop, remove) = stop_and_remove_after(
                &mut plan,
                c,
                cause(&service),
                options.timeout,
                pre_stop(&service),
                options.volumes,
                after.clone(),
            );
            stops.extend(stop);
            removals.push(remove);
        }
        stop_ops.insert(service, stops);
    }

    // Networks and volumes that carry our label and are not declared external.
    let external = |kind: ResourceKind, name: &str| {
        desired.is_some_and(|d| match kind {
            ResourceKind::Network => d.networks.values().any(|n| n.external && n.name == name),
            ResourceKind::Volume => d.volumes.values().any(|v| v.external && v.name == name),
        })
    };
    let mut networks: Vec<&str> = observed
        .networks
        .values()
        .filter(|n| n.is_owned_by(project) && !external(ResourceKind::Network, &n.engine.name))
        .map(|n| n.engine.name.as_str())
        .collect();
    networks.sort_unstable();
    for network in networks {
        let mut users: Vec<&str> = left
            .iter()
            .filter(|c| c.is_up() && c.engine.addresses.contains_key(network))
            .map(|c| c.name.as_str())
            .collect();
        if !users.is_empty() {
            users.sort_unstable();
            plan.warnings.push(format!(
                "network {network} is kept: orphan containers use it ({})",
                users.join(", ")
            ));
            continue;
        }
        if staying
            .iter()
            .any(|c| c.is_up() && c.engine.addresses.contains_key(network))
        {
            continue;
        }
        plan.push(
            EngineCall::RemoveNetwork {
                name: network.to_string(),
            },
            Cause::Down,
            removals.clone(),
        );
    }
    if let Some(rmi) = options.rmi {
        // The images of the services `down` acts on: the file's, else their containers'.
        let mut images: Vec<(String, String)> = Vec::new();
        if let Some(desired) = desired {
            for (name, service) in &desired.services {
                if options.services.is_empty() || by_service.contains_key(name.as_str()) {
                    images.push((name.clone(), service.image.clone()));
                }
            }
        }
        for (service, containers) in &by_service {
            if !desired.is_some_and(|d| d.knows(service)) {
                images.extend(
                    containers
                        .iter()
                        .map(|c| (service.to_string(), c.engine.image.clone())),
                );
            }
        }
        images
            .retain(|(service, image)| rmi == Rmi::All || *image == format!("{project}-{service}"));
        images.sort_by(|a, b| a.1.cmp(&b.1));
        images.dedup_by(|a, b| a.1 == b.1);
        for (service, image) in images {
            plan.push(
                EngineCall::RemoveImage { service, image },
                Cause::Down,
                removals.clone(),
            );
        }
    }
    if options.volumes {
        let mut volumes: Vec<&str> = observed
            .volumes
            .values()
            .filter(|v| v.is_owned_by(project) && !external(ResourceKind::Volume, &v.engine.name))
            .filter(|_| options.services.is_empty())
            .map(|v| v.engine.name.as_str())
            .collect();
        // The anonymous volumes of the removed containers too: the engine removes those with
        // the container, but not one a recreate passed on by name to the new container.
        let kept: HashSet<&str> = left
            .iter()
            .chain(&staying)
            .flat_map(|c| &c.engine.volumes)
            .map(|v| v.name.as_str())
            .collect();
        volumes.extend(
            by_service
                .values()
                .flatten()
                .flat_map(|c| &c.engine.volumes)
                .filter(|v| v.anonymous && !kept.contains(v.name.as_str()))
                .map(|v| v.name.as_str()),
        );
        volumes.sort_unstable();
        volumes.dedup();
        for volume in volumes {
            plan.push(
                EngineCall::RemoveVolume {
                    name: volume.to_string(),
                },
                Cause::Down,
                removals.clone(),
            );
        }
    }
    plan
}

/// The stop operations of the dependents of `service` that are closest to it: a dependent
/// without stops (not running, or not being removed) is looked through.
fn nearest_stops(
    graph: &ServiceGraph,
    service: &str,
    stop_ops: &HashMap<String, Vec<usize>>,
) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue = graph.direct_dependents(service);
    while let Some(dependent) = queue.pop() {
        if !seen.insert(dependent.clone()) {
            continue;
        }
        match stop_ops.get(&dependent) {
            Some(ids) if !ids.is_empty() => out.extend(ids),
            _ => queue.extend(graph.direct_dependents(&dependent)),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
