//! The swarm's plans: from the stack wharf wants and the one the swarm holds, the operations
//! that make them the same. Pure (no I/O, no clock), so that plans are golden-tested. A
//! service that already has what wharf would send is left alone: its version does not move.
//! Before a service is created or updated, the plan waits for its dependencies' `depends_on`
//! conditions. With service arguments (a `scope::Scope`), `up` and `down` act on those services
//! alone, and keep whatever a service they leave as it is still uses. A failed `up` is undone by
//! the plan `rollback` makes from what it ran.

use std::collections::HashSet;
use std::fmt;

use bollard::models::{NetworkCreateRequest, ServiceSpec};

use super::condition::{self, Condition};
use super::converged::Restarts;
use super::diff::differences;
use super::files::{FileKind, StackFile};
use super::observed::{ObservedService, ObservedStack};
use super::scope::Scope;
use super::stack::Stack;

/// One call to the swarm.
#[derive(Debug, Clone, PartialEq)]
pub enum SwarmOperation {
    CreateNetwork(NetworkCreateRequest),
    /// A secret's or config's new version, before the services that use it.
    CreateFile(StackFile),
    CreateService(ServiceSpec),
    /// The whole new spec is sent; `fields` are where it differs from the swarm's.
    UpdateService {
        id: String,
        version: u64,
        spec: ServiceSpec,
        fields: Vec<String>,
    },
    /// Removed, then created again: the swarm cannot change a service's mode (replicated,
    /// global, a job) in place.
    ReplaceService {
        id: String,
        spec: ServiceSpec,
        from: String,
        to: String,
    },
    RemoveService {
        name: String,
        id: String,
    },
    /// Waits until the tasks of `service` (a swarm name), which runs `tasks` tasks (`None`:
    /// one per node) and replaces ended ones as `restarts` says, meet `condition`, before
    /// `dependent` is created or updated.
    Wait {
        service: String,
        condition: Condition,
        tasks: Option<i64>,
        restarts: Restarts,
        dependent: String,
    },
    /// Back to the spec the service had before this `up` updated it: the swarm's previous
    /// spec, which keeps what the client cannot read back (the health check).
    RollBackService {
        name: String,
    },
    RemoveNetwork {
        name: String,
        id: String,
    },
    /// A version of the stack's own secret or config that no service uses any more.
    RemoveFile {
        kind: FileKind,
        name: String,
        id: String,
    },
    /// `down -v`: the stack's volume on the node wharf talks to (a volume is local to each
    /// node that ran a task mounting it), once the tasks that mount it there are gone.
    RemoveVolume {
        name: String,
    },
}

/// Operations run in order: networks, secrets and configs, then services in dependency
/// order, then removals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwarmPlan {
    pub operations: Vec<SwarmOperation>,
    pub warnings: Vec<String>,
}

/// What an `up` is asked for beyond the file.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// The services it acts on (service arguments, `--no-deps`); the others stay as they are.
    pub scope: Scope,
    /// `--remove-orphans`: the stack's services the file no longer has are removed.
    pub remove_orphans: bool,
    /// `--force-recreate`: the services named (all without service arguments) are updated even
    /// when nothing changed; their dependencies only when they did, as compose recreates them.
    pub force_recreate: bool,
}

