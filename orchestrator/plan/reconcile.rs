//! `reconcile`: desired + observed → plan, and `down`: observed → plan. Pure: no I/O, no clock,
//! no randomness; the same inputs always give the same operations in the same order.
//!
//! The order of the operations (their ids) is for people: networks, volumes, orphans, images,
//! then every service in start order (its scale-down, its creates and replacements, the waits
//! for its dependencies, its starts, its rolling update). What the executor must respect is
//! what each operation waits for: every id there is smaller than the operation's own, so id
//! order is always a valid serial order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use super::drift::{self, Changed};
use super::rolling::{Replacement, Rollout};
use super::{Cause, ContainerRef, ControlStep, Deps, EngineCall, Plan};
use crate::desired::{
    ContainerSpec, Desired, DesiredNetwork, DesiredService, Hook, MountKind, labels,
};
use crate::graph::ServiceGraph;
use crate::observe::{Observed, ObservedContainer};
use crate::restart::{self, Exit, Millis, RestartBook, SlotState};
use crate::engine::{ContainerState, Health};
use crate::spec::model::DependencyCondition;

/// When images are built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuildPolicy {
    /// Build when the image is missing and the service has a `build` section (`up`). Builds
    /// the user asks for (`up --build`, `pull_policy: build`) run before the plan is made, so
    /// that a new image ID shows as `image changed` and an identical rebuild changes nothing.
    #[default]
    IfMissing,
    /// `up --no-build`.
    Never,
}

#[derive(Debug, Clone, Default)]
pub struct ReconcileOptions {
    /// Service arguments of `up`; empty is every service.
    pub services: Vec<String>,
    /// `--no-deps`: do not bring up the dependencies of the named services.
    pub no_deps: bool,
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub remove_orphans: bool,
    /// `COMPOSE_IGNORE_ORPHANS`: orphans are left alone, without a warning.
    pub ignore_orphans: bool,
    pub build: BuildPolicy,
    /// `-t`: the stop timeout for replaced containers.
    pub timeout: Option<Duration>,
    /// `-V`: a replaced container's anonymous volumes are not passed on to its replacement.
    pub renew_anon_volumes: bool,
    /// Set by the supervisor: exited and unhealthy replicas follow their restart policy
    /// instead of being started as `up` starts them.
    pub supervision: Option<Supervision>,
}

/// What the supervisor knows that the engine does not say: each slot's restart history, the
/// replicas stopped behind its back, the services the user stopped, and the time.
#[derive(Debug, Clone, Default)]
pub struct Supervision {
    pub book: RestartBook,
    pub now: Millis,
    /// (service, number) of replicas stopped with `docker stop`, not by wharf.
    pub drifted: HashSet<(String, u32)>,
    /// Services stopped with `wharf stop`: left alone until `start` or `up`.
    pub user_stopped: HashSet<String>,
}

/// What a supervised plan does with one kept replica.
enum Supervised {
    Start(Cause),
    /// Stop the running (unhealthy) container, then start it.
    Restart(Cause),
    Later(Millis),
    Leave,
}

impl Supervision {
    /// The services whose every replica is down and stays down: exited and given up on by
    /// its restart policy, or stopped by the user. An attached `up` ends once all the services
    /// it follows are, as compose's does once their containers have exited.
    pub fn settled(&self, desired: &Desired, observed: &Observed) -> BTreeSet<String> {
        let stays_down = |service: &DesiredService, c: &ObservedContainer| {
            needs_start(c)
                && c.state != ContainerState::Created
                && (self.user_stopped.contains(&service.name)
                    || matches!(self.verdict(service, c), Supervised::Leave))
        };
        desired
            .services
            .values()
            .filter(|service| {
                let containers = observed
                    .services
                    .get(&service.name)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                containers.len() >= service.replicas as usize
                    && containers.iter().all(|c| stays_down(service, c))
            })
            .map(|service| service.name.clone())
            .collect()
    }

