//! `wharf rm`: remove the services' stopped containers (with `-s`, stop them first).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::each::{self, containers, has_process};
use super::error::CliError;
use super::session::Session;
use crate::plan::lifecycle;
use crate::supervisor::state::StateDir;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Don't ask to confirm removal
    #[arg(short, long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short, long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short, long)]
    pub volumes: bool,
    /// Services to remove (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &RmArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let mut observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    let state = StateDir::of(session.name());
    if super::dry_run() {
        let up = containers(&observed, &args.services, has_process);
        each::dry_run(&up, "Stopped");
        let removed = containers(&observed, &args.services, |c| args.stop || !has_process(c));
        each::dry_run(&removed, "Removed");
        return Ok(ExitCode::SUCCESS);
    }
    if args.stop {
        let running: Vec<&str> = containers(&observed, &args.services, has_process)
            .iter()
            .map(|c| c.service().as_str())
            .collect();
        if !running.is_empty() {
            // Marked first, as `stop` does, so that a supervisor does not start them again.
            each::mark_stopped(&state, running);
            let desired = session.target.desired();
            session
                .execute(&lifecycle::stop(desired, &observed, &args.services, None))
                .await?;
            observed = session.observe().await?;
        }
    }
    let targets = containers(&observed, &args.services, |c| !has_process(c));
    if targets.is_empty() {
        eprintln!("No stopped containers");
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<&str> = targets.iter().map(|c| c.name.as_str()).collect();
    println!("Going to remove {}", names.join(", "));
    if !args.force && !confirmed() {
        return Ok(ExitCode::SUCCESS);
    }
    // A service left with no container up is a stopped service: a supervisor must not create
    // its containers again behind the user's back (until `up`).
    let stopped = observed.services.iter().filter_map(|(name, all)| {
        let removed = targets.iter().any(|c| c.service() == name);
        (removed && !all.iter().any(has_process)).then_some(name.as_str())
    });
    each::mark_stopped(&state, stopped);
    let runtime = &session.runtime;
    each::each(&targets, "Removed", |c| {
        runtime.remove_container(&c.id, args.volumes)
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Compose's question; only a `y` or `yes` answer removes (end of input is a no).
fn confirmed() -> bool {
    let mut err = std::io::stderr();
    let _ = write!(err, "? Are you sure you want to remove them? (y/N) ");
    let _ = err.flush();
    let mut answer = String::new();
    let stdin = std::io::stdin();
    if stdin.lock().read_line(&mut answer).unwrap_or(0) == 0 && !stdin.is_terminal() {
        let _ = writeln!(err);
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