/// `up`: create what is missing, update what differs, for the services in scope and the
/// networks, secrets and configs they use; with `remove_orphans`, remove the stack's services
/// (then networks) that the file no longer has, else warn about them. Old secret and config
/// versions go when no service that this plan leaves as it is still uses them.
pub fn up(stack: &Stack, observed: &ObservedStack, options: &UpOptions) -> SwarmPlan {
    let scope = &options.scope;
    let mut plan = SwarmPlan {
        warnings: stack.warnings.clone(),
        ..SwarmPlan::default()
    };
    for (name, network) in &stack.networks {
        if !observed.networks.contains_key(name) && scope.needs_network(stack, name) {
            plan.operations
                .push(SwarmOperation::CreateNetwork(network.clone()));
        }
    }
    for (name, file) in &stack.files.owned {
        if !observed.files.contains_key(name) && scope.needs_file(stack, file) {
            plan.operations
                .push(SwarmOperation::CreateFile(file.clone()));
        }
    }
    let mut waited = HashSet::new();
    for (name, spec) in stack.services.iter().filter(|(n, _)| scope.contains(n)) {
        let service = observed.services.get(name);
        let force = options.force_recreate && scope.is_named(name);
        let Some(operation) = service_operation(spec, service, force) else {
            continue;
        };
        // A dependency out of scope (`--no-deps`) is not waited for, as compose leaves it out.
        let dependencies = stack.depends_on.get(name).into_iter().flatten();
        for (dependency, condition) in dependencies.filter(|(d, _)| scope.contains(d)) {
            if waited.insert((dependency, *condition)) {
                plan.operations.push(SwarmOperation::Wait {
                    service: dependency.clone(),
                    condition: *condition,
                    tasks: condition::tasks(&stack.services[dependency]),
                    restarts: Restarts::of(&stack.services[dependency]),
                    dependent: name.clone(),
                });
            }
        }
        plan.operations.push(operation);
    }
    let orphans: Vec<&String> = observed
        .services
        .keys()
        .filter(|name| !stack.services.contains_key(*name))
        .collect();
    match options.remove_orphans {
        true => {
            for name in orphans {
                plan.operations.push(SwarmOperation::RemoveService {
                    name: name.clone(),
                    id: observed.services[name].id.clone(),
                });
            }
        }
        false if !orphans.is_empty() => {
            let names: Vec<&str> = orphans.iter().map(|n| n.as_str()).collect();
            plan.warnings.push(format!(
                "found orphan services ({}) for this project; run with --remove-orphans to \
                 remove them",
                names.join(", ")
            ));
        }
        false => {}
    }
    let kept = kept_services(&plan, observed);
    if options.remove_orphans {
        remove_networks(&mut plan, observed, |name| {
            !stack.networks.contains_key(name) && !kept.iter().any(|s| s.attaches(name))
        });
    }
    remove_files(&mut plan, observed, |kind, name| {
        !stack.files.owned.contains_key(name) && !kept.iter().any(|s| s.uses(kind, name))
    });
    plan
}

/// The services on the swarm that `plan` leaves as they are (out of scope, unchanged, kept
/// orphans): what they use stays.
fn kept_services<'a>(plan: &SwarmPlan, observed: &'a ObservedStack) -> Vec<&'a ObservedService> {
    let changed: HashSet<&str> = plan
        .operations
        .iter()
        .filter_map(|operation| match operation {
            SwarmOperation::RemoveService { name, .. } => Some(name.as_str()),
            other => other.deploys(),
        })
        .collect();
    observed
        .services
        .iter()
        .filter(|(name, _)| !changed.contains(name.as_str()))
        .map(|(_, service)| service)
        .collect()
}

/// What makes `service` (none: not on the swarm yet) have `spec`: a create, an update with the
/// fields that differ, a replacement when its mode changes; nothing when it has it, unless
/// `force` (`--force-recreate`): then an update that moves the swarm's `ForceUpdate` counter on,
/// as `docker service update --force` does, so that its tasks are replaced through its
/// update_config.
fn service_operation(
    spec: &ServiceSpec,
    service: Option<&ObservedService>,
    force: bool,
) -> Option<SwarmOperation> {
    let Some(service) = service else {
        return Some(SwarmOperation::CreateService(spec.clone()));
    };
    let desired = serde_json::to_value(spec).expect("a service spec is JSON");
    let (from, to) = (mode_kind(&service.spec), mode_kind(&desired));
    if from != to {
        return Some(SwarmOperation::ReplaceService {
            id: service.id.clone(),
            spec: spec.clone(),
            from,
            to,
        });
    }
    // The counter is the swarm's: carried as it is, an update that resets it would replace
    // every task (a scale alone would), and a counter moved on by `--force-recreate` or by
    // `docker service update --force` is no change for the next `up`.
    let mut spec = spec.clone();
    let counter = service.force_update();
    spec.task_template
        .get_or_insert_with(Default::default)
        .force_update = Some(counter);
    let desired = serde_json::to_value(&spec).expect("a service spec is JSON");
    let mut fields = differences(&desired, &service.spec);
    if force {
        spec.task_template
            .get_or_insert_with(Default::default)
            .force_update = Some(counter + 1);
        fields.push("TaskTemplate.ForceUpdate".into());
    }
    (!fields.is_empty()).then(|| SwarmOperation::UpdateService {
        id: service.id.clone(),
        version: service.version,
        spec,
        fields,
    })
}

