//! `reconcile`: desired + observed → plan. Pure: no I/O, no clock, no randomness; the same
//! inputs always give the same operations in the same order.
//!
//! The order of the operations (their ids) is for people: networks, volumes, orphans, images,
//! then every service in start order (its scale-down, its creates and replacements, the waits
//! for its dependencies, its starts, its rolling update). What the executor must respect is
//! what each operation waits for: every id there is smaller than the operation's own, so id
//! order is always a valid serial order.

use std::collections::{HashMap, HashSet};

use super::containers::{
    created, existing, needs_start, needs_stop, orphan_warning, replica_spec, stop_and_remove,
    temporary_name,
};
use super::fates::{Fate, ServiceFates, decide_fates, namespace_services};
use super::images::push_images;
use super::replacement::{create_replacement, take_over};
use super::resources::{ensure_resources, replace_networks};
use super::rolling::{Replacement, Rollout};
use super::supervision::Supervised;
use super::{
    Cause, ContainerRef, ControlStep, Deps, EngineCall, Plan, PlanError, ReconcileOptions,
};
use crate::desired::{Desired, DesiredService, MountKind};
use crate::observe::{Observed, ObservedContainer};
use crate::spec::model::DependencyCondition;

/// Turns what is observed into what the file describes: see the module documentation of
/// `plan` and the golden files under `specs/plans/`.
pub fn reconcile(
    desired: &Desired,
    observed: &Observed,
    options: &ReconcileOptions,
) -> Result<Plan, PlanError> {
    let services = scope(desired, options)?;
    let mut plan = Plan::default();
    let resources = ensure_resources(&mut plan, desired, observed, options, &services)?;
    let mut freed = remove_orphans(&mut plan, desired, observed, options);
    let (replaced, replaced_networks) = replace_networks(
        &mut plan,
        desired,
        observed,
        options,
        &services,
        resources.changed_networks,
        &mut freed,
    );
    let fates = decide_all_fates(desired, observed, options, &services, &replaced);
    let image_ops = push_images(&mut plan, &fates);
    let mut steps = ServiceSteps {
        desired,
        options,
        in_scope: services.iter().map(String::as_str).collect(),
        network_ops: resources.network_ops,
        volume_ops: resources.volume_ops,
        replaced_networks,
        image_ops,
        freed,
        start_ops: HashMap::new(),
        ready_ops: HashMap::new(),
    };
    for fate in &fates {
        steps.push_service(&mut plan, fate);
    }
    Ok(plan)
}

/// The services the plan acts on, in start order.
fn scope(desired: &Desired, options: &ReconcileOptions) -> Result<Vec<String>, PlanError> {
    if let Some(unknown) = options
        .services
        .iter()
        .find(|s| !desired.services.contains_key(*s))
    {
        return Err(PlanError::UnknownService {
            name: unknown.clone(),
        });
    }
    let levels = if options.services.is_empty() {
        desired.graph.start_levels()
    } else {
        let mut selected: Vec<String> = options.services.clone();
        if !options.no_deps {
            for name in &options.services {
                selected.extend(desired.graph.dependencies_of(name));
            }
        }
        desired
            .graph
            .start_levels_for(selected.iter().map(String::as_str))
    };
    // A service the user stopped is left as it is, even when its containers went missing
    // meanwhile, and its dependents do not wait for it: the supervisor must not undo `stop`.
    let stopped = |name: &String| {
        options
            .supervision
            .as_ref()
            .is_some_and(|s| s.user_stopped.contains(name))
    };
    Ok(levels
        .into_iter()
        .flatten()
        .filter(|name| !stopped(name))
        .collect())
}

