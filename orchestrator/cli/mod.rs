//! The command line: compose's verbs and flags, parsed by clap, dispatched to one module each.

mod attach;
mod commit;
mod completion;
mod config;
mod container_logs;
mod converge;
mod cp;
mod create;
mod down;
mod each;
mod error;
mod events;
mod exec;
mod export;
mod graph;
mod images;
mod kill;
mod lifecycle;
mod logs;
mod ls;
mod output;
mod pause;
mod port;
mod progress;
mod ps;
mod pull;
mod rm;
mod run;
mod scale;
mod session;
mod shutdown;
mod stats;
mod supervise;
mod supervisor_client;
mod swarm;
mod swarm_logs;
mod swarm_progress;
mod swarm_watch;
mod table;
mod teardown;
mod terminal;
mod top;
mod up;
mod version;
mod volumes;
mod wait;
mod watch;
mod watch_targets;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indexmap::IndexMap;

use self::error::CliError;
use crate::spec::{self, LoadOptions, Project};

#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    version,
    about = "A declarative container orchestrator for compose projects",
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The flags every compose command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Compose configuration files (repeatable; `-` reads standard input)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<String>,
    /// Project name
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the directory of the first compose file)
    #[arg(long, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Alternate environment files (repeatable; default: `.env` in the project directory)
    #[arg(id = "env_file", long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Profiles to enable (repeatable)
    #[arg(
        id = "profile",
        long = "profile",
        global = true,
        value_name = "PROFILE"
    )]
    pub profiles: Vec<String>,
    /// Control when to print ANSI control characters: never, always or auto (also `COMPOSE_ANSI`)
    #[arg(long, value_enum, value_name = "WHEN")]
    pub ansi: Option<output::Ansi>,
    /// Print the plan and change nothing (before or after the verb)
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Progress output: auto, tty, plain, json or quiet (also `COMPOSE_PROGRESS`)
    #[arg(long, value_enum, value_name = "TYPE")]
    pub progress: Option<progress::Mode>,
    /// Maximum engine calls at once, -1 for the default (also `COMPOSE_PARALLEL_LIMIT`)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub parallel: Option<i64>,
    /// Where the project runs: this engine's containers, or a Docker Swarm whose manager
    /// DOCKER_HOST names
    #[arg(long, value_enum, env = "WHARF_TARGET", default_value = "local")]
    pub target: TargetKind,
}

/// `--target`: what a project is converged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetKind {
    /// Compose's containers on one engine.
    Local,
    /// A stack of services on a Docker Swarm.
    Swarm,
}

