//! What goes wrong in watch mode. Only a [`WatchError`] of starting or of the file watcher
//! stopping ends watching; every other failure is said (`watch: …`) and watching goes on.

use std::path::PathBuf;

use notify_debouncer_full::notify;

use crate::engine::EngineError;
use crate::plan::PlanError;

/// A problem of the file watcher itself.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Files cannot be watched at all: watching ends before it starts.
    #[error("cannot watch files: {0}")]
    Start(#[source] notify::Error),
    /// The watcher's thread has ended: watching ends.
    #[error("the file watcher stopped")]
    Stopped,
    /// A directory cannot be watched (it does not exist): it is skipped.
    #[error("cannot watch {}: {source}", dir.display())]
    Subscribe {
        dir: PathBuf,
        #[source]
        source: notify::Error,
    },
    /// An error the watcher delivered beside a burst of changes.
    #[error(transparent)]
    Notify(#[from] notify::Error),
}

/// Why a [`super::WatchTarget`]'s converge, rebuild or restart failed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot read the state of project {project}: {source}")]
    Observe {
        project: String,
        #[source]
        source: EngineError,
    },
    /// Operations of a plan failed; they were said as they were reported.
    #[error("an operation failed (see above)")]
    OperationsFailed,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the project's supervisor cannot be reached: {0}")]
    SupervisorUnreachable(#[source] std::io::Error),
    #[error("the supervisor has stopped")]
    SupervisorStopped,
    /// The supervisor's own verdict, in its words (its control protocol carries text).
    #[error("{0}")]
    Supervisor(String),
}

/// Why a sync did not reach every replica.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("cannot read a file to sync: {0}")]
    Read(#[source] std::io::Error),
    /// The replicas the files did not reach, with the engine's reason for each.
    #[error("{}", .0.iter().map(|(replica, err)| format!("{replica}: {err}")).collect::<Vec<_>>().join("; "))]
    Replicas(Vec<(String, EngineError)>),
}
