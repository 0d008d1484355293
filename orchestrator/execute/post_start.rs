//! When a start is told: compose tells a container started once its `post_start` hooks have
//! run, so a start followed by hooks is told when its last hook succeeds.

use super::performer::{Call, PostStartChain};
use crate::plan::Plan;

fn link<C: Call>(plan: &Plan<C>, id: usize) -> Option<PostStartChain<'_>> {
    plan.operations[id].action.engine_call()?.post_start_chain()
}

/// The `post_start` hook that runs right after operation `id` (a start, or the hook before
/// it) in the same container.
pub(super) fn hook_after<C: Call>(
    plan: &Plan<C>,
    dependents: &[Vec<usize>],
    id: usize,
) -> Option<usize> {
    let this = link(plan, id)?;
    dependents[id]
        .iter()
        .copied()
        .find(|&next| link(plan, next).is_some_and(|next| this.followed_by(next)))
}

/// The start whose chain of `post_start` hooks operation `id` ends, when it is such a hook.
pub(super) fn start_told_by<C: Call>(
    plan: &Plan<C>,
    dependents: &[Vec<usize>],
    id: usize,
) -> Option<usize> {
    let mut at = id;
    while let Some(PostStartChain::Hook(_)) = link(plan, at) {
        let before = &plan.operations[at].after;
        at = before
            .iter()
            .copied()
            .find(|&b| hook_after(plan, dependents, b) == Some(at))?;
    }
    let start = matches!(link(plan, at), Some(PostStartChain::Start(_)));
    (at != id && start).then_some(at)
}
