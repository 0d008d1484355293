//! The project's networks and volumes in a plan: created when missing, compared with the file
//! when they exist, and a network whose options changed recreated with the containers on it.

use std::collections::{HashMap, HashSet};

use super::containers::stop_and_remove;
use super::drift::{self, Changed};
use super::{Cause, EngineCall, Plan, PlanError, ReconcileOptions, ResourceKind};
use crate::desired::{Desired, DesiredNetwork, DesiredVolume, MountKind};
use crate::observe::{Observed, ObservedContainer};

/// What the networks and volumes give the services: the operations that create them, by
/// engine name, and the project's networks whose options differ from the file's.
pub(super) struct Resources<'a> {
    pub network_ops: HashMap<&'a str, usize>,
    pub volume_ops: HashMap<&'a str, usize>,
    pub changed_networks: Vec<(&'a DesiredNetwork, Changed)>,
}

/// Every declared network and volume for the whole project, the ones the selected services
/// use for service arguments: created when missing, reused with a warning when someone else
/// made them, compared with the file when they are the project's.
pub(super) fn ensure_resources<'a>(
    plan: &mut Plan,
    desired: &'a Desired,
    observed: &Observed,
    options: &ReconcileOptions,
    services: &[String],
) -> Result<Resources<'a>, PlanError> {
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
    let networks = desired
        .networks
        .values()
        .filter(|n| whole || used_networks.contains(n.name.as_str()));
    let volumes = desired
        .volumes
        .values()
        .filter(|v| whole || used_volumes.contains(v.name.as_str()));
    let mut resources = Resources {
        network_ops: HashMap::new(),
        volume_ops: HashMap::new(),
        changed_networks: Vec::new(),
    };
    for network in networks {
        ensure_network(plan, &desired.project, network, observed, &mut resources)?;
    }
    for volume in volumes {
        ensure_volume(plan, &desired.project, volume, observed, &mut resources)?;
    }
    Ok(resources)
}

fn ensure_network<'a>(
    plan: &mut Plan,
    project: &str,
    network: &'a DesiredNetwork,
    observed: &Observed,
    resources: &mut Resources<'a>,
) -> Result<(), PlanError> {
    match observed.networks.get(&network.name) {
        None if network.external => Err(PlanError::ExternalMissing {
            kind: ResourceKind::Network,
            name: network.name.clone(),
        }),
        None => {
            let id = plan.push(
                EngineCall::CreateNetwork(network.clone()),
                Cause::Missing,
                vec![],
            );
            resources.network_ops.insert(&network.name, id);
            Ok(())
        }
        Some(found) if !network.external && !found.is_owned_by(project) => {
            plan.warnings
                .push(not_ours(ResourceKind::Network, &network.name, project));
            Ok(())
        }
        Some(found) if !network.external => {
            let changed = drift::network(network, found).map(|c| (network, c));
            resources.changed_networks.extend(changed);
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

fn ensure_volume<'a>(
    plan: &mut Plan,
    project: &str,
    volume: &'a DesiredVolume,
    observed: &Observed,
    resources: &mut Resources<'a>,
) -> Result<(), PlanError> {
    match observed.volumes.get(&volume.name) {
        None if volume.external => Err(PlanError::ExternalMissing {
            kind: ResourceKind::Volume,
            name: volume.name.clone(),
        }),
        None => {
            let id = plan.push(
                EngineCall::CreateVolume(volume.clone()),
                Cause::Missing,
                vec![],
            );
            resources.volume_ops.insert(&volume.name, id);
            Ok(())
        }
        Some(found) if !volume.external && !found.is_owned_by(project) => {
            plan.warnings
                .push(not_ours(ResourceKind::Volume, &volume.name, project));
            Ok(())
        }
        Some(found) if !volume.external => {
            plan.warnings
                .extend(drift::volume(volume, found).map(|c| volume_kept(&c)));
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// A network or volume of the file's name that another project (or someone) made.
fn not_ours(kind: ResourceKind, name: &str, project: &str) -> String {
    format!(
        "{kind} {name} already exists but was not created for project {project}; \
         using it (declare it `external: true` to silence this warning)"
    )
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
/// created again, and their services' replicas created anew on it (see `decide_fates`). A network
/// that containers outside the plan use is kept, with a warning that says what to run.
/// Returns the services whose containers go, with the cause, and the networks' creates. (Only
/// `Create` replicas are on such a network: every container on it is removed first.)
pub(super) fn replace_networks<'a>(
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
                || desired.services.get(c.service()).is_some_and(|s| {
                    s.container
                        .networks
                        .iter()
                        .any(|n| n.network == network.name)
                })
        };
        let mut users: Vec<&ObservedContainer> =
            observed.containers().filter(|c| on_it(c)).collect();
        users.sort_by(|a, b| {
            (&a.service(), a.number(), &a.name).cmp(&(&b.service(), b.number(), &b.name))
        });
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
                .filter(|_| !desired.knows(c.service()))
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
                        .get(c.service())
                        .map_or(&[][..], |s| &s.hooks.pre_stop);
                    let id = stop_and_remove(plan, c, cause.clone(), options.timeout, pre_stop);
                    removed.insert(&c.id, id);
                    freed.insert(&c.name, id);
                    id
                }
            };
            removals.push(id);
            replaced.entry(c.service()).or_insert_with(|| cause.clone());
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
        .filter(|c| !desired.knows(c.service()))
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
        .filter(|c| desired.knows(c.service()) && !services.contains(c.service()))
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
