//! Plans for `start`, `stop`, `restart` and `build`: the same pure decisions as `reconcile`,
//! for commands that act on existing containers or images only.

use std::time::Duration;

use super::{Action, Cause, ContainerRef, ControlStep, EngineCall, Plan, WaitCondition};
use crate::desired::{Desired, DesiredService, Hooks};
use crate::observe::{Observed, ObservedContainer};

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

fn levels(desired: Option<&Desired>, reverse: bool) -> Vec<Vec<String>> {
    match desired.map(|d| &d.graph) {
        Some(g) if reverse => g.stop_levels(),
        Some(g) => g.start_levels(),
        None => Vec::new(),
    }
}

/// `stop`: running containers of the services, dependents first, each after its service's
/// `pre_stop` hooks. Each service's stops wait for the stops of the services that depend on it.
pub fn stop(
    desired: Option<&Desired>,
    observed: &Observed,
    services: &[String],
    timeout: Option<Duration>,
) -> Plan {
    in_order(
        levels(desired, true),
        observed,
        services,
        ObservedContainer::is_up,
        |plan, service, container, after| {
            let pre_stop = hooks(desired, service).map_or(&[][..], |h| &h.pre_stop);
            plan.push_stop(
                service,
                container,
                timeout,
                pre_stop,
                Cause::Requested,
                after,
            )
        },
    )
}

/// `start`: stopped containers of the services, dependencies first, each followed by its
/// service's `post_start` hooks.
pub fn start(desired: Option<&Desired>, observed: &Observed, services: &[String]) -> Plan {
    in_order(
        levels(desired, false),
        observed,
        services,
        |c| !c.is_up(),
        |plan, service, container, after| {
            let post_start = hooks(desired, service).map_or(&[][..], |h| &h.post_start);
            plan.push_start(service, container, post_start, Cause::Requested, after)
        },
    )
}

/// A service's hooks, when the file is there and has the service.
fn hooks<'a>(desired: Option<&'a Desired>, service: &str) -> Option<&'a Hooks> {
    Some(&desired?.services.get(service)?.hooks)
}

/// The operations that `push` adds for each container that `wanted` picks, service by service
/// in `levels` order, each service's operations waiting for those of the service before it.
fn in_order(
    levels: Vec<Vec<String>>,
    observed: &Observed,
    services: &[String],
    wanted: impl Fn(&ObservedContainer) -> bool,
    push: impl Fn(&mut Plan, &str, ContainerRef, Vec<usize>) -> usize,
) -> Plan {
    let mut plan = Plan::default();
    let mut previous: Vec<usize> = Vec::new();
    for (service, containers) in selected(levels, observed, services) {
        let ids: Vec<usize> = containers
            .iter()
            .filter(|c| wanted(c))
            .map(|c| push(&mut plan, service, container_ref(c), previous.clone()))
            .collect();
        if !ids.is_empty() {
            previous = ids;
        }
    }
    plan
}

/// The services `restart SERVICE...` acts on: the named ones and, unless `--no-deps`, the
/// services that depend on one of them with `restart: true`, transitively, as compose restarts
/// them too. Empty (all services) stays empty.
pub fn restart_scope(desired: Option<&Desired>, services: &[String], no_deps: bool) -> Vec<String> {
    let mut scope = services.to_vec();
    let Some(desired) = desired.filter(|_| !no_deps && !services.is_empty()) else {
        return scope;
    };
    let mut grew = true;
    while grew {
        grew = false;
        for (name, service) in &desired.services {
            let restarts_with = service
                .depends_on
                .iter()
                .any(|(dependency, d)| d.restart && scope.contains(dependency));
            if restarts_with && !scope.contains(name) {
                scope.push(name.clone());
                grew = true;
            }
        }
    }
    scope
}