    fn verdict(&self, service: &DesiredService, c: &ObservedContainer) -> Supervised {
        let slot_key = (service.name.clone(), c.number);
        let down = needs_start(c);
        let unhealthy = c.is_running() && c.health == Some(Health::Unhealthy);
        if !down && !unhealthy {
            return Supervised::Leave;
        }
        if down && (c.state == ContainerState::Created || self.drifted.contains(&slot_key)) {
            let cause = if c.state == ContainerState::Created {
                Cause::NotRunning
            } else {
                Cause::Drift
            };
            return Supervised::Start(cause);
        }
        let fresh = SlotState::new(service.config_hash.clone());
        let slot = self.book.get(&service.name, c.number).unwrap_or(&fresh);
        let exit = if unhealthy {
            Exit::Unhealthy
        } else {
            Exit::Code(c.exit_code.unwrap_or(0))
        };
        let attempt = slot.next_attempt();
        match restart::decide(&service.restart, slot, self.now, exit) {
            restart::Decision::RestartNow if unhealthy => {
                Supervised::Restart(Cause::Unhealthy { attempt })
            }
            restart::Decision::RestartNow => Supervised::Start(Cause::RestartPolicy { attempt }),
            restart::Decision::RestartAt(at) => Supervised::Later(at),
            restart::Decision::GiveUp { .. } | restart::Decision::Leave => Supervised::Leave,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// `-v`: remove named volumes declared in the file and anonymous volumes.
    pub volumes: bool,
    pub remove_orphans: bool,
    pub timeout: Option<Duration>,
    /// `down SERVICE...`: only these services and the services that depend on them; networks
    /// still in use by the other containers stay, and so do named volumes. Empty: the project.
    pub services: Vec<String>,
    /// `--rmi`: also remove the services' images.
    pub rmi: Option<Rmi>,
}

/// `down --rmi`: which images go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rmi {
    /// Only the images named after their service (`<project>-<service>`: built without an
    /// `image:` of their own).
    Local,
    /// Every image the services use.
    All,
}

/// What a plan names that is not a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Network,
    Volume,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceKind::Network => "network",
            ResourceKind::Volume => "volume",
        })
    }
}

/// Why no plan can be made: nothing would converge the engine on the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An `external: true` network or volume that the engine does not have; wharf never
    /// creates external resources.
    #[error(
        "{kind} {name} declared as external, but could not be found (create it with `docker {kind} create {name}`)"
    )]
    ExternalMissing { kind: ResourceKind, name: String },
    /// A service argument that the file does not define.
    #[error("no such service: {name}")]
    UnknownService { name: String },
}

/// Compose's warning for containers of services that are no longer in the file.
fn orphan_warning(orphans: &[&ObservedContainer]) -> String {
    let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
    format!(
        "found orphan containers ([{}]) for this project; run with --remove-orphans to remove them",
        names.join(", ")
    )
}

fn owned(labels: &HashMap<String, String>, project: &str) -> bool {
    labels.get(labels::PROJECT).map(String::as_str) == Some(project)
}

pub(super) fn existing(c: &ObservedContainer) -> ContainerRef {
    ContainerRef {
        name: c.name.clone(),
        id: Some(c.id.clone()),
    }
}

