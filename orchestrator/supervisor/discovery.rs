//! wharf's DNS in the supervisor. Containers are given the gateway of their first network as
//! their DNS server, so the DNS must listen there before a container is created: the networks
//! a plan needs are created first (its volumes with them: then every container create is ready
//! at once, and the one at the head of the longest chain goes first), then the DNS binds port
//! 53 on their gateways. When it cannot (port 53 taken, not root), service names become Docker
//! aliases again, and `up` says so.
//! While a plan runs, the answers follow it: a dependent started by the same plan finds the
//! replicas of its dependencies.

use std::collections::BTreeSet;

use super::Supervisor;
use super::converge::sub_plan;
use super::error::SupervisorError;
use super::watcher::{Notice, Subscription};
use crate::backend::Backend;
use crate::converge::Reporter;
use crate::desired::{Desired, Discovery};
use crate::dns::{Dns, DnsConfig, PlanView};
use crate::engine::{ContainerEngine, EngineNetwork, EventAction};
use crate::execute::Report;
use crate::observe::{Listing, Observed};
use crate::plan::{self, Cause, EngineCall, Plan, ReconcileOptions};

impl Supervisor {
    /// Makes `desired`'s networks and volumes exist and the DNS listen on the networks'
    /// gateways; says how containers should find services, with the engine as last observed
    /// (after the networks and volumes were made), which the plan that follows can start from.
    pub(super) async fn prepare_discovery(
        &mut self,
        desired: &Desired,
        listing: Option<Listing>,
        options: &ReconcileOptions,
        sink: &dyn Reporter,
    ) -> Result<(Discovery, Observed), SupervisorError> {
        let config = DnsConfig::from_env().map_err(SupervisorError::DnsConfig)?;
        let mut observed = self.observe_listed(desired, listing).await?;
        let plan = self.backend().plan(desired, &observed, options)?;
        let creations = networks_and_volumes(&plan);
        if !creations.operations.is_empty() {
            // The new networks' gateways are known only once they exist.
            self.run_plan(&creations, sink).await?;
            observed = self.observe(desired).await?;
        }
        let networks: Vec<&EngineNetwork> = desired
            .networks
            .values()
            .filter_map(|n| observed.networks.get(&n.name))
            .map(|n| &n.engine)
            .collect();
        let listening = match &mut self.dns {
            Some(dns) => dns.listen(&networks).await,
            None => Dns::start(&config, &networks)
                .await
                .map(|dns| self.dns = Some(dns)),
        };
        let discovery = match listening {
            Ok(()) => Discovery::WharfDns,
            Err(reason) => {
                sink.warning(&format!(
                    "wharf's DNS {reason}; service names resolve through Docker aliases instead (no health checks, no round robin)"
                ));
                Discovery::DockerAliases
            }
        };
        Ok((discovery, observed))
    }
}

/// The operations of a plan that make its networks and volumes what the file says, as a plan
/// of their own: the creations of missing ones, and the replacement of the networks whose
/// options changed (the containers on them stopped and removed, the network removed and created
/// again), with what those wait for. The DNS then listens on the gateways the networks will
/// keep; the plan made next creates the containers on them.
fn networks_and_volumes(plan: &Plan) -> Plan {
    let resource = |op: &plan::Operation| match (op.action.engine_call(), &op.cause) {
        (Some(EngineCall::CreateNetwork(_) | EngineCall::CreateVolume(_)), _) => true,
        (Some(EngineCall::CreateContainer { .. } | EngineCall::StartContainer { .. }), _) => false,
        (_, Cause::ResourceChanged(_)) => true,
        _ => false,
    };
    let mut kept: BTreeSet<usize> = BTreeSet::new();
    let mut pending: Vec<usize> = plan
        .operations
        .iter()
        .filter(|op| resource(op))
        .map(|op| op.id)
        .collect();
    while let Some(id) = pending.pop() {
        if kept.insert(id) {
            pending.extend(&plan.operations[id].after);
        }
    }
    Plan {
        operations: sub_plan(plan, &kept),
        ..Plan::default()
    }
}

/// Runs `execution` (a plan's) while the DNS follows the engine: every container that starts,
/// dies or changes health during the plan is in the answers at once, not at the next observe.
/// (`view` also takes the operations as they start, from the plan's progress.) The engine is
/// listed again once per burst of such events, never twice at once: a cold `up` starts
/// dozens of containers, and a list per start would slow the plan it follows. Events that may
/// have been missed are such a burst too.
pub(super) async fn publishing(
    view: &PlanView<'_>,
    runtime: &dyn ContainerEngine,
    desired: &Desired,
    mut events: Subscription,
    execution: impl std::future::Future<Output = Report>,
) -> Report {
    let project = desired.project.as_str();
    tokio::pin!(execution);
    let mut listing = std::pin::pin!(futures_util::future::OptionFuture::default());
    let mut listing_now = false;
    let mut dirty = false;
    loop {
        if dirty && !listing_now {
            listing.set(Some(runtime.containers(project)).into());
            listing_now = true;
            dirty = false;
        }
        tokio::select! {
            report = &mut execution => return report,
            Some(listed) = &mut listing, if listing_now => {
                listing_now = false;
                if let Ok(containers) = listed {
                    view.containers(containers);
                }
            }
            notice = events.next() => match notice {
                Notice::Event(event) => dirty |= changes_answers(&event.action),
                Notice::Relist => dirty = true,
                Notice::Unavailable { .. } => {}
            },
        }
    }
}

fn changes_answers(action: &EventAction) -> bool {
    matches!(
        action,
        EventAction::Start | EventAction::HealthStatus(_) | EventAction::Die { .. }
    )
}
