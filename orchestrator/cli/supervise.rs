//! `wharf supervise` (hidden): the detached supervisor of a project, started by its keeper,
//! which `wharf up -d` starts. It converges on the request kept in the state directory, takes
//! later ones from its control socket, and ends on SIGTERM leaving the containers as they are
//! (`wharf down` removes them).

use std::process::ExitCode;

use std::sync::Arc;

use clap::Args;
use tokio::sync::{mpsc, watch};

use super::GlobalArgs;
use super::error::CliError;
use super::session::{Session, Target, connect};
use crate::engine::ContainerEngine;
use crate::supervisor::control::Command;
use crate::supervisor::state::StateDir;
use crate::supervisor::watcher::EngineEvents;
use crate::supervisor::{Supervisor, control, keeper};

#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// Run as the keeper: start the supervisor and start it again when it dies
    #[arg(long)]
    pub keep: bool,
    /// Act on the first request of the control socket before anything else
    #[arg(long)]
    pub await_request: bool,
}

pub fn keep(global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let (project, state) = project_state(global)?;
    let exe = std::env::current_exe()
        .map_err(|err| logged(format!("keeper: cannot find its own executable: {err}")))?;
    Ok(keeper::keep(&exe, &project, &state))
}

pub async fn run(global: &GlobalArgs, args: &SuperviseArgs) -> Result<ExitCode, CliError> {
    let (_, state) = project_state(global)?;
    let shutdown = super::shutdown::signal();
    let request = state
        .load_request()
        .map_err(|err| logged(format!("supervisor: cannot read its request: {err}")))?;
    let prepared = request
        .prepare()
        .map_err(|err| logged(format!("supervisor: {err}")))?;
    let listener = control::bind(&state.socket_path())
        .map_err(|err| logged(format!("supervisor: cannot open its control socket: {err}")))?;
    let runtime = connect().await?;
    let (commands, receiver) = mpsc::channel(8);
    tokio::spawn(control::serve(listener, commands.clone()));
    let (switch, watching) = watch::channel(request.watch);
    tokio::spawn(watch_while_on(
        watching,
        state.clone(),
        runtime.clone(),
        commands,
    ));
    let events = EngineEvents::watch(runtime.clone(), &prepared.desired.project).await;
    let mut supervisor = Supervisor::new(runtime, prepared.desired, events)
        .with_standing(request.clone())
        .with_watch_switch(switch);
    if args.await_request {
        supervisor = supervisor.awaiting_request();
    } else {
        supervisor.resume(&request, &prepared.project).await;
    }
    supervisor.run(shutdown, Some(receiver)).await;
    let _ = std::fs::remove_file(state.socket_path());
    Ok(ExitCode::SUCCESS)
}

/// `up -d --watch`: the project's files are watched beside the supervisor, each change a
/// request to it, while the standing request says `watch` (until `watch --stop` or `down`).
async fn watch_while_on(
    mut switch: watch::Receiver<bool>,
    state: StateDir,
    runtime: Arc<dyn ContainerEngine>,
    commands: mpsc::Sender<Command>,
) {
    loop {
        if *switch.borrow_and_update() {
            tokio::select! {
                _ = watch_files(&state, runtime.clone(), commands.clone()) => {}
                changed = switch.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => return,
                },
            }
        }
        if switch.changed().await.is_err() {
            return;
        }
    }
}

/// Watches the project of the standing request until the watcher gives up.
async fn watch_files(
    state: &StateDir,
    runtime: Arc<dyn ContainerEngine>,
    commands: mpsc::Sender<Command>,
) {
    let request = match state.load_request() {
        Ok(request) => request,
        Err(err) => return eprintln!("watch: cannot read the request: {err}"),
    };
    let prepared = match request.prepare() {
        Ok(prepared) => prepared,
        Err(err) => return eprintln!("watch: {err}"),
    };
    let session = Session {
        target: Target::with_desired(prepared.project, prepared.desired),
        runtime,
    };
    // Nothing is said before the watcher watches: its own line says when it does (something
    // waiting for "watch: watching" must not save before that).
    super::watch_targets::through(&session, request, commands).await;
}

fn project_state(global: &GlobalArgs) -> Result<(String, StateDir), CliError> {
    match &global.project_name {
        Some(project) => Ok((project.clone(), StateDir::of(project))),
        None => Err(CliError::Line {
            text: "supervise: --project-name is required".to_string(),
            code: ExitCode::from(2),
        }),
    }
}

/// A failure as a line of the supervisor's log, which names who speaks; status 1.
fn logged(text: String) -> CliError {
    CliError::Line {
        text,
        code: ExitCode::FAILURE,
    }
}