fn created(name: &str) -> ContainerRef {
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

/// The service's container spec for replica `number`: the number is a label.
pub(super) fn replica_spec(service: &DesiredService, number: u32) -> Box<ContainerSpec> {
    let mut spec = service.container.clone();
    spec.labels
        .insert(labels::NUMBER.to_string(), number.to_string());
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
    spec.labels.insert(labels::REPLACE.into(), replaced);
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

/// Whether what the replica's secrets and configs hold changed since it was created. A
/// container without wharf's content hash (compose made it) is taken as it is: compose does
/// not recreate for content, and neither tool should undo the other's containers.
fn content_changed(service: &DesiredService, c: &ObservedContainer) -> bool {
    let desired = service.container.labels.get(labels::CONTENT_HASH);
    match c.engine.labels.get(labels::CONTENT_HASH) {
        Some(observed) => desired != Some(observed),
        None => false,
    }
}

/// A kept container that `up` starts again.
fn needs_start(c: &ObservedContainer) -> bool {
    matches!(
        c.state,
        ContainerState::Created | ContainerState::Exited | ContainerState::Dead
    )
}

/// What happens to one replica number of a service.
enum Replica<'a> {
    /// Up to date; started when it is not running, renamed when an interrupted replacement
    /// left it under its temporary name.
    Keep(&'a ObservedContainer),
    /// Diverged: replaced by a new container with the same number.
    Recreate(&'a ObservedContainer, Cause),
    /// No container has this number (any more): created, for this reason.
    Create(Cause),
}

/// Every decision about one service, made before any operation is written.
struct Decision<'a> {
    service: &'a DesiredService,
    /// Containers to stop and remove (scale down, duplicate numbers), in removal order.
    removals: Vec<(&'a ObservedContainer, Cause)>,
    /// By replica number.
    replicas: Vec<(u32, Replica<'a>)>,
    /// The image operation this service needs, if any.
    image: Option<(EngineCall, Cause)>,
}

/// `service:<name>` in `network_mode`, `pid` or `ipc`: the services whose namespaces this one
/// joins, which must have a container first and whose replacement replaces this one.
fn namespace_services(service: &DesiredService) -> impl Iterator<Item = &str> {
    let spec = &service.container;
    [&spec.network_mode, &spec.pid, &spec.ipc]
        .into_iter()
        .filter_map(|mode| mode.as_deref()?.strip_prefix("service:"))
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

/// Decides what the service's image needs before containers can be created from it.
pub(super) fn image_action(
    service: &DesiredService,
    observed: &Observed,
    options: &ReconcileOptions,
    needs_containers: bool,
) -> Option<(EngineCall, Cause)> {
    let present = observed.images.contains_key(&service.image);
    let policy = service.pull_policy.as_str();
    let pull = |cause| {
        Some((
            EngineCall::PullImage {
                service: service.name.clone(),
                image: service.image.clone(),
                platform: service.container.platform.clone(),
            },
            cause,
        ))
    };
    if let Some(build) = &service.build
        && options.build != BuildPolicy::Never
        && !present
        && needs_containers
    {
        return Some((
            EngineCall::BuildImage {
                service: service.name.clone(),
                image: service.image.clone(),
                build: build.clone(),
            },
            Cause::Build,
        ));
    }
    if !present && needs_containers && policy != "never" {
        // With `--no-build` too: the executor reports that it cannot be pulled.
        return pull(Cause::ImageMissing);
    }
    None
}

/// Decides the fate of every container of one service.
fn decide<'a>(
    project: &str,
    service: &'a DesiredService,
    observed: &'a Observed,
    options: &ReconcileOptions,
    recreated: &HashSet<String>,
    replaced: Option<&Cause>,
) -> Decision<'a> {
    if let Some(cause) = replaced {
        // Its containers are removed with the network they are on: every replica is new.
        let replicas: Vec<(u32, Replica)> = (1..=service.replicas)
            .map(|n| (n, Replica::Create(cause.clone())))
            .collect();
        return Decision {
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
        if c.config_hash != service.config_hash {
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
    // containers without a number, are removed.
    let diverged: HashMap<&str, bool> = existing
        .iter()
        .map(|c| (c.id.as_str(), divergence(c).is_some()))
        .collect();
    let mut unique: Vec<&ObservedContainer> = Vec::new();
    let mut removals: Vec<(&ObservedContainer, Cause)> = Vec::new();
    for c in existing {
        if c.number == 0 {
            removals.push((c, Cause::ScaleDown));
            continue;
        }
        match unique.iter_mut().find(|u| u.number == c.number) {
            None => unique.push(c),
            Some(holder) if diverged[holder.id.as_str()] && !diverged[c.id.as_str()] => {
                // The new container of an interrupted replacement takes over.
                let replacing = Cause::Replacing(service.container_name(project, c.number));
                removals.push((std::mem::replace(holder, c), replacing));
            }
            Some(_) => removals.push((c, Cause::ScaleDown)),
        }
    }
    // Keep up-to-date containers first, then the lowest numbers.
    let wanted = service.replicas as usize;
    let mut ranked = unique;
    ranked.sort_by_key(|c| (diverged[c.id.as_str()], c.number));
    let mut surplus = ranked.split_off(wanted.min(ranked.len()));
    let mut kept = ranked;
    kept.sort_by_key(|c| c.number);
    // Diverged replicas first, then the highest numbers.
    surplus.sort_by_key(|c| (!diverged[c.id.as_str()], std::cmp::Reverse(c.number)));
    removals.extend(surplus.into_iter().map(|c| (c, Cause::ScaleDown)));

    let mut replicas: Vec<(u32, Replica)> = kept
        .iter()
        .map(|c| {
            let replica = match divergence(c) {
                Some(cause) if !options.no_recreate => Replica::Recreate(c, cause),
                _ => Replica::Keep(c),
            };
            (c.number, replica)
        })
        .collect();
    let mut number = 0;
    for _ in kept.len()..wanted {
        number += 1;
        while kept.iter().any(|c| c.number == number) {
            number += 1;
        }
        replicas.push((number, Replica::Create(Cause::Missing)));
    }
    replicas.sort_by_key(|(n, _)| *n);

    let needs_containers = replicas
        .iter()
        .any(|(_, r)| matches!(r, Replica::Create(_) | Replica::Recreate(..)));
    Decision {
        service,
        removals,
        replicas,
        image: image_action(service, observed, options, needs_containers),
    }
}

/// Turns what is observed into what the file describes: see the module documentation of
/// `plan` and the golden files under `specs/plans/`.
pub fn reconcile(
    desired: &Desired,
    observed: &Observed,
    options: &ReconcileOptions,
) -> Result<Plan, PlanError> {
    let project = desired.project.as_str();
    let services = scope(desired, options)?;
    let mut plan = Plan::default();

    // Networks and volumes: every declared one for the whole project, the ones the selected
    // services use for service arguments.
    let whole = options.services.is_empty();
    let used_networks: HashSet<&str> = services
        .iter()
        .flat_map(|s| desired.services[s].container.networks.iter())
        .map(|n| n.network.as_str())
        .collect();
    let used_volumes: HashSet<&str> = services
        .iter()
        .flat_map(|s| desired.services[s].container.mounts.iter())
        .filter(|m| m.kind == MountKind::Volume)
        .filter_map(|m| m.source.as_deref())
        .collect();
    // Engine name → the operation that creates it.
    let mut network_ops: HashMap<&str, usize> = HashMap::new();
    let mut volume_ops: HashMap<&str, usize> = HashMap::new();
    // Networks of the project whose options differ from the file's.
    let mut changed_networks: Vec<(&DesiredNetwork, Changed)> = Vec::new();
    for network in desired.networks.values() {
        if !whole && !used_networks.contains(network.name.as_str()) {
            continue;
        }
        match observed.networks.get(&network.name) {
            None if network.external => {
                return Err(PlanError::ExternalMissing {
                    kind: ResourceKind::Network,
                    name: network.name.clone(),
                });
            }
            None => {
                let id = plan.push(
                    EngineCall::CreateNetwork(network.clone()),
                    Cause::Missing,
                    vec![],
                );
                network_ops.insert(&network.name, id);
            }
            Some(found) if !network.external && !owned(&found.labels, project) => {
                plan.warnings.push(format!(
                    "network {} already exists but was not created for project {project}; \
                     using it (declare it `external: true` to silence this warning)",
                    network.name
                ));
            }
            Some(found) if !network.external => {
                changed_networks.extend(drift::network(network, found).map(|c| (network, c)));
            }
            Some(_) => {}
        }
    }
    for volume in desired.volumes.values() {
        if !whole && !used_volumes.contains(volume.name.as_str()) {
            continue;
        }
        match observed.volumes.get(&volume.name) {
            None if volume.external => {
                return Err(PlanError::ExternalMissing {
                    kind: ResourceKind::Volume,
                    name: volume.name.clone(),
                });
            }
            None => {
                let id = plan.push(
                    EngineCall::CreateVolume(volume.clone()),
                    Cause::Missing,
                    vec![],
                );
                volume_ops.insert(&volume.name, id);
            }
            Some(found) if !volume.external && !owned(&found.labels, project) => {
                plan.warnings.push(format!(
                    "volume {} already exists but was not created for project {project}; \
                     using it (declare it `external: true` to silence this warning)",
                    volume.name
                ));
            }
            Some(found) if !volume.external => {
                plan.warnings
                    .extend(drift::volume(volume, found).map(|c| volume_kept(&c)));
            }
            Some(_) => {}
        }
    }

    // Orphans: containers of services the file no longer has.
    let mut orphans: Vec<&ObservedContainer> = observed
        .containers()
        .filter(|c| !desired.knows(&c.service))
        .collect();
    orphans.sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
    // Container name → the operation that removes the container holding it.
    let mut freed: HashMap<&str, usize> = HashMap::new();
    if !orphans.is_empty() && !options.ignore_orphans {
        if options.remove_orphans {
            for c in &orphans {
                // An orphan's service is gone from the file, and its hooks with it.
                let id = stop_and_remove(&mut plan, c, Cause::Orphan, options.timeout, &[]);
                freed.insert(&c.name, id);
            }
        } else {
            plan.warnings.push(orphan_warning(&orphans));
        }
    }

    let (replaced, replaced_networks) = replace_networks(
        &mut plan,
        desired,
        observed,
        options,
        &services,
        changed_networks,
        &mut freed,
    );

    // Decisions, in start order: whether a service is recreated decides its dependents.
    let mut recreated: HashSet<String> = HashSet::new();
    let mut decisions: Vec<Decision> = Vec::new();
    for name in &services {
        let decision = decide(
            project,
            &desired.services[name],
            observed,
            options,
            &recreated,
            replaced.get(name.as_str()),
        );
        if replaced.contains_key(name.as_str())
            || decision
                .replicas
                .iter()
                .any(|(_, r)| matches!(r, Replica::Recreate(..)))
        {
            recreated.insert(name.clone());
        }
        decisions.push(decision);
    }

    // Images, one operation per image reference.
    let mut image_ops: HashMap<&str, usize> = HashMap::new();
    for decision in &decisions {
        let image = decision.service.image.as_str();
        if let Some((action, cause)) = &decision.image
            && !image_ops.contains_key(image)
        {
            let id = plan.push(action.clone(), cause.clone(), vec![]);
            image_ops.insert(image, id);
        }
    }

    // Services, in start order.
    let in_scope: HashSet<&str> = services.iter().map(String::as_str).collect();
    // Service → the operations after which its containers are running.
    let mut start_ops: HashMap<&str, Vec<usize>> = HashMap::new();
    // Service → the operations after which its new containers exist under their names.
    let mut ready_ops: HashMap<&str, Vec<usize>> = HashMap::new();
    for decision in &decisions {
        let service = decision.service;
        let name = service.name.as_str();
        for (c, cause) in &decision.removals {
            let pre_stop = &service.hooks.pre_stop;
            let id = stop_and_remove(&mut plan, c, cause.clone(), options.timeout, pre_stop);
            freed.insert(&c.name, id);
        }

        // What every create of this service waits for.
        let mut prerequisites: Vec<usize> = Vec::new();
        // The creates of networks that are recreated: only over, whatever their outcome. When
        // the engine refuses to remove the old network (containers of others are on it), the
        // replicas are created on it again rather than left removed.
        let mut recreated_networks: Vec<usize> = Vec::new();
        for network in &service.container.networks {
            prerequisites.extend(network_ops.get(network.network.as_str()));
            recreated_networks.extend(replaced_networks.get(network.network.as_str()));
        }
        for mount in &service.container.mounts {
            if mount.kind == MountKind::Volume
                && let Some(source) = &mount.source
            {
                prerequisites.extend(volume_ops.get(source.as_str()));
            }
        }
        prerequisites.extend(image_ops.get(service.image.as_str()));
        for joined in namespace_services(service) {
            prerequisites.extend(ready_ops.get(joined).into_iter().flatten());
        }
        prerequisites.sort_unstable();
        prerequisites.dedup();

        let mut starts: Vec<(ContainerRef, Cause, Vec<usize>)> = Vec::new();
        let mut ready: Vec<usize> = Vec::new();
        // Replaced batch by batch, once the waits for the dependencies are known.
        let mut rolling: Vec<Replacement> = Vec::new();
        for (number, replica) in &decision.replicas {
            let number = *number;
            let container_name = service.container_name(project, number);
            match replica {
                Replica::Keep(c) => {
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
                            freed
                                .get(container_name.as_str())
                                .copied()
                                .into_iter()
                                .collect(),
                        );
                        ready.push(rename);
                        after.push(rename);
                        container.name = container_name.clone();
                    }
                    match options.supervision.as_ref().map(|s| s.verdict(service, c)) {
                        None if needs_start(c) => {
                            starts.push((container, Cause::NotRunning, after))
                        }
                        None | Some(Supervised::Leave) => {}
                        Some(Supervised::Start(cause)) => starts.push((container, cause, after)),
                        Some(Supervised::Restart(cause)) => {
                            let stop = plan.push_stop(
                                name,
                                existing(c),
                                options.timeout,
                                &service.hooks.pre_stop,
                                cause.clone(),
                                after,
                            );
                            starts.push((container, cause, vec![stop]));
                        }
                        Some(Supervised::Later(at)) => {
                            plan.wake_at = Some(plan.wake_at.map_or(at, |w| w.min(at)));
                        }
                    }
                }
                Replica::Create(cause) => {
                    let mut after = prerequisites.clone();
                    after.extend(freed.get(container_name.as_str()));
                    let id = plan.push_with(
                        EngineCall::CreateContainer {
                            service: name.to_string(),
                            number,
                            name: container_name.clone(),
                            spec: replica_spec(service, number),
                        },
                        cause.clone(),
                        Deps {
                            after,
                            settled: recreated_networks.clone(),
                            if_failed: None,
                        },
                    );
                    ready.push(id);
                    starts.push((created(&container_name), cause.clone(), vec![id]));
                }
                Replica::Recreate(old, cause) if service.update.is_some() => {
                    let mut rename_after = Vec::new();
                    if old.name != container_name {
                        rename_after.extend(freed.get(container_name.as_str()));
                    }
                    rolling.push(Replacement {
                        number,
                        old,
                        cause: cause.clone(),
                        rename_after,
                    });
                }
                Replica::Recreate(old, cause) => {
                    let temporary = temporary_name(old, &container_name);
                    let create = plan.push(
                        EngineCall::CreateContainer {
                            service: name.to_string(),
                            number,
                            name: temporary.clone(),
                            spec: replacement_spec(
                                service,
                                number,
                                old,
                                options.renew_anon_volumes,
                            ),
                        },
                        cause.clone(),
                        prerequisites.clone(),
                    );
                    let replacing = Cause::Replacing(container_name.clone());
                    let mut previous = create;
                    if needs_stop(old) {
                        previous = plan.push_stop(
                            name,
                            existing(old),
                            options.timeout,
                            &service.hooks.pre_stop,
                            replacing.clone(),
                            vec![previous],
                        );
                    }
                    let remove = plan.push(
                        EngineCall::RemoveContainer {
                            service: name.to_string(),
                            container: existing(old),
                            volumes: false,
                        },
                        replacing.clone(),
                        vec![previous],
                    );
                    let mut after = vec![remove];
                    if old.name != container_name {
                        after.extend(freed.get(container_name.as_str()));
                    }
                    let rename = plan.push(
                        EngineCall::RenameContainer {
                            service: name.to_string(),
                            container: created(&temporary),
                            to: container_name.clone(),
                        },
                        replacing,
                        after,
                    );
                    ready.push(rename);
                    starts.push((created(&container_name), cause.clone(), vec![rename]));
                }
            }
        }
        if starts.is_empty() && rolling.is_empty() {
            ready_ops.insert(name, ready);
            continue;
        }

        // Wait for every dependency in scope, once it has been started.
        let mut waits: Vec<usize> = Vec::new();
        for (dependency, condition) in &service.depends_on {
            let scaled_to_zero = desired
                .services
                .get(dependency)
                .is_some_and(|d| d.replicas == 0);
            if !in_scope.contains(dependency.as_str()) || scaled_to_zero {
                continue;
            }
            let after = start_ops
                .get(dependency.as_str())
                .cloned()
                .unwrap_or_default();
            // A required `service_started` on a dependency this plan starts is met when those
            // starts succeed: wait for them directly, without asking the engine again.
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
                Cause::DependedOn(name.to_string()),
                after,
            ));
        }
        let mut ids = Vec::new();
        for (container, cause, mut after) in starts {
            after.extend(&waits);
            after.sort_unstable();
            after.dedup();
            ids.push(plan.push_start(name, container, &service.hooks.post_start, cause, after));
        }
        if let Some(policy) = service.update
            && !rolling.is_empty()
        {
            let rollout = Rollout {
                project,
                service,
                policy,
                prerequisites: &prerequisites,
                waits: &waits,
                timeout: options.timeout,
                renew_anon_volumes: options.renew_anon_volumes,
            };
            // Dependents wait for every replica to be replaced and under its name.
            let renames = rollout.push(&mut plan, &rolling);
            ready.extend(&renames);
            ids.extend(renames);
        }
        ready_ops.insert(name, ready);
        start_ops.insert(name, ids);
    }
    Ok(plan)
}

/// What `up` says about a volume whose options changed: it never removes a volume, so the data
/// stays, and the user decides whether to give it up.
fn volume_kept(changed: &Changed) -> String {
    let name = &changed.name;
    format!(
        "{changed}; wharf never removes a volume, so it keeps its data and its old options. \
         To apply the new ones, back up its data, then run `wharf down`, \
         `docker volume rm {name}` and `wharf up`"
    )
}

/// Recreates the networks whose options changed, as compose v2 does, and with them the
/// containers on them: those containers are stopped and removed, the network removed and
/// created again, and their services' replicas created anew on it (see `decide`). A network
/// that containers outside the plan use is kept, with a warning that says what to run.
/// Returns the services whose containers go, with the cause, and the networks' creates. (Only
/// `Create` replicas are on such a network: every container on it is removed first.)
fn replace_networks<'a>(
    plan: &mut Plan,
    desired: &'a Desired,
    observed: &'a Observed,
    options: &ReconcileOptions,
    services: &[String],
    changed: Vec<(&'a DesiredNetwork, Changed)>,
    freed: &mut HashMap<&'a str, usize>,
) -> (HashMap<&'a str, Cause>, HashMap<&'a str, usize>) {
    let mut replaced: HashMap<&'a str, Cause> = HashMap::new();
    let mut creates: HashMap<&'a str, usize> = HashMap::new();
    // Container ID → the operation that removes it (a container may be on two of them).
    let mut removed: HashMap<&str, usize> = HashMap::new();
    for (network, changed) in changed {
        let on_it = |c: &ObservedContainer| {
            c.engine.addresses.contains_key(&network.name)
                || desired.services.get(&c.service).is_some_and(|s| {
                    s.container
                        .networks
                        .iter()
                        .any(|n| n.network == network.name)
                })
        };
        let mut users: Vec<&ObservedContainer> =
            observed.containers().filter(|c| on_it(c)).collect();
        users.sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
        let one_offs: Vec<&ObservedContainer> = observed
            .oneoff
            .iter()
            .filter(|c| c.engine.addresses.contains_key(&network.name))
            .collect();
        if let Some(reason) = kept_because(desired, options, services, &users, &one_offs) {
            plan.warnings
                .push(format!("{changed}; it is kept: {reason}"));
            continue;
        }
        let cause = Cause::ResourceChanged(changed);
        let mut removals = Vec::new();
        for c in users {
            if let Some(id) = freed
                .get(c.name.as_str())
                .filter(|_| !desired.knows(&c.service))
            {
                // An orphan that `--remove-orphans` removes already.
                removals.push(*id);
                continue;
            }
            let id = match removed.get(c.id.as_str()) {
                Some(id) => *id,
                None => {
                    let pre_stop = desired
                        .services
                        .get(&c.service)
                        .map_or(&[][..], |s| &s.hooks.pre_stop);
                    let id = stop_and_remove(plan, c, cause.clone(), options.timeout, pre_stop);
                    removed.insert(&c.id, id);
                    freed.insert(&c.name, id);
                    id
                }
            };
            removals.push(id);
            replaced
                .entry(c.service.as_str())
                .or_insert_with(|| cause.clone());
        }
        let remove = plan.push(
            EngineCall::RemoveNetwork {
                name: network.name.clone(),
            },
            cause.clone(),
            removals,
        );
        let create = plan.push(
            EngineCall::CreateNetwork(network.clone()),
            cause,
            vec![remove],
        );
        creates.insert(&network.name, create);
    }
    (replaced, creates)
}

/// Why a changed network cannot be recreated by this plan: containers that it does not replace
/// are on it. `None` when it can.
fn kept_because(
    desired: &Desired,
    options: &ReconcileOptions,
    services: &[String],
    users: &[&ObservedContainer],
    one_offs: &[&ObservedContainer],
) -> Option<String> {
    let names = |containers: &[&ObservedContainer]| {
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    };
    if options.no_recreate && !users.is_empty() {
        return Some(format!(
            "--no-recreate keeps the containers on it ({}); run `wharf up` to recreate the \
             network and them",
            names(users)
        ));
    }
    let orphans: Vec<&ObservedContainer> = users
        .iter()
        .copied()
        .filter(|c| !desired.knows(&c.service))
        .collect();
    if !orphans.is_empty() && !options.remove_orphans {
        return Some(format!(
            "orphan containers are on it ({}); run `wharf up --remove-orphans` to recreate it",
            names(&orphans)
        ));
    }
    let outside: Vec<&ObservedContainer> = users
        .iter()
        .copied()
        .filter(|c| desired.knows(&c.service) && !services.contains(&c.service))
        .collect();
    if !outside.is_empty() {
        return Some(format!(
            "containers of services this command leaves alone are on it ({}); run `wharf up` \
             without service arguments to recreate it with them",
            names(&outside)
        ));
    }
    if !one_offs.is_empty() {
        return Some(format!(
            "one-off containers are on it ({}); remove them, then run `wharf up` again",
            names(one_offs)
        ));
    }
    None
}

/// Stops (when it runs) and removes a container; returns the id of the removal.
fn stop_and_remove(
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
fn stop_and_remove_after(
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
            &c.service,
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
            service: c.service.clone(),
            container: existing(c),
            volumes,
        },
        cause,
        previous,
    );
    (stop, remove)
}

/// The services a container said it depends on (`com.docker.compose.depends_on`:
/// `svc:condition:restart,…`), for `down` without a file.
fn label_dependencies(c: &ObservedContainer) -> Vec<String> {
    c.engine
        .labels
        .get(labels::DEPENDS_ON)
        .map(|value| {
            value
                .split(',')
                .filter_map(|entry| entry.split(':').next())
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
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
        by_service.entry(c.service.as_str()).or_default().push(c);
    }
    for containers in by_service.values_mut() {
        containers.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
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
            .or_insert_with(|| label_dependencies(containers[0]));
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
        .filter(|n| owned(&n.labels, project) && !external(ResourceKind::Network, &n.name))
        .map(|n| n.name.as_str())
        .collect();
    networks.sort_unstable();
    for network in networks {
        let mut users: Vec<&str> = left
            .iter()
            .filter(|c| c.is_running() && c.engine.addresses.contains_key(network))
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
            .any(|c| c.is_running() && c.engine.addresses.contains_key(network))
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
            .filter(|v| owned(&v.labels, project) && !external(ResourceKind::Volume, &v.name))
            .filter(|_| options.services.is_empty())
            .map(|v| v.name.as_str())
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
