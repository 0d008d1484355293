//! Which ready operation goes next, and how many go at once: at most `parallelism` engine
//! calls, of which at most `container_parallelism` create or start a container (a bound lifted
//! for the last starts, which no other start waits for); the longest chain of dependents
//! first; and a container created only once the rest of what its start waits for is under way.

use std::collections::HashSet;
use std::time::Duration;

use super::performer::{Call, CallKind};
use crate::plan::Plan;

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    pub project: String,
    pub parallelism: usize,
    /// How many of those calls may create or start a container. The engine does that work on
    /// this host's cores (dockerd, containerd, runc, the kernel's network set-up), and it
    /// serves what it is sent in no order of ours: more at once than the cores can take only
    /// queues inside the engine, where the container at the head of the longest dependency
    /// chain waits behind the rest. Queued here, it goes first.
    pub container_parallelism: usize,
    /// How often a `WaitFor` looks at its containers again.
    pub poll: Duration,
}

/// How many engine calls run at once, unless `COMPOSE_PARALLEL_LIMIT` says otherwise.
const PARALLELISM: usize = 16;

impl ExecuteOptions {
    pub fn new(project: &str) -> ExecuteOptions {
        ExecuteOptions {
            project: project.to_string(),
            parallelism: parallel_limit(std::env::var("COMPOSE_PARALLEL_LIMIT").ok().as_deref()),
            // One more than the cores, so that a core is never idle while a call is between
            // the engine and wharf.
            container_parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()) + 1,
            poll: Duration::from_millis(100),
        }
    }
}

/// `COMPOSE_PARALLEL_LIMIT`, as compose reads it: a positive number, else the default.
fn parallel_limit(value: Option<&str>) -> usize {
    value
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(PARALLELISM)
}

/// The queue of ready operations and the container bound.
pub(super) struct Schedule {
    /// Per operation: what kind of engine call it is; `None` for a control step.
    kinds: Vec<Option<CallKind>>,
    /// Operations whose dependencies allow them to run, the next to run last.
    ready: Vec<usize>,
    /// Per operation: the longest chain of its dependents, itself included. Ready operations
    /// with the longest chain behind them run first.
    chain: Vec<Chain>,
    /// Operations not ended that keep the container bound in force (see
    /// [`Schedule::bound_lifted`]).
    bound_keepers: usize,
    container_parallelism: usize,
    /// Container creates and starts under way.
    containers_at_once: usize,
    /// Operations sent to the engine (or run here).
    sent: Vec<bool>,
    /// Per container create: what must be sent before it is (see [`Schedule::due`]).
    create_after: Vec<Vec<usize>>,
}

impl Schedule {
    pub fn new<C: Call>(
        plan: &Plan<C>,
        dependents: &[Vec<usize>],
        container_parallelism: usize,
    ) -> Schedule {
        let kinds: Vec<Option<CallKind>> = plan
            .operations
            .iter()
            .map(|op| op.action.engine_call().map(Call::kind))
            .collect();
        let chain = longest_chains(&kinds, dependents);
        let create_after = (0..kinds.len())
            .map(|id| match kinds[id] {
                Some(CallKind::CreatesContainer) => sent_before_create(plan, dependents, id),
                _ => Vec::new(),
            })
            .collect();
        let mut schedule = Schedule {
            ready: Vec::new(),
            bound_keepers: 0,
            container_parallelism: container_parallelism.max(1),
            containers_at_once: 0,
            sent: vec![false; kinds.len()],
            create_after,
            chain,
            kinds,
        };
        schedule.bound_keepers = (0..schedule.kinds.len())
            .filter(|&id| schedule.keeps_bound(id))
            .count();
        schedule
    }

    /// Operations that may run once they are due and there is room.
    pub fn enqueue(&mut self, ready: impl IntoIterator<Item = usize>) {
        self.ready.extend(ready);
        // The engine serves a burst of calls in its own order: the operations that the most
        // work waits for are sent first (the critical path), then the lowest id.
        let chain = &self.chain;
        self.ready
            .sort_unstable_by(|&a, &b| (chain[a], b).cmp(&(chain[b], a)));
    }

