//! Lifecycle hooks in a plan. A start is followed by the service's `post_start` hooks and a
//! stop preceded by its `pre_stop` hooks, one operation per hook, in the file's order, as
//! compose v2 runs them: what waits for a started container waits for its last hook, so a
//! failing `post_start` fails the start for its dependents, and a failing `pre_stop` leaves
//! the container running (and not removed).

use std::time::Duration;

use super::{Cause, ContainerRef, EngineCall, Plan};
use crate::desired::{Hook, HookStage};

impl Plan {
    /// Starts a container, then runs `post_start` in it; returns the id that what needs the
    /// container started waits for (the last hook, or the start).
    pub fn push_start(
        &mut self,
        service: &str,
        container: ContainerRef,
        post_start: &[Hook],
        cause: Cause,
        after: Vec<usize>,
    ) -> usize {
        let start = self.push(
            EngineCall::StartContainer {
                service: service.to_string(),
                container: container.clone(),
            },
            cause.clone(),
            after,
        );
        let hooks = HookChain {
            service,
            container: &container,
            stage: HookStage::PostStart,
        };
        hooks
            .push(self, post_start, &cause, vec![start])
            .unwrap_or(start)
    }

    /// Runs `pre_stop` in a running container, then stops it; returns the stop's id.
    pub fn push_stop(
        &mut self,
        service: &str,
        container: ContainerRef,
        timeout: Option<Duration>,
        pre_stop: &[Hook],
        cause: Cause,
        after: Vec<usize>,
    ) -> usize {
        let hooks = HookChain {
            service,
            container: &container,
            stage: HookStage::PreStop,
        };
        let after = match hooks.push(self, pre_stop, &cause, after.clone()) {
            Some(last) => vec![last],
            None => after,
        };
        self.push(
            EngineCall::StopContainer {
                service: service.to_string(),
                container,
                timeout,
            },
            cause,
            after,
        )
    }
}

/// The hooks of one stage for one container.
struct HookChain<'a> {
    service: &'a str,
    container: &'a ContainerRef,
    stage: HookStage,
}

impl HookChain<'_> {
    /// One operation per hook, each after the one before, the first after `after`; the id of
    /// the last, if any.
    fn push(
        &self,
        plan: &mut Plan,
        hooks: &[Hook],
        cause: &Cause,
        after: Vec<usize>,
    ) -> Option<usize> {
        let mut after = after;
        let mut last = None;
        for (index, hook) in hooks.iter().enumerate() {
            let id = plan.push(
                EngineCall::RunHook {
                    service: self.service.to_string(),
                    container: self.container.clone(),
                    stage: self.stage,
                    index,
                    hook: hook.clone(),
                },
                cause.clone(),
                after,
            );
            after = vec![id];
            last = Some(id);
        }
        last
    }
}
