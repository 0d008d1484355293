//! `wharf watch`: converge, then keep converging as files change (see `crate::watch`), until
//! Ctrl-C or SIGTERM; the containers keep running after it. When the project has a detached
//! supervisor (`up -d`), each re-converge is a request to it, as a later `up -d` would send;
//! otherwise they run as a loop of their own, the [`Converger`]: load → desired → observe →
//! reconcile → execute (see `watch_targets.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::error::CliError;
use super::session::Session;
use super::watch_targets::{Channel, Converger, ThroughSupervisor, loaded, loader};
use super::{GlobalArgs, load_options, supervisor_client};
use crate::supervisor::control::Request;
use crate::supervisor::request::UpRequest;
use crate::supervisor::state::StateDir;
use crate::watch::{WatchTarget, Watcher};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Remove containers of services no longer in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Don't converge before watching: act on changes only
    #[arg(long)]
    pub no_up: bool,
    /// Stop the watching that `up -d --watch` left with the project's supervisor
    #[arg(long, conflicts_with_all = ["remove_orphans", "no_up"])]
    pub stop: bool,
}

pub async fn run(global: &GlobalArgs, args: &WatchArgs) -> Result<ExitCode, CliError> {
    if args.stop {
        return stop(global).await;
    }
    refuse_stdin(global)?;
    let request = UpRequest {
        load: load_options(global)?,
        remove_orphans: args.remove_orphans,
        ..UpRequest::default()
    };
    if super::dry_run() {
        // The first `up`'s plans; there is nothing to watch for when nothing changes.
        // Said as plain text, even on a terminal.
        let prepared = request
            .prepare()
            .map_err(|err| CliError::Message(err.to_string()))?;
        return super::session::print_up_plans(prepared, &request).await;
    }
    let load = loader(request.clone());
    // The loader has said why the project does not load.
    let (project, desired) = load().ok_or(CliError::Exit(ExitCode::FAILURE))?;
    let state = StateDir::of(&project.name);
    let session = Session::loaded(project, desired).await?;
    let converger = Converger::new(session.runtime.clone(), request);
    let target: Arc<dyn WatchTarget> = match state.is_supervised() {
        true => Arc::new(ThroughSupervisor {
            supervisor: Channel::Socket(state),
            converger,
        }),
        false => Arc::new(converger),
    };
    let (project, desired) = loaded(&session);
    // Watching from before the converge: a save made while it runs (the replicas may be up
    // already) is acted on after it.
    let runtime = session.runtime.clone();
    let watcher = Watcher::new(runtime, target.clone(), project, desired.clone(), load)?;
    if !args.no_up {
        target.converge(desired).await?;
    }
    watcher.run(super::shutdown::signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// `watch --stop`: the project's supervisor stops watching; the project stays up.
async fn stop(global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let state = StateDir::of(session.name());
    if !state.is_supervised() {
        return Err(CliError::Message(format!(
            "no supervisor runs for project {}",
            session.name()
        )));
    }
    let request = Request::Watch(false);
    match supervisor_client::send_when_listening(&state, &request, |_| {}).await {
        Ok(None) => {
            eprintln!("watch: stopped for project {}", session.name());
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some(error)) => Err(CliError::Message(error)),
        Err(err) => Err(CliError::Message(format!(
            "the project's supervisor cannot be reached: {err}"
        ))),
    }
}

/// Standard input cannot be read twice, so `-f -` cannot be watched.
fn refuse_stdin(global: &GlobalArgs) -> Result<(), CliError> {
    match global.files.iter().any(|f| f == "-") {
        true => Err(CliError::message(
            "a compose file read from standard input cannot be watched",
        )),
        false => Ok(()),
    }
}
