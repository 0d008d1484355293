//! `wharf run`: a one-off container of a service, as compose makes it: the service's
//! configuration with `run`'s changes, labelled `com.docker.compose.oneoff=True` and named
//! `<project>-<service>-run-<id>`, after its dependencies are up and their conditions met
//! (`plan::run`). Attached, its output is wharf's and its exit code wharf's. A one-off is never
//! a replica: `up`, `down`'s orphans and the supervisor leave it alone.

use std::path::Path;
use std::process::ExitCode;

use clap::{ArgAction, Args};

use super::each::environment;
use super::error::CliError;
use super::session::{Session, no_such_service};
use super::terminal::{self, Tty};
use super::{GlobalArgs, load_project, output};
use crate::desired::{self, one_off_name, one_off_spec};
use crate::engine::Streams;
use crate::plan::run::{RunOptions, one_off};
use crate::plan::{BuildPolicy, lifecycle};
use crate::spec::model::{MountType, Service, VolumeMount};
use crate::spec::short::{FromShort, parse_port};
use crate::supervisor::request::PullPolicy;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Build the image before starting the container
    #[arg(long)]
    pub build: bool,
    /// Add Linux capabilities
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Run the container in the background and print its ID
    #[arg(short, long)]
    pub detach: bool,
    /// Override the entrypoint of the image
    #[arg(long, value_name = "COMMAND")]
    pub entrypoint: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to pass wharf's own)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Set environment variables from a file (repeatable; `-e` wins)
    #[arg(long, value_name = "FILE")]
    pub env_from_file: Vec<std::path::PathBuf>,
    /// Pull the image first: always, missing, never or build (default: the service's
    /// pull_policy)
    #[arg(long, value_enum, value_name = "POLICY", default_value = "policy")]
    pub pull: PullPolicy,
    /// No progress lines for the images and dependencies the one-off needs
    #[arg(short, long)]
    pub quiet: bool,
    /// No progress lines for the images built (as --quiet)
    #[arg(long)]
    pub quiet_build: bool,
    /// No progress lines for the images pulled (as --quiet)
    #[arg(long)]
    pub quiet_pull: bool,
    /// Keep standard input open (default true)
    #[arg(short = 'i', long, action = ArgAction::Set, num_args = 0..=1,
          default_value_t = true, default_missing_value = "true", value_name = "BOOL")]
    pub interactive: bool,
    /// Add or override a label
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Assign a name to the container
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Disable pseudo-TTY allocation (by default a TTY is allocated when standard input is one)
    #[arg(short = 'T', long = "no-TTY", visible_alias = "no-tty")]
    pub no_tty: bool,
    /// Don't start the services it depends on
    #[arg(long)]
    pub no_deps: bool,
    /// Publish a container's port to the host (compose's port syntax)
    #[arg(short = 'p', long = "publish", value_name = "PORT")]
    pub publish: Vec<String>,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Publish the service's ports as the file declares them
    #[arg(short = 'P', long)]
    pub service_ports: bool,
    /// Keep the service's network aliases on the container's networks
    #[arg(long)]
    pub use_aliases: bool,
    /// Run as this user (name or uid)
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
    /// Bind mount a volume (SOURCE:TARGET[:MODE])
    #[arg(short, long = "volume", value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// The service to run a one-off container of
    pub service: String,
    /// The command and its arguments (default: the service's)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &RunArgs) -> Result<ExitCode, CliError> {
    if super::dry_run() && !args.detach {
        return Err(CliError::message(
            "interactive run is not supported in dry-run mode",
        ));
    }
    let mut project = load_project(global)?;
    let tty = !args.no_tty && !args.detach && terminal::wants_tty();
    let working_dir = project.working_dir.clone();
    let Some(service) = project.model.services.get_mut(&args.service) else {
        return Err(no_such_service(&args.service));
    };
    apply(service, args, tty, &working_dir).map_err(CliError::Message)?;
    let desired = desired::build(&project, &Default::default());
    let slug = slug();
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| one_off_name(&desired.project, &args.service, &slug));
    let mut spec = one_off_spec(&desired.services[&args.service].container, &name, &slug);
    spec.stdin_once = spec.stdin_open;
    // Attached, wharf removes it itself once it has its exit code.
    spec.auto_remove = args.rm && args.detach;
    if args.use_aliases {
        for (attachment, service) in spec
            .networks
            .iter_mut()
            .zip(&desired.services[&args.service].container.networks)
        {
            attachment.aliases.extend(service.aliases.iter().cloned());
        }
    }
    let session = Session::loaded(project, desired).await?;
    let desired = session.target.desired().expect("a loaded project");
    let services = [args.service.clone()];
    // The builds of `--build` and `pull_policy: build`, the pulls of `always`.
    session
        .execute(&lifecycle::prepare_images(desired, &services, args.build))
        .await?;
    let observed = session.observe().await?;
    let options = RunOptions {
        no_deps: args.no_deps,
        build: BuildPolicy::default(),
    };
    let plan = one_off(desired, &observed, &args.service, &name, spec, &options)?;
    session.execute(&plan).await?;
    if super::dry_run() {
        // The plan is printed; nothing was made to start.
        return Ok(ExitCode::SUCCESS);
    }

    let runtime = session.runtime.clone();
    let id = runtime.container(&name).await?.id;
    if args.detach {
        runtime.start_container(&id).await?;
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }
    let streams = Streams {
        tty,
        stdin: args.interactive,
    };
    let attached = async {
        let attachment = runtime.attach_container(&id, streams.stdin, None).await?;
        runtime.start_container(&id).await?;
        let target = Tty::Container(id.clone());
        terminal::pump(runtime.clone(), attachment, streams.stdin, target).await?;
        runtime.wait_container(&id).await
    };
    let outcome = attached.await;
    if args.rm {
        if let Err(err) = runtime.remove_container(&id, true).await {
            output::error_line(&format!("cannot remove {name}: {err}"));
        }
    }
    Ok(terminal::exit_status(outcome?))
}

