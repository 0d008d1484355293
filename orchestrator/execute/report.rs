//! How operations end, as the runner reports them: an event per step to the progress callback,
//! and the `Report` of the whole run.

/// What happens to each operation, for progress output.
#[derive(Debug, Clone)]
pub enum Event {
    Started(usize),
    Succeeded(usize),
    Failed(usize, String),
    /// Not run because an operation it waits for failed.
    Skipped(usize),
    /// A dependency that was not required failed: the plan goes on.
    Warning(usize, String),
    /// What a hook printed (its standard output and error), told before its `Succeeded`: an
    /// attached `up` shows it, as compose's does.
    Output(usize, String),
}

/// How an operation that succeeded ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Changed,
    /// Changed, and printed this (a hook).
    Printed(String),
    Unchanged,
    /// A failure the plan allows (a dependency with `required: false`).
    Tolerated(String),
}

/// Why an operation failed.
#[derive(Debug)]
pub struct OperationError {
    pub message: String,
    /// See [`Failure::stale`].
    pub stale: bool,
}

impl From<String> for OperationError {
    fn from(message: String) -> OperationError {
        OperationError {
            message,
            stale: false,
        }
    }
}

/// One failed operation, described for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub operation: usize,
    pub message: String,
    /// The engine changed under the plan: a container it names is gone, or a name it creates
    /// is taken (another process acted meanwhile). Observing again and planning again is the
    /// way out, where for any other failure it would only fail again.
    pub stale: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub failures: Vec<Failure>,
    /// Operations that did not run: one they needed failed, or a fallback was not needed.
    pub skipped: Vec<usize>,
    /// Operations that changed something on the engine.
    pub mutations: usize,
}

impl Report {
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }
}
