//! Plans for `start`, `stop`, `restart` and `build`: the same pure decisions as `reconcile`,
//! for commands that act on existing containers or images only.

use std::time::Duration;

use super::{Action, Cause, ContainerRef, Plan};
use crate::desired::{Desired, DesiredService};
use crate::graph::ServiceGraph;
use crate::observe::{Observed, ObservedContainer};
use crate::spec::model::DependencyCondition;

/// The services a command names, or all of them, in the order `levels` gives.
fn selected<'a>(
    levels: Vec<Vec<String>>,
    observed: &'a Observed,
    services: &[String],
) -> Vec<(&'a String, &'a Vec<ObservedContainer>)> {
    let mut out = Vec::new();
    for name in levels.into_iter().flatten() {
        if !services.is_empty() && !services.contains(&name) {
            continue;
        }
        if let Some((key, containers)) = observed.services.get_key_value(&name) {
            out.push((key, containers));
        }
    }
    // Services the graph does not know (orphans) come last, in observed order.
    for (name, containers) in &observed.services {
        if (services.is_empty() || services.contains(name)) && !out.iter().any(|(n, _)| *n == name)
        {
            out.push((name, containers));
        }
    }
    out
}

fn container_ref(c: &ObservedContainer) -> ContainerRef {
    ContainerRef {
        name: c.name.clone(),
        id: Some(c.id.clone()),
    }
}

fn levels(graph: Option<&ServiceGraph>, reverse: bool) -> Vec<Vec<String>> {
    match graph {
        Some(g) if reverse => g.stop_levels(),
        Some(g) => g.start_levels(),
        None => Vec::new(),
    }
}

/// `stop`: running containers of the services, dependents first. Each service's stops wait for
/// the stops of the services that depend on it.
pub fn stop(
    graph: Option<&ServiceGraph>,
    observed: &Observed,
    services: &[String],
    timeout: Option<Duration>,
) -> Plan {
    let mut plan = Plan::default();
    let mut previous: Vec<usize> = Vec::new();
    for (service, containers) in selected(levels(graph, true), observed, services) {
        let ids: Vec<usize> = containers
            .iter()
            .filter(|c| c.is_running())
            .map(|c| {
                plan.push(
                    Action::StopContainer {
                        service: service.clone(),
                        container: container_ref(c),
                        timeout,
                    },
                    Cause::Requested,
                    previous.clone(),
                )
            })
            .collect();
        if !ids.is_empty() {
            previous = ids;
        }
    }
    plan
}

/// `start`: stopped containers of the services, dependencies first.
pub fn start(graph: Option<&ServiceGraph>, observed: &Observed, services: &[String]) -> Plan {
    let mut plan = Plan::default();
    let mut previous: Vec<usize> = Vec::new();
    for (service, containers) in selected(levels(graph, false), observed, services) {
        let ids: Vec<usize> = containers
            .iter()
            .filter(|c| !c.is_running())
            .map(|c| {
                plan.push(
                    Action::StartContainer {
                        service: service.clone(),
                        container: container_ref(c),
                    },
                    Cause::Requested,
                    previous.clone(),
                )
            })
            .collect();
        if !ids.is_empty() {
            previous = ids;
        }
    }
    plan
}

/// Builds of the services with a `build` section that `wanted` picks: `wharf build` takes
/// them all, `up --build` too, plain `up` those with `pull_policy: build`.
pub fn build(
    desired: &Desired,
    services: &[String],
    wanted: impl Fn(&DesiredService) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    for (name, service) in &desired.services {
        if (!services.is_empty() && !services.contains(name)) || !wanted(service) {
            continue;
        }
        if let Some(build) = &service.build {
            plan.push(
                Action::BuildImage {
                    service: name.clone(),
                    image: service.image.clone(),
                    build: build.clone(),
                },
                Cause::Build,
                Vec::new(),
            );
        }
    }
    plan
}

/// `up --wait`: every service running, and healthy when it has a healthcheck.
pub fn wait(desired: &Desired, services: &[String]) -> Plan {
    let mut plan = Plan::default();
    for (name, service) in &desired.services {
        if service.replicas == 0 || (!services.is_empty() && !services.contains(name)) {
            continue;
        }
        let healthcheck = service
            .container
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.test.first().map(String::as_str) != Some("NONE"));
        let condition = if healthcheck {
            DependencyCondition::ServiceHealthy
        } else {
            DependencyCondition::ServiceStarted
        };
        plan.push(
            Action::WaitFor {
                service: name.clone(),
                condition,
                required: true,
            },
            Cause::Requested,
            Vec::new(),
        );
    }
    plan
}