    /// The ready operation with the longest chain behind it among those due and with room to
    /// run; marked sent. `pending` says which operations have not ended.
    pub fn take_next(&mut self, pending: impl Fn(usize) -> bool) -> Option<usize> {
        let room = self.containers_at_once < self.container_parallelism || self.bound_lifted();
        let at = self
            .ready
            .iter()
            .rposition(|&id| self.due(id, &pending) && (room || !self.creates_or_starts(id)))?;
        let id = self.ready.remove(at);
        self.sent[id] = true;
        self.containers_at_once += usize::from(self.creates_or_starts(id));
        Some(id)
    }

    /// An operation that was sent has ended.
    pub fn ended(&mut self, id: usize) {
        self.containers_at_once -= usize::from(self.creates_or_starts(id));
    }

    /// An operation is over, whether it ran or not.
    pub fn finished(&mut self, id: usize) {
        self.bound_keepers -= usize::from(self.keeps_bound(id));
    }

    /// The operations `container_parallelism` bounds.
    fn creates_or_starts(&self, id: usize) -> bool {
        matches!(
            self.kinds[id],
            Some(CallKind::CreatesContainer | CallKind::StartsContainer)
        )
    }

    /// The container bound lets the longest chains go first. Once every container operation
    /// left is a start that no other start waits for (every container created, no chain of
    /// starts left), nothing is left to go first, and the engine starts containers fastest
    /// all at once: the last ones no longer queue here behind the bound.
    fn bound_lifted(&self) -> bool {
        self.bound_keepers == 0
    }

    fn keeps_bound(&self, id: usize) -> bool {
        self.kinds[id] == Some(CallKind::CreatesContainer) || self.chain[id].starts > 1
    }

    /// A container is created once everything else its start waits for is under way. Created
    /// earlier, it takes the engine's CPU from the starts of the longest chain; created then,
    /// it runs while the engine waits inside the starts in flight (network namespaces and
    /// interfaces are set up with the CPUs idle for tens of milliseconds).
    fn due(&self, id: usize, pending: impl Fn(usize) -> bool) -> bool {
        self.create_after[id]
            .iter()
            .all(|&before| self.sent[before] || !pending(before))
    }
}

/// How long a chain of operations is: first in container starts, the engine's slowest calls
/// (about five times a create on the test machine), then in operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Chain {
    starts: usize,
    operations: usize,
}

/// Per operation: the longest chain of its dependents, itself included.
fn longest_chains(kinds: &[Option<CallKind>], dependents: &[Vec<usize>]) -> Vec<Chain> {
    let mut chains: Vec<Chain> = kinds
        .iter()
        .map(|kind| Chain {
            starts: usize::from(*kind == Some(CallKind::StartsContainer)),
            operations: 1,
        })
        .collect();
    // Dependencies come before their dependents in a plan: one pass from the end.
    for id in (0..chains.len()).rev() {
        let longest = dependents[id].iter().map(|&d| chains[d]).max();
        if let Some(longest) = longest {
            chains[id].starts += longest.starts;
            chains[id].operations += longest.operations;
        }
    }
    chains
}

/// What a container create waits to be sent: what its dependents (its start) wait for,
/// except what waits for the create itself (a recreate's stop of the old container, say),
/// which could never be sent first.
fn sent_before_create<C>(plan: &Plan<C>, dependents: &[Vec<usize>], create: usize) -> Vec<usize> {
    let mut after_create = HashSet::from([create]);
    let mut next = vec![create];
    while let Some(id) = next.pop() {
        for &d in &dependents[id] {
            if after_create.insert(d) {
                next.push(d);
            }
        }
    }
    let mut before: Vec<usize> = dependents[create]
        .iter()
        .flat_map(|&d| {
            let op = &plan.operations[d];
            op.after.iter().chain(&op.settled).chain(&op.if_failed)
        })
        .copied()
        .filter(|d| !after_create.contains(d))
        .collect();
    before.sort_unstable();
    before.dedup();
    before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_parallel_limit_sets_the_bound() {
        assert_eq!(parallel_limit(None), PARALLELISM);
        assert_eq!(parallel_limit(Some("4")), 4);
        assert_eq!(parallel_limit(Some("0")), PARALLELISM);
        assert_eq!(parallel_limit(Some("many")), PARALLELISM);
    }
}
