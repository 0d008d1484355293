//! `wharf exec`: run a command in a running container of a service, as compose does: a TTY
//! when standard input is one (unless `-T`), standard input attached, and the command's exit
//! code as wharf's.

use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Args};

use super::GlobalArgs;
use super::each::{environment, running_replica};
use super::error::CliError;
use super::session::Session;
use super::terminal::{self, Tty};
use crate::engine::{ExecRequest, Streams};

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run the command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Set environment variables (KEY=VALUE, or KEY to pass wharf's own)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub index: u32,
    /// Keep standard input open (default true)
    #[arg(short = 'i', long, action = ArgAction::Set, num_args = 0..=1,
          default_value_t = true, default_missing_value = "true", value_name = "BOOL")]
    pub interactive: bool,
    /// Disable pseudo-TTY allocation (by default a TTY is allocated when standard input is one)
    #[arg(short = 'T', long = "no-TTY", visible_alias = "no-tty")]
    pub no_tty: bool,
    /// Give extended privileges to the process
    #[arg(long)]
    pub privileged: bool,
    /// Run the command as this user
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
    /// Path to the working directory for this command
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// The service whose container runs the command
    pub service: String,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &ExecArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    let container = running_replica(&observed, &args.service, args.index)?;
    if super::dry_run() {
        // As compose: a detached command is only said to be run; an attached one is refused.
        if !args.detach {
            return Err(CliError::message(
                "interactive exec is not supported in dry-run mode",
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let request = ExecRequest {
        command: args.command.clone(),
        user: args.user.clone(),
        working_dir: args.workdir.clone(),
        environment: environment(&args.env),
        privileged: args.privileged,
    };
    let streams = Streams {
        tty: !args.no_tty && !args.detach && terminal::wants_tty(),
        stdin: args.interactive && !args.detach,
    };
    let runtime = session.runtime.clone();
    let started = runtime
        .start_exec(&container.id, &request, streams, args.detach)
        .await?;
    let Some(attachment) = started.attachment else {
        return Ok(ExitCode::SUCCESS);
    };
    let target = Tty::Exec(started.id.clone());
    terminal::pump(runtime.clone(), attachment, streams.stdin, target).await?;
    // The engine may list the exec as running for a moment after its output has ended.
    for _ in 0..200 {
        match runtime.exec_exit_code(&started.id).await {
            Ok(Some(code)) => return Ok(terminal::exit_status(code)),
            Ok(None) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(err) => return Err(err.into()),
        }
    }
    Err(CliError::message(
        "the engine did not say how the command ended",
    ))
}