/// Orphans: containers of services the file no longer has, removed with `--remove-orphans`,
/// else warned about. Returns container name → the operation that frees that name.
fn remove_orphans<'a>(
    plan: &mut Plan,
    desired: &Desired,
    observed: &'a Observed,
    options: &ReconcileOptions,
) -> HashMap<&'a str, usize> {
    let mut orphans: Vec<&ObservedContainer> = observed
        .containers()
        .filter(|c| !desired.knows(c.service()))
        .collect();
    orphans.sort_by(|a, b| {
        (&a.service(), a.number(), &a.name).cmp(&(&b.service(), b.number(), &b.name))
    });
    let mut freed = HashMap::new();
    if orphans.is_empty() || options.ignore_orphans {
        return freed;
    }
    if !options.remove_orphans {
        plan.warnings.push(orphan_warning(&orphans));
        return freed;
    }
    for c in orphans {
        // An orphan's service is gone from the file, and its hooks with it.
        let id = stop_and_remove(plan, c, Cause::Orphan, options.timeout, &[]);
        freed.insert(c.name.as_str(), id);
    }
    freed
}

/// The fates of every service, in start order: whether a service is recreated decides its
/// dependents' (`depends_on.restart`, joined namespaces).
fn decide_all_fates<'a>(
    desired: &'a Desired,
    observed: &'a Observed,
    options: &ReconcileOptions,
    services: &[String],
    replaced: &HashMap<&str, Cause>,
) -> Vec<ServiceFates<'a>> {
    let mut recreated: HashSet<String> = HashSet::new();
    let mut all = Vec::new();
    for name in services {
        let fates = decide_fates(
            &desired.project,
            &desired.services[name],
            observed,
            options,
            &recreated,
            replaced.get(name.as_str()),
        );
        let recreates = fates
            .replicas
            .iter()
            .any(|(_, fate)| matches!(fate, Fate::Recreate(..)));
        if replaced.contains_key(name.as_str()) || recreates {
            recreated.insert(name.clone());
        }
        all.push(fates);
    }
    all
}

/// The services' operations, written in start order: what each one's operations wait for is
/// known once the services before it are written.
struct ServiceSteps<'a> {
    desired: &'a Desired,
    options: &'a ReconcileOptions,
    in_scope: HashSet<&'a str>,
    /// Engine name → the operation that creates it.
    network_ops: HashMap<&'a str, usize>,
    volume_ops: HashMap<&'a str, usize>,
    /// The creates of networks that are recreated: over, whatever their outcome. When the
    /// engine refuses to remove the old network (containers of others are on it), the
    /// replicas are created on it again rather than left removed.
    replaced_networks: HashMap<&'a str, usize>,
    image_ops: HashMap<&'a str, usize>,
    /// Container name → the operation that removes the container holding it.
    freed: HashMap<&'a str, usize>,
    /// Service → the operations after which its containers are running.
    start_ops: HashMap<&'a str, Vec<usize>>,
    /// Service → the operations after which its new containers exist under their names.
    ready_ops: HashMap<&'a str, Vec<usize>>,
}

/// What one service's replicas add to the plan before its dependencies are waited for.
#[derive(Default)]
struct ServiceOps<'a> {
    /// Containers to start, with their cause and what each start waits for.
    starts: Vec<(ContainerRef, Cause, Vec<usize>)>,
    /// The operations after which the new containers exist under their names.
    ready: Vec<usize>,
    /// Replaced batch by batch, once the waits for the dependencies are known.
    rolling: Vec<Replacement<'a>>,
}

impl<'a> ServiceSteps<'a> {
    /// One service: its scale-down, its replicas, the waits for its dependencies, its starts,
    /// its rolling update.
    fn push_service(&mut self, plan: &mut Plan, fates: &ServiceFates<'a>) {
        let service = fates.service;
        let name = service.name.as_str();
        for (c, cause) in &fates.removals {
            let pre_stop = &service.hooks.pre_stop;
            let id = stop_and_remove(plan, c, cause.clone(), self.options.timeout, pre_stop);
            self.freed.insert(&c.name, id);
        }
        let prerequisites = self.prerequisites(service);
        let mut ops = ServiceOps::default();
        for (number, fate) in &fates.replicas {
            self.push_replica(plan, service, *number, fate, &prerequisites, &mut ops);
        }
        if ops.starts.is_empty() && ops.rolling.is_empty() {
            self.ready_ops.insert(name, ops.ready);
            return;
        }
        let waits = self.dependency_waits(plan, service);
        let mut ids = Vec::new();
        for (container, cause, mut after) in ops.starts {
            after.extend(&waits);
            after.sort_unstable();
            after.dedup();
            ids.push(plan.push_start(name, container, &service.hooks.post_start, cause, after));
        }
        if let Some(policy) = service.update
            && !ops.rolling.is_empty()
        {
            let rollout = Rollout {
                project: &self.desired.project,
                service,
                policy,
                prerequisites: &prerequisites,
                waits: &waits,
                timeout: self.options.timeout,
                renew_anon_volumes: self.options.renew_anon_volumes,
            };
            // Dependents wait for every replica to be replaced and under its name.
            let renames = rollout.push(plan, &ops.rolling);
            ops.ready.extend(&renames);
            ids.extend(renames);
        }
        self.ready_ops.insert(name, ops.ready);
        self.start_ops.insert(name, ids);
    }