static DRY_RUN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// `--dry-run`: the verbs that change something print their plan and change nothing.
pub fn dry_run() -> bool {
    DRY_RUN.get().copied().unwrap_or(false)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, resolve and render the compose file in canonical format
    Config(config::ConfigArgs),
    /// Create and start containers
    Up(up::UpArgs),
    /// Stop and remove containers and networks
    Down(down::DownArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// View output from containers
    Logs(logs::LogsArgs),
    /// Build or rebuild services
    Build(lifecycle::BuildArgs),
    /// Start services
    Start(lifecycle::ServicesArgs),
    /// Stop services
    Stop(lifecycle::StopArgs),
    /// Restart services
    Restart(lifecycle::RestartArgs),
    /// Converge, then re-converge, sync or rebuild as the project's files change
    Watch(watch::WatchArgs),
    /// Force stop service containers
    Kill(kill::KillArgs),
    /// Removes stopped service containers
    Rm(rm::RmArgs),
    /// Creates containers for a service
    Create(create::CreateArgs),
    /// Pause services
    Pause(pause::PauseArgs),
    /// Unpause services
    Unpause(pause::PauseArgs),
    /// Scale services
    Scale(scale::ScaleArgs),
    /// Print the public port for a port binding
    Port(port::PortArgs),
    /// Display the running processes
    Top(top::TopArgs),
    /// List images used by the created containers
    Images(images::ImagesArgs),
    /// List running compose projects
    Ls(ls::LsArgs),
    /// Show the wharf version information
    Version(version::VersionArgs),
    /// Pull service images
    Pull(pull::PullArgs),
    /// Push service images
    Push(pull::PushArgs),
    /// Receive real time events from containers
    Events(events::EventsArgs),
    /// The dependency graph of the services, as Graphviz DOT or SVG (compose's `alpha viz`)
    Graph(graph::GraphArgs),
    /// Print a shell completion script
    Completion(completion::CompletionArgs),
    /// Print the man page (roff)
    Man,
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Run a one-off command on a service
    Run(run::RunArgs),
    /// Attach local standard input, output, and error streams to a service's running container
    Attach(attach::AttachArgs),
    /// Block until the containers of the given services stop
    Wait(wait::WaitArgs),
    /// Copy files/folders between a service container and the local filesystem
    Cp(cp::CpArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// List volumes
    Volumes(volumes::VolumesArgs),
    /// Create a new image from a service container's changes
    Commit(commit::CommitArgs),
    /// Export a service container's filesystem as a tar archive
    Export(export::ExportArgs),
    /// The detached supervisor of a project (started by `up -d`)
    #[command(hide = true)]
    Supervise(supervise::SuperviseArgs),
}

pub fn run(cli: Cli) -> ExitCode {
    let global = &cli.global;
    output::set_ansi(global.ansi.unwrap_or_else(|| env_value("COMPOSE_ANSI")));
    let progress = match &cli.command {
        Command::Build(args) if args.quiet => progress::Mode::Quiet,
        Command::Run(args) if args.quiet || args.quiet_build || args.quiet_pull => {
            progress::Mode::Quiet
        }
        _ => global
            .progress
            .unwrap_or_else(|| env_value("COMPOSE_PROGRESS")),
    };
    progress::set_mode(progress);
    let _ = DRY_RUN.set(global.dry_run);
    if let Some(n) = global.parallel.filter(|&n| n > 0) {
        // SAFETY: no other thread runs yet (the tokio runtime starts below), and the variable
        // is how the executor (and a supervisor this process starts) reads the limit.
        unsafe { std::env::set_var("COMPOSE_PARALLEL_LIMIT", n.to_string()) };
    }
    // The error is said inside the runtime, while what the verb started still runs, as it
    // would be had the verb printed it itself.
    let engine_command = async {
        if global.target == TargetKind::Swarm {
            return error::exit(swarm::run(global, &cli.command, &verb(&cli.command)).await);
        }
        let result = match &cli.command {
            Command::Up(args) => up::run(global, args).await,
            Command::Down(args) => down::run(global, args).await,
            Command::Ps(args) => ps::run(global, args).await,
            Command::Logs(args) => logs::run(global, args).await,
            Command::Build(args) => lifecycle::build(global, args).await,
            Command::Start(args) => {
                lifecycle::run(global, lifecycle::Verb::Start, &args.services, None).await
            }
            Command::Stop(args) => {
                lifecycle::run(global, lifecycle::Verb::Stop, &args.services, args.timeout).await
            }
            Command::Restart(args) => {
                let verb = lifecycle::Verb::Restart {
                    no_deps: args.no_deps,
                };
                lifecycle::run(global, verb, &args.services, args.timeout).await
            }
            Command::Watch(args) => watch::run(global, args).await,
            Command::Supervise(args) => supervise::run(global, args).await,
            Command::Kill(args) => kill::run(global, args).await,
            Command::Rm(args) => rm::run(global, args).await,
            Command::Create(args) => create::run(global, args).await,
            Command::Pause(args) => pause::run(global, args, true).await,
            Command::Unpause(args) => pause::run(global, args, false).await,
            Command::Scale(args) => scale_up(global, args).await,
            Command::Port(args) => port::run(global, args).await,
            Command::Top(args) => top::run(global, args).await,
            Command::Images(args) => images::run(global, args).await,
            Command::Ls(args) => ls::run(args).await,
            Command::Pull(args) => pull::pull(global, args).await,
            Command::Push(args) => pull::push(global, args).await,
            Command::Events(args) => events::run(global, args).await,
            Command::Graph(args) => graph::run(global, args).await,
            Command::Exec(args) => exec::run(global, args).await,
            Command::Run(args) => run::run(global, args).await,
            Command::Attach(args) => attach::run(global, args).await,
            Command::Wait(args) => wait::run(global, args).await,
            Command::Cp(args) => cp::run(global, args).await,
            Command::Stats(args) => stats::run(global, args).await,
            Command::Volumes(args) => volumes::run(global, args).await,
            Command::Commit(args) => commit::run(global, args).await,
            Command::Export(args) => export::run(global, args).await,
            Command::Config(_) | Command::Version(_) | Command::Completion(_) | Command::Man => {
                unreachable!("not an engine command")
            }
        };
        error::exit(result)
    };
    match &cli.command {
        Command::Config(args) => error::exit(config::run(global, args)),
        Command::Version(args) => version::run(args),
        Command::Completion(args) => completion::completion(args),
        Command::Man => error::exit(completion::man()),
        Command::Supervise(args) if args.keep => error::exit(supervise::keep(global)),
        _ => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let code = runtime.block_on(engine_command);
            // The command is done: what is left (an early read it did not need, a blocking
            // read of standard input) ends with the process, not waited for.
            runtime.shutdown_background();
            code
        }
    }
}

/// The verb as it is typed: clap names a subcommand by its variant in kebab case.
fn verb(command: &Command) -> String {
    let debug = format!("{command:?}");
    let variant = debug.split(['(', ' ']).next().unwrap_or_default();
    let mut verb = String::new();
    for (i, c) in variant.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            verb.push('-');
        }
        verb.push(c.to_ascii_lowercase());
    }
    verb
}