/// `wharf build`'s flags: they change every build it runs.
#[derive(Debug, Clone, Default)]
pub struct BuildFlags {
    /// `--build-arg KEY=VALUE`, or `KEY` (its value from the environment, left out when unset).
    pub args: Vec<(String, Option<String>)>,
    pub no_cache: bool,
    pub pull: bool,
    /// `--with-dependencies`: the named services' dependencies are built too, transitively.
    pub with_dependencies: bool,
}

/// `wharf build`: every service with a `build` section (or the named ones).
pub fn build(desired: &Desired, services: &[String]) -> Plan {
    image_operations(desired, services, |_| true, |_| false)
}

/// `wharf build` with its flags.
pub fn build_with(desired: &Desired, services: &[String], flags: &BuildFlags) -> Plan {
    let mut scope = services.to_vec();
    if flags.with_dependencies {
        for service in services {
            for dependency in desired.graph.dependencies_of(service) {
                if !scope.contains(&dependency) {
                    scope.push(dependency);
                }
            }
        }
    }
    let mut plan = build(desired, &scope);
    for op in &mut plan.operations {
        if let Action::Engine(EngineCall::BuildImage { build, .. }) = &mut op.action {
            for (key, value) in &flags.args {
                build.args.insert(key.clone(), value.clone());
            }
            build.no_cache |= flags.no_cache;
            build.pull |= flags.pull;
        }
    }
    plan
}

/// What `up` does to images before it plans: the builds the user asks for (`--build`, or
/// `pull_policy: build`) and the pulls of `pull_policy: always`. Running them first lets the
/// plan see the new image IDs, so a rebuilt or re-pulled image that did not change changes
/// nothing, and one that did is replaced in the same `up`.
pub fn prepare_images(desired: &Desired, services: &[String], build_all: bool) -> Plan {
    image_operations(
        desired,
        services,
        |s| build_all || s.pull_policy == "build",
        |s| s.pull_policy == "always",
    )
}

fn image_operations(
    desired: &Desired,
    services: &[String],
    build: impl Fn(&DesiredService) -> bool,
    pull: impl Fn(&DesiredService) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    for (name, service) in &desired.services {
        if !services.is_empty() && !services.contains(name) {
            continue;
        }
        let (action, cause) = match &service.build {
            Some(recipe) if build(service) => (
                EngineCall::BuildImage {
                    service: name.clone(),
                    image: service.image.clone(),
                    build: recipe.clone(),
                },
                Cause::Build,
            ),
            _ if pull(service) => (
                EngineCall::PullImage {
                    service: name.clone(),
                    image: service.image.clone(),
                    platform: service.container.platform.clone(),
                },
                Cause::PullAlways,
            ),
            _ => continue,
        };
        plan.push(action, cause, Vec::new());
    }
    plan
}

/// `up --wait`: every service running, and healthy when it has a healthcheck; a service that
/// another depends on with `service_completed_successfully` exited 0.
pub fn wait(desired: &Desired, services: &[String]) -> Plan {
    let mut plan = Plan::default();
    for (name, service) in &desired.services {
        if service.replicas == 0 || (!services.is_empty() && !services.contains(name)) {
            continue;
        }
        // A one-shot job that another service waits on to complete is done once it has
        // exited 0: waiting for it to run would fail.
        let completes = desired.services.values().any(|other| {
            other.depends_on.get(name).is_some_and(|d| {
                d.condition == crate::spec::model::DependencyCondition::ServiceCompletedSuccessfully
            })
        });
        let condition = if completes {
            WaitCondition::CompletedSuccessfully
        } else {
            ready(service)
        };
        plan.push(
            ControlStep::WaitFor {
                service: name.clone(),
                container: None,
                condition,
                required: true,
            },
            Cause::Requested,
            Vec::new(),
        );
    }
    plan
}

/// When a replica of `service` is ready: running, and healthy when it has a healthcheck.
pub(super) fn ready(service: &DesiredService) -> WaitCondition {
    let healthcheck = service
        .container
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.test.first().map(String::as_str) != Some("NONE"));
    if healthcheck {
        WaitCondition::Healthy
    } else {
        WaitCondition::Running
    }
}
