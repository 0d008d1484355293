//! What the supervisor adds to a plan: each kept replica that is down or unhealthy follows its
//! restart policy (now, later or never) instead of being started as `up` starts it.

use std::collections::{BTreeSet, HashSet};

use super::Cause;
use super::containers::needs_start;
use crate::desired::{Desired, DesiredService};
use crate::observe::{ContainerState, Health, Observed, ObservedContainer};
use crate::restart::{self, Exit, Millis, RestartBook, SlotState};

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
pub(super) enum Supervised {
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

    pub(super) fn verdict(&self, service: &DesiredService, c: &ObservedContainer) -> Supervised {
        let slot_key = (service.name.clone(), c.number());
        let down = needs_start(c);
        let unhealthy = c.is_up() && c.health == Some(Health::Unhealthy);
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
        let slot = self.book.get(&service.name, c.number()).unwrap_or(&fresh);
        if down && service.container.restart.restarts_exits() {
            return self.engine_restarted(service, slot);
        }
        let exit = if unhealthy {
            Exit::Unhealthy
        } else {
            Exit::Code(c.exit_code.unwrap_or(0))
        };
        let attempt = slot.next_attempt();
        match restart::decide_restart(&service.restart, slot, self.now, exit) {
            restart::RestartDecision::RestartNow if unhealthy => {
                Supervised::Restart(Cause::Unhealthy { attempt })
            }
            restart::RestartDecision::RestartNow => {
                Supervised::Start(Cause::RestartPolicy { attempt })
            }
            restart::RestartDecision::RestartAt(at) => Supervised::Later(at),
            restart::RestartDecision::GiveUp { .. } | restart::RestartDecision::Leave => {
                Supervised::Leave
            }
        }
    }

    /// A replica of a service the engine restarts by itself (its policy is the floor under the
    /// supervisor), down after an exit: its exits are the engine's to restart, and restarting
    /// them here too would race it. An exit the engine restarts shows as `restarting`, never
    /// down; so an `always` or `unless-stopped` replica that is down was stopped or killed
    /// through the engine's API (which the engine does not undo): drift, started again unless
    /// the user stopped it. An `on-failure` replica that is down exited cleanly or used up its
    /// retries: the engine gave up, and so does the supervisor.
    fn engine_restarted(&self, service: &DesiredService, slot: &SlotState) -> Supervised {
        let stopped_by_user = slot.stopped_by_user || self.user_stopped.contains(&service.name);
        if service.container.restart.restarts_every_exit() && !stopped_by_user {
            Supervised::Start(Cause::Drift)
        } else {
            Supervised::Leave
        }
    }
}