/// What undoes the services `ran`, the operations of an `up` that ended, on the stack
/// `observed` before it: an updated service goes back to its previous spec, a created one is
/// removed, a replaced one is removed and created again as it was; last changed, first undone.
/// Networks, secrets and configs it created stay (unused, harmless, and the next `up` needs
/// them again or removes them).
pub fn rollback(ran: &[&SwarmOperation], observed: &ObservedStack) -> SwarmPlan {
    let mut plan = SwarmPlan::default();
    for operation in ran.iter().rev() {
        match operation {
            SwarmOperation::UpdateService { spec, .. } => {
                plan.operations.push(SwarmOperation::RollBackService {
                    name: name_of(spec).to_string(),
                });
            }
            SwarmOperation::CreateService(spec) => {
                plan.operations.push(removal(name_of(spec)));
            }
            SwarmOperation::ReplaceService { spec, .. } => {
                let name = name_of(spec);
                plan.operations.push(removal(name));
                if let Some(old) = observed.services.get(name) {
                    plan.operations
                        .push(SwarmOperation::CreateService(old.restorable_spec()));
                }
            }
            // A secret's or config's version made before the services (so removed after they
            // are undone), by name: the plan never knew its ID. The swarm refuses it only while
            // a service's spec names it, and the undone specs do not. A network it made stays:
            // the swarm refuses its removal while the tasks of the failed spec still run.
            SwarmOperation::CreateFile(file) => {
                plan.operations.push(SwarmOperation::RemoveFile {
                    kind: file.kind,
                    name: file.name.clone(),
                    id: file.name.clone(),
                });
            }
            _ => {}
        }
    }
    plan
}

/// A service's removal by its name: one this `up` created has an ID the plan does not know,
/// and the engine takes either.
fn removal(name: &str) -> SwarmOperation {
    SwarmOperation::RemoveService {
        name: name.to_string(),
        id: name.to_string(),
    }
}

fn name_of(spec: &ServiceSpec) -> &str {
    spec.name.as_deref().unwrap_or_default()
}

/// `down`: the services in scope (every one of the stack without service arguments), then the
/// stack's networks, secrets and configs that no other service of the stack uses.
/// `volumes` are those of `down -v` on the node wharf talks to: removed when no service is
/// kept, with a warning for the copies on other nodes.
pub fn down(observed: &ObservedStack, scope: &Scope, volumes: &[String]) -> SwarmPlan {
    let mut plan = SwarmPlan::default();
    for (name, service) in observed.services.iter().filter(|(n, _)| scope.contains(n)) {
        plan.operations.push(SwarmOperation::RemoveService {
            name: name.clone(),
            id: service.id.clone(),
        });
    }
    let kept = kept_services(&plan, observed);
    remove_networks(&mut plan, observed, |name| {
        !kept.iter().any(|s| s.attaches(name))
    });
    remove_files(&mut plan, observed, |kind, name| {
        !kept.iter().any(|s| s.uses(kind, name))
    });
    if kept.is_empty() {
        plan.operations.extend(
            volumes
                .iter()
                .map(|name| SwarmOperation::RemoveVolume { name: name.clone() }),
        );
    }
    plan
}

/// The stack's own secrets and configs that are `stale`, after everything else: a service
/// updated away from an old version no longer holds it.
fn remove_files(
    plan: &mut SwarmPlan,
    observed: &ObservedStack,
    stale: impl Fn(FileKind, &str) -> bool,
) {
    for (name, file) in &observed.files {
        if stale(file.kind, name) {
            plan.operations.push(SwarmOperation::RemoveFile {
                kind: file.kind,
                name: name.clone(),
                id: file.id.clone(),
            });
        }
    }
}

/// A spec's mode as the engine's JSON names it (`Replicated`, `Global`, `ReplicatedJob`,
/// `GlobalJob`).
fn mode_kind(spec: &serde_json::Value) -> String {
    let modes = spec.get("Mode").and_then(|m| m.as_object());
    let kind = modes.and_then(|m| m.iter().find(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()));
    kind.unwrap_or_else(|| "Replicated".into())
}

fn remove_networks(plan: &mut SwarmPlan, observed: &ObservedStack, stale: impl Fn(&str) -> bool) {
    for (name, network) in &observed.networks {
        if stale(name) {
            plan.operations.push(SwarmOperation::RemoveNetwork {
                name: name.clone(),
                id: network.id.clone(),
            });
        }
    }
}

