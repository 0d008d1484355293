//! `watch` with `--target swarm`: deploy, then deploy again each time a file the model is read
//! from changes (the compose files, `include`s, `.env`, `env_file`s), until Ctrl-C or SIGTERM;
//! the stack keeps running after it. Each deploy is a whole `up -d`: only the services whose
//! spec changed are updated, and it waits for them to converge. `develop.watch` rules act on
//! containers of this host (copying files into them, restarting them), which a swarm's tasks are
//! not: they are warned about and left out.

use std::path::PathBuf;
use std::process::ExitCode;

use super::error::CliError;
use super::up::UpArgs;
use super::watch::WatchArgs;
use super::{GlobalArgs, load_project, shutdown};
use crate::spec::Project;
use crate::watch::{SourceWatch, say};

pub async fn run(global: &GlobalArgs, args: &WatchArgs) -> Result<ExitCode, CliError> {
    if args.stop {
        return Err(CliError::message(
            "`watch --stop` stops the watching of `up -d --watch`, which the swarm target does \
             not have: stop `wharf --target swarm watch` with Ctrl-C",
        ));
    }
    let project = load_project(global)?;
    warn_about_rules(&project);
    let mut sources = SourceWatch::start(&project).map_err(CliError::from)?;
    if !args.no_up {
        deploy(global, args).await?;
    }
    say(&format!(
        "watching {} project files (Ctrl-C stops)",
        project.source_files.len()
    ));
    let stopped = shutdown::signal();
    tokio::pin!(stopped);
    loop {
        let (changed, problems) = tokio::select! {
            () = &mut stopped => return Ok(ExitCode::SUCCESS),
            change = sources.next_change() => change.map_err(CliError::from)?,
        };
        problems
            .iter()
            .for_each(|problem| say(&problem.to_string()));
        if changed.is_empty() {
            continue;
        }
        say(&format!("{} changed: deploying again", names(&changed)));
        let reloaded = match load_project(global) {
            Ok(project) => project,
            Err(err) => {
                err.print();
                say("the project is not valid: nothing was changed (the next valid save deploys)");
                continue;
            }
        };
        sources
            .follow(&reloaded)
            .iter()
            .for_each(|problem| say(&problem.to_string()));
        let deployed = tokio::select! {
            () = &mut stopped => return Ok(ExitCode::SUCCESS),
            deployed = deploy(global, args) => deployed,
        };
        match deployed {
            Ok(_) => say("deployed"),
            Err(err) => {
                err.print();
                say("deploying failed (the next save deploys again)");
            }
        }
    }
}

/// One `up -d` of the stack, as the command line would give it.
async fn deploy(global: &GlobalArgs, args: &WatchArgs) -> Result<ExitCode, CliError> {
    let mut argv: Vec<String> = ["up", "-d"].map(String::from).to_vec();
    if args.remove_orphans {
        argv.push("--remove-orphans".into());
    }
    super::swarm::up(global, &UpArgs::from_argv(argv)).await
}

fn warn_about_rules(project: &Project) {
    for (name, service) in &project.model.services {
        if service
            .develop
            .as_ref()
            .is_some_and(|d| !d.watch.is_empty())
        {
            say(&format!(
                "services.{name}.develop.watch is not applied on a swarm: its sync, rebuild and \
                 restart act on this host's containers; a change of the project's files deploys \
                 the stack again"
            ));
        }
    }
}

fn names(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}
