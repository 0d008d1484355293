//! Runs a plan: operations as a DAG, each started once all it waits for has succeeded, with
//! at most `parallelism` engine calls at once, the longest chain first. Container creates and
//! starts have a smaller bound of their own (lifted for the last starts, which no other start
//! waits for), and a container is created only when its start is next in line. A failed
//! operation skips everything that waits for it; the others go on, so a re-run only has the
//! failed part left to do.
//!
//! A plan's steps are engine calls and control steps. The runner serves the DAG, its
//! fallbacks, the control steps (waits, monitors, delays, failure counts) and the schedule
//! alike for every backend; a backend supplies only a [`Performer`] of its engine calls.
//!
//! | file | its one job |
//! |---|---|
//! | `runner.rs` | the run: send what is ready, record how it ended, decide what it unblocks |
//! | `dag.rs` | the DAG's bookkeeping: what each operation waits for, how each ended |
//! | `fallback.rs` | what becomes of an operation whose dependencies are over: runs, skipped, not needed |
//! | `schedule.rs` | the bounds, the longest chain first, a create sent when its start is next |
//! | `performer.rs` | the seam: `Performer` and the `Call` kinds the schedule tells apart |
//! | `perform/` | the container backend: one method per engine call, the facts waits look at, and a test hook (`crash_point.rs`) |
//! | `wait.rs` | waits, monitors and delays, worded for the user |
//! | `judge.rs` | the one pure judge of a wait's condition |
//! | `check.rs` | a rolling update's failure count |
//! | `report.rs` | events, failures and the `Report` |
//! | `post_start.rs` | when a start is told: after its container's `post_start` hooks |
//! | `in_flight.rs` | the changes under way, which a dropped run lets end |

mod check;
mod dag;
mod fallback;
mod in_flight;
mod judge;
mod perform;
mod performer;
#[cfg(test)]
mod performer_tests;
mod post_start;
mod report;
mod runner;
mod schedule;
#[cfg(test)]
mod tests;
mod wait;

use std::sync::Arc;

pub use in_flight::settle_changes;
pub use judge::ContainerFacts;
pub use perform::ContainerPerformer;
pub(crate) use perform::build_request;
pub use performer::{Call, CallKind, Performer};
pub use report::{Event, Failure, OperationError, Outcome, Report};
pub use runner::run_with;
pub use schedule::ExecuteOptions;

use crate::engine::ContainerEngine;
use crate::plan::{Operation, Plan};

/// Runs a container plan on a Docker-compatible engine.
pub async fn run(
    plan: &Plan,
    engine: Arc<dyn ContainerEngine>,
    options: &ExecuteOptions,
    progress: &(dyn Fn(&Operation, &Event) + Sync),
) -> Report {
    let performer = ContainerPerformer::new(engine, &options.project, plan);
    run_with(plan, Arc::new(performer), options, progress).await
}