impl fmt::Display for SwarmOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwarmOperation::CreateNetwork(network) => write!(
                f,
                "create network {} ({})",
                network.name,
                network.driver.as_deref().unwrap_or("overlay")
            ),
            SwarmOperation::CreateFile(file) => {
                write!(f, "create {} {}", file.kind, file.name)
            }
            SwarmOperation::CreateService(spec) => write!(
                f,
                "create service {} ({}, {})",
                spec.name.as_deref().unwrap_or_default(),
                image(spec),
                mode(spec)
            ),
            SwarmOperation::UpdateService { spec, fields, .. } => write!(
                f,
                "update service {} ({})",
                spec.name.as_deref().unwrap_or_default(),
                fields.join(", ")
            ),
            SwarmOperation::ReplaceService { spec, from, to, .. } => write!(
                f,
                "replace service {} (mode {from} to {to}: the swarm cannot change it in place)",
                spec.name.as_deref().unwrap_or_default()
            ),
            SwarmOperation::RemoveService { name, .. } => write!(f, "remove service {name}"),
            SwarmOperation::Wait {
                service,
                condition,
                dependent,
                ..
            } => write!(
                f,
                "wait for service {service}: {condition} ({dependent} depends on it)"
            ),
            SwarmOperation::RollBackService { name } => {
                write!(f, "roll back service {name} to its previous spec")
            }
            SwarmOperation::RemoveNetwork { name, .. } => write!(f, "remove network {name}"),
            SwarmOperation::RemoveFile { kind, name, .. } => write!(f, "remove {kind} {name}"),
            SwarmOperation::RemoveVolume { name } => {
                write!(f, "remove volume {name} (on the node wharf talks to)")
            }
        }
    }
}

impl SwarmOperation {
    /// The service (its swarm name) that this operation creates, updates or replaces.
    pub fn deploys(&self) -> Option<&str> {
        match self {
            SwarmOperation::CreateService(spec)
            | SwarmOperation::UpdateService { spec, .. }
            | SwarmOperation::ReplaceService { spec, .. } => spec.name.as_deref(),
            _ => None,
        }
    }

    /// Whether it removes something (its end is that the object is gone).
    pub fn removes(&self) -> bool {
        matches!(
            self,
            SwarmOperation::RemoveService { .. }
                | SwarmOperation::RemoveNetwork { .. }
                | SwarmOperation::RemoveFile { .. }
                | SwarmOperation::RemoveVolume { .. }
        )
    }
}

impl SwarmPlan {
    /// The plan without its removals of old secret and config versions, and those removals:
    /// `up` runs them only once the stack has converged, so that a service that rolls back
    /// (swarm's `failure_action: rollback`) still finds the versions it goes back to.
    pub fn split_old_files(&self) -> (SwarmPlan, SwarmPlan) {
        let (old, rest): (Vec<_>, Vec<_>) = self
            .operations
            .iter()
            .cloned()
            .partition(|o| matches!(o, SwarmOperation::RemoveFile { .. }));
        let deploy = SwarmPlan {
            operations: rest,
            warnings: self.warnings.clone(),
        };
        let old = SwarmPlan {
            operations: old,
            warnings: Vec::new(),
        };
        (deploy, old)
    }
}

impl fmt::Display for SwarmPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, operation) in self.operations.iter().enumerate() {
            writeln!(f, "#{index} {operation}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

fn image(spec: &ServiceSpec) -> &str {
    let container = spec
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref());
    container
        .and_then(|c| c.image.as_deref())
        .unwrap_or_default()
}

/// `replicated 3`, `global`, `replicated-job 2`, `global-job`.
fn mode(spec: &ServiceSpec) -> String {
    let Some(mode) = &spec.mode else {
        return "replicated 1".into();
    };
    if let Some(replicated) = &mode.replicated {
        return format!("replicated {}", replicated.replicas.unwrap_or(1));
    }
    if let Some(job) = &mode.replicated_job {
        return format!("replicated-job {}", job.total_completions.unwrap_or(1));
    }
    match mode.global_job.is_some() {
        true => "global-job".into(),
        false => "global".into(),
    }
}

impl crate::backend::Planned for SwarmPlan {
    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn operations(&self) -> usize {
        self.operations.len()
    }
}