    /// What every create of the service waits for: its networks, volumes and image, and the
    /// containers whose namespaces it joins.
    fn prerequisites(&self, service: &DesiredService) -> Vec<usize> {
        let spec = &service.container;
        let networks = spec
            .networks
            .iter()
            .filter_map(|n| self.network_ops.get(n.network.as_str()));
        let volumes = spec
            .mounts
            .iter()
            .filter(|m| m.kind == MountKind::Volume)
            .filter_map(|m| self.volume_ops.get(m.source.as_deref()?));
        let image = self.image_ops.get(service.image.as_str());
        let joined = namespace_services(service)
            .flat_map(|joined| self.ready_ops.get(joined).into_iter().flatten());
        let mut prerequisites: Vec<usize> = networks
            .chain(volumes)
            .chain(image)
            .chain(joined)
            .copied()
            .collect();
        prerequisites.sort_unstable();
        prerequisites.dedup();
        prerequisites
    }

    /// The creates of recreated networks the service's replicas wait to be over.
    fn recreated_networks(&self, service: &DesiredService) -> Vec<usize> {
        let networks = service.container.networks.iter();
        networks
            .filter_map(|n| self.replaced_networks.get(n.network.as_str()).copied())
            .collect()
    }

    /// The operation that frees `name` (removes the container holding it), if any.
    fn freeing(&self, name: &str) -> Option<usize> {
        self.freed.get(name).copied()
    }

    /// The operation that frees the temporary name of `old`'s replacement: a crash can leave a
    /// container under it.
    fn freeing_temporary(&self, old: &ObservedContainer, name: &str) -> Vec<usize> {
        self.freeing(&temporary_name(old, name))
            .into_iter()
            .collect()
    }

    fn push_replica(
        &self,
        plan: &mut Plan,
        service: &'a DesiredService,
        number: u32,
        fate: &Fate<'a>,
        prerequisites: &[usize],
        ops: &mut ServiceOps<'a>,
    ) {
        let container_name = service.container_name(&self.desired.project, number);
        match fate {
            Fate::Keep(c) => self.keep(plan, service, c, container_name, ops),
            Fate::Create(cause) => {
                let mut after = prerequisites.to_vec();
                after.extend(self.freeing(&container_name));
                let create = EngineCall::CreateContainer {
                    service: service.name.clone(),
                    number,
                    name: container_name.clone(),
                    spec: replica_spec(service, number),
                };
                let deps = Deps {
                    after,
                    settled: self.recreated_networks(service),
                    if_failed: None,
                };
                let id = plan.push_with(create, cause.clone(), deps);
                ops.ready.push(id);
                ops.starts
                    .push((created(&container_name), cause.clone(), vec![id]));
            }
            Fate::Recreate(old, cause) if service.update.is_some() => {
                let mut rename_after = Vec::new();
                if old.name != container_name {
                    rename_after.extend(self.freeing(&container_name));
                }
                ops.rolling.push(Replacement {
                    number,
                    old,
                    cause: cause.clone(),
                    rename_after,
                    create_after: self.freeing_temporary(old, &container_name),
                });
            }
            Fate::Recreate(old, cause) => {
                // Compose's recreate: the new container under a temporary name, the old one
                // stopped and removed, the new one renamed, then started with the others.
                let replacement = Replacement {
                    number,
                    old,
                    cause: cause.clone(),
                    rename_after: Vec::new(),
                    create_after: self.freeing_temporary(old, &container_name),
                };
                let renew = self.options.renew_anon_volumes;
                let create = create_replacement(
                    plan,
                    service,
                    &self.desired.project,
                    &replacement,
                    renew,
                    Deps::after(prerequisites.to_vec()),
                );
                let replacing = Cause::Replacing(container_name.clone());
                let mut previous = create;
                if needs_stop(old) {
                    previous = plan.push_stop(
                        &service.name,
                        existing(old),
                        self.options.timeout,
                        &service.hooks.pre_stop,
                        replacing,
                        vec![previous],
                    );
                }
                let mut rename_after = Vec::new();
                if old.name != container_name {
                    rename_after.extend(self.freeing(&container_name));
                }
                let replacement = Replacement {
                    rename_after,
                    ..replacement
                };
                let rename = take_over(
                    plan,
                    service,
                    &self.desired.project,
                    &replacement,
                    Deps::after(vec![previous]),
                );
                ops.ready.push(rename);
                ops.starts
                    .push((created(&container_name), cause.clone(), vec![rename]));
            }
        }
    }

