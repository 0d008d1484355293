//! Taking the project down, as `down` does and `wait --down-project` after the first exit:
//! the supervisor first, then the plan of `plan::down`, then the state directory; or, for some
//! services, their containers, marked down for the supervisor.

use std::time::Duration;

use super::GlobalArgs;
use super::error::CliError;
use super::session::Session;
use super::supervisor_client;
use crate::plan::{self, DownOptions, EngineCall};
use crate::supervisor::state::StateDir;

/// Takes down what `options` say; `COMPOSE_REMOVE_ORPHANS` adds `--remove-orphans`.
pub async fn down(global: &GlobalArgs, options: &DownOptions) -> Result<(), CliError> {
    let options = DownOptions {
        remove_orphans: options.remove_orphans || super::env_flag("COMPOSE_REMOVE_ORPHANS"),
        ..options.clone()
    };
    let session = Session::open(global).await?;
    if super::dry_run() {
        let observed = session.observe().await?;
        let plan = plan::down(
            session.name(),
            session.target.desired(),
            &observed,
            &options,
        );
        return session.execute(&plan).await;
    }
    if !options.services.is_empty() {
        return some_services(&session, &options).await;
    }
    // The supervisor goes first, or it would restore what `down` removes. An `up` under way
    // may be starting a keeper that no pid file names yet: `down` waits for it to finish.
    let state = StateDir::of(session.name());
    let _lock = supervisor_client::lock(&state)?;
    let timeout = options.timeout.unwrap_or(Duration::from_secs(10));
    let limit = timeout + Duration::from_secs(20);
    if !tokio::task::block_in_place(|| state.stop_supervisor(limit)) {
        return Err(CliError::message(
            "the project's supervisor did not stop; retry, or kill it",
        ));
    }
    let observed = session.observe().await?;
    let plan = plan::down(
        session.name(),
        session.target.desired(),
        &observed,
        &options,
    );
    session.execute(&plan).await?;
    state.clear();
    Ok(())
}

/// `down SERVICE...`: the supervisor stays for the rest of the project, and leaves the removed
/// services down, as after `stop`, until `up` or `start` brings them back.
async fn some_services(session: &Session, options: &DownOptions) -> Result<(), CliError> {
    let observed = session.observe().await?;
    let plan = plan::down(session.name(), session.target.desired(), &observed, options);
    let state = StateDir::of(session.name());
    let mut removed: Vec<&str> = plan
        .operations
        .iter()
        .filter_map(|op| match op.action.engine_call()? {
            EngineCall::RemoveContainer { service, .. } => Some(service.as_str()),
            _ => None,
        })
        .collect();
    removed.sort_unstable();
    removed.dedup();
    for service in removed {
        state.mark_user_stopped(service).map_err(|err| {
            CliError::Message(format!("cannot record that {service} is down: {err}"))
        })?;
    }
    session.execute(&plan).await
}
