//! What watch mode asks of whoever keeps the project converged. The watcher decides *when*
//! (a file really changed) and *what for* (the model, a rule's action); the target does it
//! through the plan: the standalone loop of `wharf watch` (`cli/watch.rs`), or the supervisor.
//! Syncs and execs need no plan: the watcher makes those engine calls itself.

use async_trait::async_trait;

use super::error::TargetError;
use crate::desired::Desired;

/// An action's failure is said to the user; watching goes on after it.
pub type Outcome = Result<(), TargetError>;

#[async_trait]
pub trait WatchTarget: Send + Sync {
    /// Converges the engine on a newly loaded desired state: services whose config hash
    /// changed are replaced, new ones start, removed ones are orphans.
    async fn converge(&self, desired: &Desired) -> Outcome;
    /// Builds `service`'s image again and replaces its replicas when the image changed.
    async fn rebuild(&self, desired: &Desired, service: &str) -> Outcome;
    /// Restarts `service`'s replicas (a stop, then a start).
    async fn restart(&self, desired: &Desired, service: &str) -> Outcome;
}