    /// An up-to-date replica: renamed when an interrupted replacement left it under its
    /// temporary name; started when it is down (under a supervisor, as its restart policy
    /// says).
    fn keep(
        &self,
        plan: &mut Plan,
        service: &DesiredService,
        c: &ObservedContainer,
        container_name: String,
        ops: &mut ServiceOps<'a>,
    ) {
        let name = service.name.as_str();
        let mut container = existing(c);
        let mut after = Vec::new();
        if c.name != container_name {
            let rename = plan.push(
                EngineCall::RenameContainer {
                    service: name.to_string(),
                    container: existing(c),
                    to: container_name.clone(),
                },
                Cause::Replacing(container_name.clone()),
                self.freeing(&container_name).into_iter().collect(),
            );
            ops.ready.push(rename);
            after.push(rename);
            container.name = container_name;
        }
        let supervised = self.options.supervision.as_ref();
        match supervised.map(|s| s.verdict(service, c)) {
            None if needs_start(c) => ops.starts.push((container, Cause::NotRunning, after)),
            None | Some(Supervised::Leave) => {}
            Some(Supervised::Start(cause)) => ops.starts.push((container, cause, after)),
            Some(Supervised::Restart(cause)) => {
                let stop = plan.push_stop(
                    name,
                    existing(c),
                    self.options.timeout,
                    &service.hooks.pre_stop,
                    cause.clone(),
                    after,
                );
                ops.starts.push((container, cause, vec![stop]));
            }
            Some(Supervised::Later(at)) => {
                plan.wake_at = Some(plan.wake_at.map_or(at, |w| w.min(at)));
            }
        }
    }

    /// Waits for every dependency in scope, once it has been started. A required
    /// `service_started` on a dependency this plan starts is met when those starts succeed:
    /// the starts are waited for directly, without asking the engine again.
    fn dependency_waits(&self, plan: &mut Plan, service: &DesiredService) -> Vec<usize> {
        let mut waits: Vec<usize> = Vec::new();
        for (dependency, condition) in &service.depends_on {
            let scaled_to_zero = self
                .desired
                .services
                .get(dependency)
                .is_some_and(|d| d.replicas == 0);
            if !self.in_scope.contains(dependency.as_str()) || scaled_to_zero {
                continue;
            }
            let after = self
                .start_ops
                .get(dependency.as_str())
                .cloned()
                .unwrap_or_default();
            let started = DependencyCondition::ServiceStarted;
            if condition.condition == started && condition.required && !after.is_empty() {
                waits.extend(after);
                continue;
            }
            waits.push(plan.push(
                ControlStep::WaitFor {
                    service: dependency.clone(),
                    container: None,
                    condition: condition.condition.into(),
                    required: condition.required,
                },
                Cause::DependedOn(service.name.clone()),
                after,
            ));
        }
        waits
    }
}
