//! `wharf run`: the plan that makes a one-off container of a service. Its dependencies are
//! brought up as `up SERVICE…` would (the same `reconcile`, for them alone), then their
//! `depends_on` conditions are waited for, as a replica's start would; the one-off's own
//! networks, volumes and image are made when missing; last, the one-off is created. The
//! caller starts it, attached or not.

use super::images::image_action;
use super::{
    Action, Cause, ControlStep, EngineCall, Plan, PlanError, ReconcileOptions, ResourceKind,
    reconcile,
};
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
            .filter_map(|op| op.action.engine_call())
            .any(|call| matches!(call, EngineCall::CreateNetwork(n) if n.name == name))
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
            EngineCall::CreateNetwork(network.clone()),
            Cause::Missing,
            vec![],
        ));
    }
    let planned_volume = |plan: &Plan, name: &str| {
        plan.operations
            .iter()
            .filter_map(|op| op.action.engine_call())
            .any(|call| matches!(call, EngineCall::CreateVolume(v) if v.name == name))
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
        after.push(plan.push(
            EngineCall::CreateVolume(volume.clone()),
            Cause::Missing,
            vec![],
        ));
    }
    let image_planned = plan.operations.iter().any(|op| match &op.action {
        Action::Engine(
            EngineCall::PullImage { image, .. } | EngineCall::BuildImage { image, .. },
        ) => *image == target.image,
        _ => false,
    });
    if !image_planned
        && let Some((action, cause)) = image_action(target, observed, &reconcile_options, true)
    {
        after.push(plan.push(action, cause, vec![]));
    }
    for (dependency, condition) in dependencies {
        after.push(plan.push(
            ControlStep::WaitFor {
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
        EngineCall::CreateContainer {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::one_off_spec;
    use crate::plan::lifecycle;
    use crate::plan::tests::{Fixture, SHOP, golden};

    const NAME: &str = "demo-web-run-0123456789ab";

    fn spec(desired: &Desired) -> ContainerSpec {
        one_off_spec(
            &desired.services["web"].container,
            NAME,
            &"0123456789ab".repeat(6)[..64],
        )
    }

    #[test]
    fn run_on_a_fresh_project() {
        let fixture = Fixture::new();
        let desired = fixture.desired(SHOP);
        let observed = fixture.observe(Some(&desired));
        let plan = one_off(
            &desired,
            &observed,
            "web",
            NAME,
            spec(&desired),
            &RunOptions::default(),
        )
        .expect("a plan");
        golden(
            "run_fresh",
            "`run web` on a project with nothing yet: its dependencies come up as `up db migrate`
             would, the one-off waits for db healthy and migrate completed, and is created last
             (its own network front and volume uploads too). The one-off is never started by the
             plan: `run` starts it attached.",
            "run web",
            Ok(&plan),
        );
        fixture.apply(&plan);
        let observed = fixture.observe(Some(&desired));
        assert_eq!(observed.oneoff.len(), 1);
        assert!(
            !observed.services.contains_key("web"),
            "a one-off is no replica"
        );
        // `up` does not count it: web still gets its replica, and nothing is removed.
        let up = crate::plan::reconcile(&desired, &observed, &Default::default()).expect("a plan");
        assert!(
            up.to_string().contains("create container demo-web-1"),
            "{up}"
        );
        assert!(!up.to_string().contains(NAME), "{up}");
    }

    #[test]
    fn run_without_dependencies() {
        let fixture = Fixture::new();
        let desired = fixture.desired(SHOP);
        let observed = fixture.observe(Some(&desired));
        let options = RunOptions {
            no_deps: true,
            ..RunOptions::default()
        };
        let plan =
            one_off(&desired, &observed, "web", NAME, spec(&desired), &options).expect("a plan");
        golden(
            "run_no_deps",
            "`run --no-deps web`: only what the one-off itself needs, its networks and volume.",
            "run --no-deps web",
            Ok(&plan),
        );
    }

    #[test]
    fn run_beside_a_running_project() {
        let fixture = Fixture::new();
        let desired = fixture.desired(SHOP);
        fixture.up(&desired, &Default::default());
        fixture.settle(&["migrate"]);
        let observed = fixture.observe(Some(&desired));
        let plan = one_off(
            &desired,
            &observed,
            "web",
            NAME,
            spec(&desired),
            &RunOptions::default(),
        )
        .expect("a plan");
        golden(
            "run_running",
            "`run web` once the project is up and the migration has completed: the migration is
             started again, as `up db migrate` (and compose's `run`) would, then the conditions
             are checked and the one-off created.",
            "run web",
            Ok(&plan),
        );
    }

    #[test]
    fn up_wait_takes_a_completed_job_as_done() {
        let fixture = Fixture::new();
        let desired = fixture.desired(SHOP);
        golden(
            "up_wait",
            "`up --wait`: db healthy, web running, and migrate (which web waits on with
             service_completed_successfully) exited 0, not running.",
            "up --wait",
            Ok(&lifecycle::wait(&desired, &[])),
        );
    }
}
