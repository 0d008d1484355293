//! `create` and `up --no-start`: `up`'s plan without what runs containers, so that both
//! converge exactly as `up` does (networks, volumes, images, creates, recreates, scale down,
//! orphans) and leave the new containers created.

use super::{Action, Deps, EngineCall, Plan};
use crate::desired::HookStage;

impl Plan {
    /// The plan without its container starts and what only makes sense once containers run:
    /// `post_start` hooks, waits, monitors, delays, failure counts, and the fallbacks of a rolling update. An
    /// operation that waited for a removed one waits for what that one waited for instead;
    /// ids are renumbered in order, so every dependency still points backwards.
    pub fn without_starts(&self) -> Plan {
        let runs = |id: usize| {
            let op = &self.operations[id];
            op.if_failed.is_some()
                || matches!(
                    op.action,
                    Action::Engine(
                        EngineCall::StartContainer { .. }
                            | EngineCall::RunHook {
                                stage: HookStage::PostStart,
                                ..
                            }
                    ) | Action::Control(_)
                )
        };
        // Old id → new id, or for a removed operation, the new ids of what it waited for.
        let mut kept: Vec<Option<usize>> = Vec::with_capacity(self.operations.len());
        let mut inherited: Vec<Vec<usize>> = Vec::with_capacity(self.operations.len());
        let mut plan = Plan {
            warnings: self.warnings.clone(),
            ..Plan::default()
        };
        for op in &self.operations {
            let resolve = |ids: &[usize]| {
                let mut out: Vec<usize> = ids
                    .iter()
                    .flat_map(|&id| match kept[id] {
                        Some(new) => vec![new],
                        None => inherited[id].clone(),
                    })
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            };
            let after = resolve(&op.after);
            let settled = resolve(&op.settled);
            if runs(op.id) {
                let mut all = after;
                all.extend(settled);
                all.sort_unstable();
                all.dedup();
                kept.push(None);
                inherited.push(all);
                continue;
            }
            let settled: Vec<usize> = settled.into_iter().filter(|s| !after.contains(s)).collect();
            let deps = Deps {
                after,
                settled,
                if_failed: None,
            };
            kept.push(Some(plan.push_with(
                op.action.clone(),
                op.cause.clone(),
                deps,
            )));
            inherited.push(Vec::new());
        }
        plan
    }
}
