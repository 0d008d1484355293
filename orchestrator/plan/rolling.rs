//! A rolling update: the diverged replicas of a service with `deploy.update_config`, replaced
//! batch by batch, with swarm's meaning of each key. Everything is decided here, as operations:
//! the batches are chained through their dependencies, the delay is an operation, and so are
//! the waits for a new replica to be ready, its monitor and the failure count of each batch.
//!
//! One replica, stop-first (start-first starts and readies the new container before stopping
//! the old one):
//!
//! ```text
//! create new (temporary name) → stop old → start new → wait ready → monitor
//!     … the batch's failure count …
//! confirmed:   remove old → rename new
//! rolled back: stop new → remove new, start old        (only when the count failed)
//! ```
//!
//! The old container keeps its name and is only stopped until its batch is judged, so a
//! rollback needs nothing but a start: not the old spec, not a rename. A start-first replica
//! whose new container never gets ready keeps its old container, which was never stopped, and
//! the new one is discarded, whatever the failure action.

use std::time::Duration;

use super::containers::{existing, needs_stop};
use super::replacement::{create_replacement, new_container, take_over};
use super::{Cause, ControlStep, Deps, EngineCall, Plan, lifecycle};
use crate::desired::{DesiredService, FailureAction, UpdateOrder, UpdatePolicy};
use crate::observe::ObservedContainer;

/// One diverged replica to replace.
pub(super) struct Replacement<'a> {
    pub number: u32,
    pub old: &'a ObservedContainer,
    /// Why it diverged (config changed, image changed, …).
    pub cause: Cause,
    /// What the rename to its final name waits for besides the old container's removal (the
    /// removal of another container holding that name).
    pub rename_after: Vec<usize>,
    /// What the create under the temporary name waits for: the removal of a container that
    /// holds that name (the new container of an interrupted replacement, out of date in turn).
    pub create_after: Vec<usize>,
}

/// A service's rolling update and what it waits for.
pub(super) struct Rollout<'a> {
    pub project: &'a str,
    pub service: &'a DesiredService,
    pub policy: UpdatePolicy,
    /// What every create waits for (networks, volumes, the image, joined namespaces).
    pub prerequisites: &'a [usize],
    /// What every start waits for (the service's `depends_on`).
    pub waits: &'a [usize],
    /// `up -t`: the stop timeout.
    pub timeout: Option<Duration>,
    /// `up -V`.
    pub renew_anon_volumes: bool,
}

/// Where the update stands between two batches.
#[derive(Default)]
struct Chain {
    /// Per replica so far, the operation that succeeds when it passed.
    watched: Vec<usize>,
    /// The previous batch's failure count, if the update has counts.
    previous_check: Option<usize>,
    /// What the next batch's creates wait for.
    gate: Deps,
    /// The renames of the replicas so far.
    renames: Vec<usize>,
}

/// The operations of one replica that the rest of its batch refers to.
struct Replaced {
    /// The operation after which the new container stands in for the old one: its create
    /// (stop-first), or its wait for readiness (start-first: before that, the old one still
    /// serves, and a new one that fails is discarded).
    stands_in: usize,
    /// The stop of the old container, when it was running.
    stop_old: Option<usize>,
    /// Succeeds when the replica passed: its monitor, or its wait when there is none.
    passed: usize,
    /// The operations of this replica that nothing after them in the replica waits for.
    tails: Vec<usize>,
}

