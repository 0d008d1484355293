//! `wharf run`: the plan that makes a one-off container of a service. Its dependencies are
//! brought up as `up SERVICE…` would (the same `reconcile`, for them alone), then their
//! `depends_on` conditions are waited for, as a replica's start would; the one-off's own
//! networks, volumes and image are made when missing; last, the one-off is created. The
//! caller starts it, attached or not.

use super::reconcile::image_action;
use super::{Action, Cause, Plan, PlanError, ReconcileOptions, ResourceKind, reconcile};
use crate::desired::{ContainerSpec, Desired, MountKind};
use crate::observe::Observed;

/// `run`'s flags that change the plan.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--no-deps`: neither start the dependencies nor wait for them.
    pub no_deps: bool,
    pub build: super::BuildPolicy,
}

/// The plan that creates the one-off container `name` of `service` from `spec`.
pub fn one_off(
    desired: &Desired,
    observed: &Observed,
    service: &str,
    name: &str,
    spec: ContainerSpec,
    options: &RunOptions,
) -> Result<Plan, PlanError> {
    let target = desired
        .services
        .get(service)
        .ok_or_else(|| PlanError::UnknownService {
            name: service.to_string(),
        })?;
    let dependencies: Vec<(&String, &crate::spec::model::Dependency)> = target
        .depends_on
        .iter()
        .filter(|_| !options.no_deps)
        .filter(|(dep, _)| desired.services.get(*dep).is_some_and(|d| d.replicas > 0))
        .collect();
    let reconcile_options = ReconcileOptions {
        services: dependencies.iter().map(|(d, _)| d.to_string()).collect(),
        build: options.build,
        ..ReconcileOptions::default()
    };
    let mut plan = if dependencies.is_empty() {
        Plan::default()
    } else {
        reconcile(desired, observed, &reconcile_options)?
    };
    let before: Vec<usize> = (0..plan.operations.len()).collect();
    let mut after = Vec::new();

    let planned_network = |plan: &Plan, name: &str| {
        plan.operations
            .iter()
            .any(|op| matches!(&op.action, Action::CreateNetwork(n) if n.name == name))
    };
    for attachment in &spec.networks {
        let Some(network) = desired
            .networks
            .values()
            .find(|n| n.name == attachment.network)
        else {
            continue;
        };
        if observed.networks.contains_key(&network.name) || planned_network(&plan, &network.name) {
            continue;
        }
        if network.external {
            return Err(PlanError::ExternalMissing {
                kind: ResourceKind::Network,
                name: network.name.clone(),
            });
        }
        after.push(plan.push(
            Action::CreateNetwork(network.clone()),
            Cause::Missing,
            vec![],
        ));
    }
    let planned_volume = |plan: &Plan, name: &str| {
        plan.operations
            .iter()
            .any(|op| matches!(&op.action, Action::CreateVolume(v) if v.name == name))
    };
    for mount in spec.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        let Some(volume) = desired
            .volumes
            .values()
            .find(|v| mount.source.as_deref() == Some(v.name.as_str()))
        else {
            continue;
        };
        if observed.volumes.contains_key(&volume.name) || planned_volume(&plan, &volume.name) {
            continue;
        }
        if volume.external {
            return Err(PlanError::ExternalMissing {
                kind: ResourceKind::Volume,
                name: volume.name.clone(),
            });
        }
        after.push(plan.push(Action::CreateVolume(volume.clone()), Cause::Missing, vec![]));
    }
    let image_planned = plan.operations.iter().any(|op| match &op.action {
        Action::PullImage { image, .. } | Action::BuildImage { image, .. } => {
            *image == target.image
        }
        _ => false,
    });
    if !image_planned
        && let Some((action, cause)) = image_action(target, observed, &reconcile_options, true)
    {
        after.push(plan.push(action, cause, vec![]));
    }
    for (dependency, condition) in dependencies {
        after.push(plan.push(
            Action::WaitFor {
                service: dependency.clone(),
                container: None,
                condition: condition.condition.into(),
                required: condition.required,
            },
            Cause::DependedOn(service.to_string()),
            before.clone(),
        ));
    }
    after.extend(&before);
    after.sort_unstable();
    plan.push(
        Action::CreateContainer {
            service: service.to_string(),
            number: 0,
            name: name.to_string(),
            spec: Box::new(spec),
        },
        Cause::Requested,
        after,
    );
    Ok(plan)
}
