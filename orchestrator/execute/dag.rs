//! The bookkeeping of a run's DAG: what each operation waits for, how each one ended, and
//! which operations each end makes decidable.

use super::fallback::State;
use crate::plan::Plan;

pub(super) struct Dag {
    state: Vec<State>,
    /// Per operation: how many of the operations it waits for have not finished yet.
    unfinished: Vec<usize>,
    /// Per operation: the operations that wait for it, in any of the three ways.
    dependents: Vec<Vec<usize>>,
    /// Per operation that failed or was skipped: the failure behind it.
    blame: Vec<Option<String>>,
}

impl Dag {
    pub fn new<C>(plan: &Plan<C>) -> Dag {
        let count = plan.operations.len();
        let mut unfinished = vec![0; count];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
        for op in &plan.operations {
            for &dep in op.after.iter().chain(&op.settled).chain(&op.if_failed) {
                dependents[dep].push(op.id);
                unfinished[op.id] += 1;
            }
        }
        Dag {
            state: vec![State::Pending; count],
            unfinished,
            dependents,
            blame: vec![None; count],
        }
    }

    /// The operations that wait for nothing.
    pub fn free(&self) -> Vec<usize> {
        (0..self.state.len())
            .filter(|&id| self.unfinished[id] == 0)
            .collect()
    }

    pub fn dependents(&self) -> &[Vec<usize>] {
        &self.dependents
    }

    pub fn state(&self, id: usize) -> State {
        self.state[id]
    }

    /// The failure behind an operation that failed or was skipped.
    pub fn blame(&self, id: usize) -> Option<String> {
        self.blame[id].clone()
    }

    /// Why an operation did not succeed (its own failure, or the one that skipped it); `None`
    /// when it did.
    pub fn failure(&self, id: usize) -> Option<String> {
        if self.state[id] == State::Succeeded {
            return None;
        }
        Some(
            self.blame[id]
                .as_deref()
                .unwrap_or("it did not run")
                .to_string(),
        )
    }

    /// Records how an operation ended; returns the operations that no longer wait for
    /// anything.
    pub fn finish(&mut self, id: usize, state: State, blame: Option<String>) -> Vec<usize> {
        self.state[id] = state;
        self.blame[id] = blame;
        let mut unblocked = Vec::new();
        for &next in &self.dependents[id] {
            self.unfinished[next] -= 1;
            if self.unfinished[next] == 0 {
                unblocked.push(next);
            }
        }
        unblocked
    }
}