/// `run`'s flags, applied to the service's configuration before its container spec is made,
/// as compose applies them.
fn apply(service: &mut Service, args: &RunArgs, tty: bool, dir: &Path) -> Result<(), String> {
    if !args.command.is_empty() {
        service.command = Some(args.command.clone());
    }
    if let Some(entrypoint) = &args.entrypoint {
        let words = shell_words::split(entrypoint)
            .map_err(|err| format!("invalid --entrypoint {entrypoint:?}: {err}"))?;
        service.entrypoint = Some(words);
        // A new entrypoint drops the image's command, as with `docker run --entrypoint`.
        if args.command.is_empty() {
            service.command = None;
        }
    }
    for file in &args.env_from_file {
        let text = std::fs::read_to_string(file)
            .map_err(|err| format!("cannot read --env-from-file {}: {err}", file.display()))?;
        let lookup = |key: &str| std::env::var(key).ok();
        let entries = crate::spec::dotenv::parse(&text, &lookup)
            .map_err(|err| format!("invalid --env-from-file {}: {err}", file.display()))?;
        for (key, value) in crate::spec::dotenv::into_map(entries) {
            service.environment.insert(key, Some(value));
        }
    }
    for variable in environment(&args.env) {
        let (key, value) = variable.split_once('=').expect("KEY=VALUE");
        service
            .environment
            .insert(key.to_string(), Some(value.to_string()));
    }
    for label in &args.labels {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        service.labels.insert(key.to_string(), value.to_string());
    }
    if !args.service_ports {
        service.ports.clear();
    }
    for port in &args.publish {
        let ports = parse_port(port).map_err(|err| format!("invalid --publish {port:?}: {err}"))?;
        service.ports.extend(ports);
    }
    for volume in &args.volume {
        let mut mount = VolumeMount::from_short(volume)
            .map_err(|err| format!("invalid --volume {volume:?}: {err}"))?;
        if mount.kind == MountType::Bind {
            mount.source = mount.source.map(|source| absolute(&source, dir));
        }
        service.volumes.retain(|v| v.target != mount.target);
        service.volumes.push(mount);
    }
    service.cap_add.extend(args.cap_add.iter().cloned());
    service.cap_drop.extend(args.cap_drop.iter().cloned());
    if args.user.is_some() {
        service.user = args.user.clone();
    }
    if args.workdir.is_some() {
        service.working_dir = args.workdir.clone();
    }
    if let Some(policy) = args.pull.policy() {
        service.pull_policy = Some(policy.as_str().to_string());
    }
    service.tty = tty;
    service.stdin_open = args.interactive && !args.detach;
    Ok(())
}

/// A bind source of `-v` relative to the project directory (or `~`, the home directory).
fn absolute(source: &str, dir: &Path) -> String {
    if let Some(rest) = source.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return Path::new(&home).join(rest).display().to_string();
    }
    if Path::new(source).is_absolute() {
        return source.to_string();
    }
    dir.join(source).display().to_string()
}

/// 64 random hexadecimal digits: the one-off's identity, as compose's slug.
fn slug() -> String {
    let mut bytes = [0u8; 32];
    if let Ok(mut random) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut random, &mut bytes);
    }
    hex::encode(bytes)
}
