//! `wharf top`: the processes of the services' running containers, in one table as compose
//! prints it (`SERVICE`, `#`, then the engine's `ps` columns).

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::each::containers;
use super::error::CliError;
use super::session::Session;
use super::table::tabwriter;
use crate::observe::ObservedContainer;

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Services to show (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &TopArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    let mut running = containers(&observed, &args.services, ObservedContainer::is_up);
    running.sort_by(|a, b| a.name.cmp(&b.name));
    let tops = futures_util::future::join_all(running.iter().map(|c| session.runtime.top(&c.id)));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (container, top) in running.iter().zip(tops.await) {
        let top = top?;
        if rows.is_empty() {
            let mut header = vec!["SERVICE".to_string(), "#".to_string()];
            header.extend(top.titles);
            rows.push(header);
        }
        for process in top.processes {
            let mut row = vec![
                container.service().to_string(),
                container.number().to_string(),
            ];
            row.extend(process);
            rows.push(row);
        }
    }
    print!("{}", tabwriter(&rows, 4, 2));
    Ok(ExitCode::SUCCESS)
}
