//! `wharf pull` and `wharf push`: the services' images from and to their registries, as compose
//! does: `pull_policy` honoured, a service that can be built only warned about, a failure
//! naming its service, `--ignore-*-failures` turning failures into warnings.

use std::collections::HashSet;
use std::process::ExitCode;

use clap::Args;

use super::error::CliError;
use super::progress::Progress;
use super::session::no_such_service;
use super::{GlobalArgs, load_project};
use crate::desired::{self, Desired, DesiredService};
use crate::spec::Project;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Pull what it can and ignores images with pull failures
    #[arg(long)]
    pub ignore_pull_failures: bool,
    /// Pull without printing progress information
    #[arg(short, long)]
    pub quiet: bool,
    /// Also pull services declared as dependencies
    #[arg(long)]
    pub include_deps: bool,
    /// Services to pull (default: all)
    pub services: Vec<String>,
}

/// What `pull` does with one service.
#[derive(Debug, PartialEq)]
enum Pull {
    /// `pull_policy: never` or `build`, or `missing` with the image present.
    Skip(&'static str),
    Pull,
}

fn pull_for(policy: Option<&str>, present: bool) -> Pull {
    match policy {
        Some("never") => Pull::Skip("pull_policy is never"),
        Some("build") => Pull::Skip("pull_policy is build"),
        Some("missing" | "if_not_present") if present => {
            Pull::Skip("Image is already present locally")
        }
        _ => Pull::Pull,
    }
}

pub async fn pull(global: &GlobalArgs, args: &PullArgs) -> Result<ExitCode, CliError> {
    let (project, desired) = load(global, &args.services)?;
    let selected = selected(&desired, &args.services, args.include_deps);
    let runtime = super::session::connect().await?;
    let progress = Progress::new(if args.quiet { 0 } else { selected.len() });
    let say = |line: String| {
        if !args.quiet {
            progress.print(&line);
        }
    };
    let mut seen = HashSet::new();
    let mut pulls = Vec::new();
    for service in selected {
        let policy = project.model.services[&service.name].pull_policy.as_deref();
        let present = matches!(runtime.image_id(&service.image).await, Ok(Some(_)));
        match pull_for(policy, present) {
            Pull::Skip(why) => say(format!(" - Service {}  Skipped: {why}", service.name)),
            // One pull per image, however many services run it.
            Pull::Pull if !seen.insert(service.image.clone()) => {}
            Pull::Pull => pulls.push(service),
        }
    }
    if super::dry_run() {
        for service in &pulls {
            eprintln!(" DRY-RUN MODE -  Image {}  Pulled", service.image);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let results = futures_util::future::join_all(pulls.iter().map(|service| {
        let runtime = runtime.clone();
        async move {
            runtime
                .pull_image(&service.image, service.container.platform.as_deref())
                .await
        }
    }))
    .await;
    let mut failed = Vec::new();
    let mut to_build = Vec::new();
    for (service, result) in pulls.iter().zip(results) {
        match result {
            Ok(()) => say(format!(" ✔ Image {}  Pulled", service.image)),
            // It can be built instead: a warning, as compose gives.
            Err(err) if service.build.is_some() => {
                say(format!(" ! Service {}  Warning: {err}", service.name));
                to_build.push(service.name.as_str());
            }
            Err(err) => {
                say(format!(" ✘ Service {}  Error: {err}", service.name));
                failed.push(format!("service {}: {err}", service.name));
            }
        }
    }
    progress.finish();
    if !to_build.is_empty() {
        eprintln!(
            "WARNING: Some service image(s) must be built from source by running:\n    wharf build {}",
            to_build.join(" ")
        );
    }
    outcome(failed, args.ignore_pull_failures)
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push what it can and ignores images with push failures
    #[arg(long)]
    pub ignore_push_failures: bool,
    /// Also push images of services declared as dependencies
    #[arg(long)]
    pub include_deps: bool,
    /// Push without printing progress information
    #[arg(short, long)]
    pub quiet: bool,
    /// Services to push (default: all)
    pub services: Vec<String>,
}

/// `push`: the images of the services that are built (`build` and `image`); the others are
/// skipped, as compose skips them.
pub async fn push(global: &GlobalArgs, args: &PushArgs) -> Result<ExitCode, CliError> {
    let (project, desired) = load(global, &args.services)?;
    let selected = selected(&desired, &args.services, args.include_deps);
    let runtime = super::session::connect().await?;
    let progress = Progress::new(if args.quiet { 0 } else { selected.len() });
    let mut failed = Vec::new();
    for service in selected {
        let named = project.model.services[&service.name].image.is_some();
        let line = if service.build.is_none() || !named {
            format!(" - Service {}  Skipped", service.name)
        } else if super::dry_run() {
            format!(" DRY-RUN MODE -  Image {}  Pushed", service.image)
        } else {
            match runtime.push_image(&service.image).await {
                Ok(()) => format!(" ✔ Image {}  Pushed", service.image),
                Err(err) => {
                    failed.push(format!("service {}: {err}", service.name));
                    format!(" ✘ Service {}  Error: {err}", service.name)
                }
            }
        };
        if !args.quiet {
            progress.print(&line);
        }
    }
    progress.finish();
    outcome(failed, args.ignore_push_failures)
}

/// The project and its desired state; service arguments must name its services.
fn load(global: &GlobalArgs, services: &[String]) -> Result<(Project, Desired), CliError> {
    let project = load_project(global)?;
    let desired = desired::build(&project, &Default::default());
    match services.iter().find(|s| !desired.knows(s)) {
        Some(unknown) => Err(no_such_service(unknown)),
        None => Ok((project, desired)),
    }
}

/// The services named (all when none is), with their dependencies when asked.
fn selected<'a>(
    desired: &'a Desired,
    services: &[String],
    include_deps: bool,
) -> Vec<&'a DesiredService> {
    let mut names: Vec<String> = services.to_vec();
    if include_deps {
        for service in services {
            names.extend(desired.graph.dependencies_of(service));
        }
    }
    desired
        .services
        .values()
        .filter(|s| names.is_empty() || names.contains(&s.name))
        .collect()
}

/// Failures are errors (one line each), or warnings when they are to be ignored.
fn outcome(failed: Vec<String>, ignore: bool) -> Result<ExitCode, CliError> {
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !ignore {
        return Err(CliError::Messages(failed));
    }
    for failure in failed {
        eprintln!("warning: {failure}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_decides_what_is_pulled() {
        assert_eq!(
            pull_for(None, true),
            Pull::Pull,
            "compose's pull pulls by default"
        );
        assert_eq!(pull_for(Some("always"), true), Pull::Pull);
        assert_eq!(pull_for(Some("missing"), false), Pull::Pull);
        assert!(matches!(pull_for(Some("missing"), true), Pull::Skip(_)));
        assert!(matches!(
            pull_for(Some("if_not_present"), true),
            Pull::Skip(_)
        ));
        assert!(matches!(pull_for(Some("never"), false), Pull::Skip(_)));
        assert!(matches!(pull_for(Some("build"), false), Pull::Skip(_)));
    }
}