/// `scale` is `up -d --scale …`: its command line of `up`, which `up` runs.
async fn scale_up(global: &GlobalArgs, args: &scale::ScaleArgs) -> Result<ExitCode, CliError> {
    let argv = scale::up_argv(global, args)?;
    up::run(global, &up::UpArgs::from_argv(argv)).await
}

/// Loads the project the global flags describe, printing warnings.
pub fn load_project(global: &GlobalArgs) -> Result<Project, CliError> {
    let project = spec::load(&load_options(global)?)?;
    match global.target {
        TargetKind::Local => print_warnings(&project),
        // The loader's "a swarm setting" warnings are about the local target: there they apply.
        TargetKind::Swarm => project
            .warnings
            .iter()
            .filter(|warning| !warning.message.contains(spec::unapplied::SWARM))
            .for_each(output::warning),
    }
    Ok(project)
}

pub fn print_warnings(project: &Project) {
    for warning in &project.warnings {
        output::warning(warning);
    }
}

/// What the loader needs from the command line and the process: flags, environment, working
/// directory, and standard input when `-f -` reads it.
pub fn load_options(global: &GlobalArgs) -> Result<LoadOptions, CliError> {
    let stdin = if global.files.iter().any(|f| f == "-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|err| {
            CliError::Message(format!(
                "cannot read the compose file from standard input: {err}"
            ))
        })?;
        Some(text)
    } else {
        None
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    Ok(LoadOptions {
        files: global.files.clone(),
        project_directory: global.project_directory.clone(),
        project_name: global.project_name.clone(),
        env_files: global.env_files.clone(),
        profiles: global.profiles.clone(),
        environment: process_environment(&cwd),
        cwd,
        stdin,
    })
}

/// The process environment, with `PWD` set to the working directory when the process has none
/// (started outside a shell), as compose v2 sets it: `$PWD` in a file means the same in both.
fn process_environment(cwd: &Path) -> IndexMap<String, String> {
    let mut environment: IndexMap<String, String> = std::env::vars().collect();
    environment
        .entry("PWD".to_string())
        .or_insert_with(|| cwd.display().to_string());
    environment
}

/// A `COMPOSE_*` variable that holds one of a flag's values; unset or unknown is the default.
fn env_value<T: clap::ValueEnum + Default>(name: &str) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| T::from_str(&v, true).ok())
        .unwrap_or_default()
}

/// A `COMPOSE_*` switch (`COMPOSE_REMOVE_ORPHANS`, `COMPOSE_STATUS_STDOUT`): true as Go reads it.
/// `--remove-orphans` (or `COMPOSE_REMOVE_ORPHANS`) and `COMPOSE_IGNORE_ORPHANS`, which
/// compose refuses together: `(remove, ignore)`.
pub fn orphans(remove_flag: bool) -> Result<(bool, bool), CliError> {
    let remove = remove_flag || env_flag("COMPOSE_REMOVE_ORPHANS");
    let ignore = env_flag("COMPOSE_IGNORE_ORPHANS");
    if remove && ignore {
        return Err(CliError::message(
            "cannot combine COMPOSE_IGNORE_ORPHANS and --remove-orphans",
        ));
    }
    Ok((remove, ignore))
}

pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| spec::load::go_bool(&v) == Some(true))
}
