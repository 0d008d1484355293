//! The seam between the runner and a backend. The runner serves every plan alike: its DAG, its
//! scheduling, its fallbacks, its waits and failure counts. A backend supplies only its engine
//! calls ([`Call`]), how it makes them, and the facts its waits look at ([`Performer`]).

use std::fmt;
use std::future::Future;

use super::judge::ContainerFacts;
use super::report::{OperationError, Outcome};
use crate::plan::ContainerRef;

/// A backend's side of running a plan: the only part of a run that talks to the engine.
pub trait Performer: Send + Sync + 'static {
    /// The engine calls of this backend's plans.
    type Call: Call;

    /// Makes one engine call; an error names what failed.
    fn perform(
        &self,
        call: &Self::Call,
    ) -> impl Future<Output = Result<Outcome, OperationError>> + Send;

    /// The facts of a service's containers, one-offs left out, for a wait on the service.
    fn service_facts(
        &self,
        service: &str,
    ) -> impl Future<Output = Result<Vec<ContainerFacts>, String>> + Send;

    /// The facts of one container a plan names, for a wait on it or its monitor.
    fn container_facts(
        &self,
        container: &ContainerRef,
    ) -> impl Future<Output = Result<ContainerFacts, String>> + Send;
}

/// An engine call, as the scheduler sees it.
pub trait Call: fmt::Display + Clone + Send + Sync + 'static {
    fn kind(&self) -> CallKind;

    /// The container whose start this call is, or whose `post_start` hook it runs: a start
    /// is told once its container's hooks have run, as compose tells it.
    fn post_start_chain(&self) -> Option<PostStartChain<'_>> {
        None
    }
}

/// A link of a container's start and its `post_start` hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostStartChain<'a> {
    Start(&'a str),
    Hook(&'a str),
}

impl PostStartChain<'_> {
    fn container(self) -> String {
        match self {
            PostStartChain::Start(c) | PostStartChain::Hook(c) => c.to_string(),
        }
    }

    /// Whether `next` is a hook in the same container.
    pub fn followed_by(self, next: PostStartChain<'_>) -> bool {
        matches!(next, PostStartChain::Hook(_)) && next.container() == self.container()
    }
}

/// What the scheduler tells engine calls apart by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Creates a container: bounded by `container_parallelism`, and sent once the rest of
    /// what its start waits for is under way.
    CreatesContainer,
    /// Starts a container: bounded too, and what chains are counted in first (the engine's
    /// slowest call).
    StartsContainer,
    /// A call the engine abandons when its client goes (a build, a pull): a dropped run drops
    /// it at once instead of letting it end.
    EndsWithClient,
    /// Any other change.
    Other,
}
