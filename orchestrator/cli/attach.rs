//! `wharf attach SERVICE`: this terminal attached to the main process of a service's running
//! container (`--index`), as compose does: its output here, standard input there (unless
//! `--no-stdin`), signals passed on (unless `--sig-proxy=false`), the engine's detach keys
//! (`ctrl-p,ctrl-q`, or `--detach-keys`). The exit code is the container's once it has stopped,
//! 0 after a detach.

use std::process::ExitCode;

use clap::{ArgAction, Args};
use tokio::signal::unix::{SignalKind, signal};

use super::GlobalArgs;
use super::each::running_replica;
use super::error::CliError;
use super::session::Session;
use super::terminal::{self, Tty};
use crate::engine::ContainerState;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching from the container
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub index: u32,
    /// Do not attach standard input
    #[arg(long)]
    pub no_stdin: bool,
    /// Pass the signals wharf receives on to the process (default true)
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = true,
          default_missing_value = "true", value_name = "BOOL")]
    pub sig_proxy: bool,
    /// The service whose container to attach to
    pub service: String,
}

pub async fn run(global: &GlobalArgs, args: &AttachArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    let id = running_replica(&observed, &args.service, args.index)?
        .id
        .clone();
    let runtime = session.runtime.clone();
    let attachment = runtime
        .attach_container(&id, !args.no_stdin, args.detach_keys.as_deref())
        .await?;
    let tty = attachment.tty;
    let pump = terminal::pump(
        runtime.clone(),
        attachment,
        !args.no_stdin,
        Tty::Container(id.clone()),
    );
    tokio::pin!(pump);
    // With a TTY, Ctrl-C is a key the process's terminal turns into its signal.
    let proxy = args.sig_proxy && !tty;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|_| CliError::Exit(ExitCode::FAILURE))?;
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|_| CliError::Exit(ExitCode::FAILURE))?;
    loop {
        tokio::select! {
            outcome = &mut pump => {
                outcome?;
                break;
            }
            _ = interrupt.recv() => {
                if !proxy {
                    return Err(CliError::Exit(ExitCode::from(130)));
                }
                let _ = runtime.kill_container(&id, "SIGINT").await;
            }
            _ = terminate.recv() => {
                if !proxy {
                    return Err(CliError::Exit(ExitCode::from(143)));
                }
                let _ = runtime.kill_container(&id, "SIGTERM").await;
            }
        }
    }
    // Detached with the keys: the container goes on.
    let container = runtime.container(&id).await?;
    if container.state == ContainerState::Running {
        return Ok(ExitCode::SUCCESS);
    }
    let code = runtime.wait_container(&id).await?;
    Ok(terminal::exit_status(code))
}
