//! A command's failure as a value (cargo's `CliError`): what to say on standard error and the
//! exit status. The verbs return it with `?`; `cli::run` says it once and exits with its
//! status.

use std::process::ExitCode;

use super::output;
use crate::converge::ConvergeError;
use crate::engine::EngineError;
use crate::plan::PlanError;
use crate::spec::Diagnostic;
use crate::supervisor::request::PrepareError;
use crate::watch::{TargetError, WatchError};

#[derive(Debug)]
pub enum CliError {
    /// `error: MESSAGE`, status 1.
    Message(String),
    /// One `error:` line each (the operations of a plan that failed, the pulls), status 1.
    Messages(Vec<String>),
    /// A loader diagnostic: a report quoting the source line on a terminal, else
    /// `error: file:line:col: message`; status 1.
    Diagnostic(Diagnostic),
    /// A line printed as it is, and a status: the hidden `supervise` verb writes the lines of
    /// its own log, which name who speaks (`supervisor: …`).
    Line { text: String, code: ExitCode },
    /// Nothing more to say: the status says it (130 after Ctrl-C, 143 after SIGTERM), or what
    /// failed was said as it happened because the command went on (see [`CliError::said`]).
    Exit(ExitCode),
}

impl CliError {
    pub fn message(text: impl Into<String>) -> CliError {
        CliError::Message(text.into())
    }

    /// The exit status of a command that ends with this failure.
    pub fn code(&self) -> ExitCode {
        match self {
            CliError::Line { code, .. } | CliError::Exit(code) => *code,
            CliError::Message(_) | CliError::Messages(_) | CliError::Diagnostic(_) => {
                ExitCode::FAILURE
            }
        }
    }

    /// Prints what there is to say, on standard error.
    pub fn print(&self) {
        match self {
            CliError::Message(message) => output::error_line(message),
            CliError::Messages(messages) => messages.iter().for_each(|m| output::error_line(m)),
            CliError::Diagnostic(diagnostic) => output::error(diagnostic),
            CliError::Line { text, .. } => eprintln!("{text}"),
            CliError::Exit(_) => {}
        }
    }

    /// Says it now, where more output follows before the command ends (`kill`'s failures
    /// before `--remove-orphans`' removals, a watcher's loop going on); what is left is the
    /// status.
    pub fn said(self) -> CliError {
        self.print();
        CliError::Exit(self.code())
    }
}

impl From<EngineError> for CliError {
    fn from(err: EngineError) -> CliError {
        CliError::Message(err.to_string())
    }
}

impl From<Diagnostic> for CliError {
    fn from(diagnostic: Diagnostic) -> CliError {
        CliError::Diagnostic(diagnostic)
    }
}

impl From<ConvergeError> for CliError {
    fn from(err: ConvergeError) -> CliError {
        match err {
            ConvergeError::Failed(failures) => {
                CliError::Messages(failures.into_iter().map(|f| f.message).collect())
            }
            other => CliError::Message(other.to_string()),
        }
    }
}

impl From<PlanError> for CliError {
    fn from(err: PlanError) -> CliError {
        CliError::Message(err.to_string())
    }
}

impl From<PrepareError> for CliError {
    fn from(err: PrepareError) -> CliError {
        match err {
            PrepareError::Load(diagnostic) => CliError::Diagnostic(diagnostic),
            PrepareError::Flags(flag) => CliError::Message(flag.to_string()),
        }
    }
}

impl From<WatchError> for CliError {
    fn from(err: WatchError) -> CliError {
        CliError::Message(err.to_string())
    }
}

impl From<TargetError> for CliError {
    fn from(err: TargetError) -> CliError {
        CliError::Message(err.to_string())
    }
}

/// How a command ends: its status, after saying its failure.
pub fn exit(result: Result<ExitCode, CliError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            err.print();
            err.code()
        }
    }
}