impl Rollout<'_> {
    /// `start-first` cannot start a second container on a fixed host port that the old one
    /// holds: such a service is updated stop-first, with a warning.
    fn order(&self, warnings: &mut Vec<String>) -> UpdateOrder {
        let fixed_port = self
            .service
            .container
            .ports
            .iter()
            .find(|p| p.host_port.is_some());
        match (self.policy.order, fixed_port) {
            (UpdateOrder::StartFirst, Some(port)) => {
                warnings.push(format!(
                    "service {}: update_config.order start-first cannot run two replicas on host port {}; \
                     they are replaced stop-first",
                    self.service.name,
                    port.host_port.as_deref().unwrap_or_default()
                ));
                UpdateOrder::StopFirst
            }
            (order, _) => order,
        }
    }

    /// Adds the update's operations; returns the renames, which all succeed once every
    /// replica runs the new config under its own name.
    pub fn push(&self, plan: &mut Plan, replicas: &[Replacement]) -> Vec<usize> {
        let order = self.order(&mut plan.warnings);
        let size = match self.policy.parallelism {
            0 => replicas.len(),
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let batches = replicas.len().div_ceil(size);
        let mut chain = Chain::default();
        for (index, batch) in replicas.chunks(size).enumerate() {
            let cause = Cause::Rollout {
                service: self.service.name.clone(),
                batch: index + 1,
                batches,
            };
            self.push_batch(plan, batch, order, replicas.len(), &cause, &mut chain);
            if index + 1 < batches && !self.policy.delay.is_zero() {
                let delay = ControlStep::Delay {
                    service: self.service.name.clone(),
                    period: self.policy.delay,
                };
                let gate = std::mem::take(&mut chain.gate);
                chain.gate = Deps::after(vec![plan.push_with(delay, cause, gate)]);
            }
        }
        chain.renames
    }

    /// One batch: its replicas, its failure count, then its confirmations and fallbacks.
    fn push_batch(
        &self,
        plan: &mut Plan,
        batch: &[Replacement],
        order: UpdateOrder,
        updated: usize,
        cause: &Cause,
        chain: &mut Chain,
    ) {
        let replaced: Vec<Replaced> = batch
            .iter()
            .map(|r| self.replace(plan, r, order, &chain.gate))
            .collect();
        chain.watched.extend(replaced.iter().map(|r| r.passed));
        let mut tails: Vec<usize> = replaced.iter().flat_map(|r| r.tails.clone()).collect();
        tails.sort_unstable();
        // A count only matters when the previous one passed: a batch that did not run has
        // nothing to count.
        let count_after = Deps {
            after: chain.previous_check.into_iter().collect(),
            settled: tails.clone(),
            ..Deps::default()
        };
        let check = self.check(plan, &chain.watched, updated, cause.clone(), count_after);
        // Only a rollback needs the old containers after a failed count; otherwise the batch
        // stays on the new config whatever the count says, as in swarm.
        let confirmed = match (self.policy.failure_action, check) {
            (FailureAction::Rollback, Some(check)) => Deps::after(vec![check]),
            (_, Some(check)) => settled(vec![check]),
            (_, None) => settled(tails.clone()),
        };
        for (replica, r) in batch.iter().zip(&replaced) {
            chain
                .renames
                .push(self.confirm(plan, replica, r, &confirmed));
        }
        if let Some(check) = check
            && self.policy.failure_action == FailureAction::Rollback
        {
            for (replica, r) in batch.iter().zip(&replaced) {
                self.roll_back(plan, replica, r, check);
            }
        }
        chain.previous_check = check;
        // The next batch needs the count to pass; without a count, this batch to be over.
        chain.gate = match check {
            Some(check) => Deps::after(vec![check]),
            None => settled(tails),
        };
    }

    /// Creates, starts and watches the new container of one replica.
    fn replace(
        &self,
        plan: &mut Plan,
        replica: &Replacement,
        order: UpdateOrder,
        gate: &Deps,
    ) -> Replaced {
        let name = self.service.name.clone();
        let final_name = self.service.container_name(self.project, replica.number);
        let new = new_container(replica, &final_name);
        let replacing = Cause::Replacing(final_name.clone());
        let mut create_deps = gate.clone();
        create_deps.after.extend(self.prerequisites);
        create_deps.after.sort_unstable();
        let create = create_replacement(
            plan,
            self.service,
            self.project,
            replica,
            self.renew_anon_volumes,
            create_deps,
        );
        let hooks = &self.service.hooks;
        let stop_old = |plan: &mut Plan, after: usize| {
            needs_stop(replica.old).then(|| {
                plan.push_stop(
                    &name,
                    existing(replica.old),
                    self.timeout,
                    &hooks.pre_stop,
                    replacing.clone(),
                    vec![after],
                )
            })
        };
        let start = |plan: &mut Plan, after: usize| {
            let mut after = vec![after];
            after.extend(self.waits);
            after.sort_unstable();
            plan.push_start(
                &name,
                new.clone(),
                &hooks.post_start,
                replica.cause.clone(),
                after,
            )
        };
        let ready = |plan: &mut Plan, after: usize| {
            let wait = ControlStep::WaitFor {
                service: name.clone(),
                container: Some(new.clone()),
                condition: lifecycle::ready(self.service),
                required: true,
            };
            plan.push(wait, replacing.clone(), vec![after])
        };
        let (stop_old, ready, stands_in) = match order {
            UpdateOrder::StopFirst => {
                let stop_old = stop_old(plan, create);
                let started = start(plan, stop_old.unwrap_or(create));
                (stop_old, ready(plan, started), create)
            }
            UpdateOrder::StartFirst => {
                let started = start(plan, create);
                let ready = ready(plan, started);
                // Only what was created can be discarded: a batch that never ran has nothing.
                let discard = Cause::RollingBack(final_name.clone());
                self.remove_new(plan, replica, discard, ready, vec![create]);
                (stop_old(plan, ready), ready, ready)
            }
        };
        let passed = if self.policy.monitor.is_zero() {
            ready
        } else {
            let monitor = ControlStep::Monitor {
                service: name.clone(),
                container: new.clone(),
                period: self.policy.monitor,
            };
            plan.push(monitor, replacing.clone(), vec![ready])
        };
        // Start-first stops the old container beside the monitor, not before it.
        let mut tails = vec![passed];
        if order == UpdateOrder::StartFirst {
            tails.extend(stop_old);
        }
        Replaced {
            stands_in,
            stop_old,
            passed,
            tails,
        }
    }

    /// The failure count after a batch, for `pause` and `rollback`; `continue` never stops,
    /// so it has none.
    fn check(
        &self,
        plan: &mut Plan,
        watched: &[usize],
        updated: usize,
        cause: Cause,
        deps: Deps,
    ) -> Option<usize> {
        if self.policy.failure_action == FailureAction::Continue {
            return None;
        }
        let check = ControlStep::CheckFailures {
            service: self.service.name.clone(),
            watched: watched.to_vec(),
            tolerated: self.policy.tolerated_failures(updated),
            updated,
            failure_action: self.policy.failure_action,
        };
        Some(plan.push_with(check, cause, deps))
    }

    /// The old container goes and the new one takes its name, once `confirmed` allows it.
    /// Returns the rename.
    fn confirm(
        &self,
        plan: &mut Plan,
        replica: &Replacement,
        r: &Replaced,
        confirmed: &Deps,
    ) -> usize {
        let mut deps = confirmed.clone();
        deps.after.push(r.stop_old.unwrap_or(r.stands_in));
        deps.after.sort_unstable();
        take_over(plan, self.service, self.project, replica, deps)
    }

    /// Only when the batch's count failed: the new container goes, and the old one, which
    /// kept its name, runs again if it ran before. A fallback runs no hooks: it undoes a
    /// replacement that failed, and a hook failing there would leave the replica with neither
    /// container running.
    fn roll_back(&self, plan: &mut Plan, replica: &Replacement, r: &Replaced, check: usize) {
        let final_name = self.service.container_name(self.project, replica.number);
        let cause = Cause::RollingBack(final_name);
        let stop_new = self.remove_new(plan, replica, cause.clone(), check, vec![r.stands_in]);
        if let Some(stop_old) = r.stop_old {
            let start_old = EngineCall::StartContainer {
                service: self.service.name.clone(),
                container: existing(replica.old),
            };
            let deps = Deps {
                after: vec![stop_old, stop_new],
                if_failed: Some(check),
                ..Deps::default()
            };
            plan.push_with(start_old, cause, deps);
        }
    }

    /// A fallback for when `failed` did not succeed: stops and removes the new container
    /// (either may find it gone already). Returns the stop.
    fn remove_new(
        &self,
        plan: &mut Plan,
        replica: &Replacement,
        cause: Cause,
        failed: usize,
        after: Vec<usize>,
    ) -> usize {
        let name = &self.service.name;
        let final_name = self.service.container_name(self.project, replica.number);
        let new = new_container(replica, &final_name);
        let stop = EngineCall::StopContainer {
            service: name.clone(),
            container: new.clone(),
            timeout: self.timeout,
        };
        let deps = Deps {
            after,
            if_failed: Some(failed),
            ..Deps::default()
        };
        let stop = plan.push_with(stop, cause.clone(), deps);
        let remove = EngineCall::RemoveContainer {
            service: name.clone(),
            container: new,
            volumes: false,
        };
        let deps = Deps {
            after: vec![stop],
            if_failed: Some(failed),
            ..Deps::default()
        };
        plan.push_with(remove, cause, deps);
        stop
    }
}

/// Waits for `ids` to be done, whatever their outcome.
fn settled(ids: Vec<usize>) -> Deps {
    Deps {
        settled: ids,
        ..Deps::default()
    }
}
