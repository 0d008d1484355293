//! The command line: compose's verbs and flags, parsed by clap, dispatched to one module each.

mod attach;
mod config;
mod down;
mod engine;
mod exec;
mod lifecycle;
mod logs;
mod output;
mod progress;
mod ps;
mod run;
mod supervise;
mod terminal;
mod up;
mod wait;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

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
    Build(lifecycle::ServicesArgs),
    /// Start services
    Start(lifecycle::ServicesArgs),
    /// Stop services
    Stop(lifecycle::StopArgs),
    /// Restart services
    Restart(lifecycle::StopArgs),
    /// Converge, then re-converge, sync or rebuild as the project's files change
    Watch(watch::WatchArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Run a one-off command on a service
    Run(run::RunArgs),
    /// Attach local standard input, output, and error streams to a service's running container
    Attach(attach::AttachArgs),
    /// Block until the containers of the given services stop
    Wait(wait::WaitArgs),
    /// The detached supervisor of a project (started by `up -d`)
    #[command(hide = true)]
    Supervise(supervise::SuperviseArgs),
}

pub fn run(cli: Cli) -> ExitCode {
    let global = &cli.global;
    let engine_command = async {
        match &cli.command {
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
                lifecycle::run(
                    global,
                    lifecycle::Verb::Restart,
                    &args.services,
                    args.timeout,
                )
                .await
            }
            Command::Watch(args) => watch::run(global, args).await,
            Command::Supervise(args) => supervise::run(global, args).await,
            Command::Exec(args) => exec::run(global, args).await,
            Command::Run(args) => run::run(global, args).await,
            Command::Attach(args) => attach::run(global, args).await,
            Command::Wait(args) => wait::run(global, args).await,
            Command::Config(_) => unreachable!("not an engine command"),
        }
    };
    match &cli.command {
        Command::Config(args) => config::run(global, args),
        Command::Supervise(args) if args.keep => supervise::keep(global),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(engine_command)
            .unwrap_or_else(|code| code),
    }
}

/// Loads the project the global flags describe, printing warnings; errors are printed and
/// turned into the exit code.
pub fn load_project(global: &GlobalArgs) -> Result<Project, ExitCode> {
    match spec::load(&load_options(global)?) {
        Ok(project) => {
            print_warnings(&project);
            Ok(project)
        }
        Err(diagnostic) => {
            output::error(&diagnostic);
            Err(ExitCode::FAILURE)
        }
    }
}

pub fn print_warnings(project: &Project) {
    for warning in &project.warnings {
        output::warning(warning);
    }
}

/// What the loader needs from the command line and the process: flags, environment, working
/// directory, and standard input when `-f -` reads it.
pub fn load_options(global: &GlobalArgs) -> Result<LoadOptions, ExitCode> {
    let stdin = if global.files.iter().any(|f| f == "-") {
        let mut text = String::new();
        if let Err(err) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            output::error_line(&format!(
                "cannot read the compose file from standard input: {err}"
            ));
            return Err(ExitCode::FAILURE);
        }
        Some(text)
    } else {
        None
    };
    Ok(LoadOptions {
        files: global.files.clone(),
        project_directory: global.project_directory.clone(),
        project_name: global.project_name.clone(),
        env_files: global.env_files.clone(),
        profiles: global.profiles.clone(),
        environment: std::env::vars().collect(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        stdin,
    })
}
