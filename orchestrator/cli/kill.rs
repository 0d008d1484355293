//! `wharf kill`: send a signal (SIGKILL by default) to the services' running containers.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::each::{self, containers, has_process};
use super::error::CliError;
use super::session::Session;
use crate::engine::signal_number;
use crate::supervisor::state::StateDir;

#[derive(Debug, Args)]
pub struct KillArgs {
    /// SIGNAL to send to the container
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Services to kill (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &KillArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    let desired = session.target.desired();
    let orphan = |service: &str| desired.is_some_and(|d| !d.knows(service));
    let targets = containers(&observed, &args.services, |c| {
        has_process(c) && !(args.remove_orphans && orphan(c.service()))
    });
    if super::dry_run() {
        each::dry_run(&targets, "Killed");
        return Ok(ExitCode::SUCCESS);
    }
    // A kill that ends the container is the user's stop, as the engine takes it (a container
    // killed through the API is not restarted by its restart policy): a supervisor leaves the
    // service alone until `start` or `up`. Other signals (a reload) leave it supervised.
    let signal = signal_number(&args.signal);
    let stops = |service: &str| {
        let stop_signal = desired
            .and_then(|d| d.services.get(service))
            .and_then(|s| s.container.stop_signal.as_deref())
            .unwrap_or("SIGTERM");
        signal.is_some() && (signal == Some(9) || signal == signal_number(stop_signal))
    };
    let mut stopped: Vec<&str> = targets
        .iter()
        .map(|c| c.service().as_str())
        .filter(|s| stops(s))
        .collect();
    stopped.dedup();
    each::mark_stopped(&StateDir::of(session.name()), stopped);
    let runtime = &session.runtime;
    let killed = if targets.is_empty() {
        eprintln!("no container to kill");
        Ok(())
    } else {
        each::each(&targets, "Killed", |c| {
            runtime.kill_container(&c.id, &args.signal)
        })
        .await
    };
    if !args.remove_orphans {
        killed?;
        return Ok(ExitCode::SUCCESS);
    }
    // The kill's failures are said before the removals' lines; its status stays the command's.
    let killed = killed.map_err(CliError::said);
    let orphans = containers(&observed, &[], |c| orphan(c.service()));
    // A supervisor started before the file changed still counts them as its own.
    let mut services: Vec<&str> = orphans.iter().map(|c| c.service().as_str()).collect();
    services.dedup();
    each::mark_stopped(&StateDir::of(session.name()), services);
    each::each(&orphans, "Removed", |c| {
        runtime.remove_container(&c.id, false)
    })
    .await?;
    killed?;
    Ok(ExitCode::SUCCESS)
}
