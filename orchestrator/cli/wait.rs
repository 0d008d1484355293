//! `wharf wait SERVICE…`: block until the services' containers stop, printing each exit as
//! compose does (`container "<ID>" exited with status code N`); the exit code is that of the
//! last container to stop. `--down-project` takes the project down (as `wharf down`) once the
//! first one has stopped.

use std::process::ExitCode;

use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::error::CliError;
use super::session::Session;
use super::{GlobalArgs, teardown};
use crate::engine::EngineError;
use crate::plan::DownOptions;

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Take the project down when the first container stops
    #[arg(long)]
    pub down_project: bool,
    /// The services whose containers to wait for
    #[arg(required = true)]
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &WaitArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    let ids: Vec<String> = observed
        .containers()
        .filter(|c| args.services.contains(c.service()))
        .map(|c| c.id.clone())
        .collect();
    if ids.is_empty() {
        return Err(CliError::Message(format!(
            "no containers for project {:?}",
            session.name()
        )));
    }
    // A task per wait, so that every wait reaches the engine at once and goes on while
    // `--down-project`'s down runs: a wait still unsent when the down removed its container
    // would find no container, and its exit would not be printed.
    let mut waits: FuturesUnordered<_> = ids
        .into_iter()
        .map(|id| {
            let runtime = session.runtime.clone();
            tokio::spawn(async move {
                let outcome = runtime.wait_container(&id).await;
                (id, outcome)
            })
        })
        .collect();
    let mut last = 0;
    let mut down = args.down_project;
    while let Some(waited) = waits.next().await {
        let (id, outcome) = waited.expect("a wait task is not cancelled");
        match outcome {
            Ok(code) => {
                println!("container {id:?} exited with status code {code}");
                last = code;
            }
            // Removed meanwhile (by `--down-project`'s down, or by someone else).
            Err(EngineError::NotFound(_)) => continue,
            Err(err) => return Err(err.into()),
        }
        if std::mem::take(&mut down) {
            // The other waits are under way: they end as the down stops their containers.
            teardown::down(global, &DownOptions::default()).await?;
        }
    }
    Ok(super::terminal::exit_status(last))
}
