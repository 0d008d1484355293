use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// What standard error shows without `RUST_LOG`: errors, and the supervisor's account of what it
/// did (a replica exited, restarted, was stopped behind wharf's back) and its DNS's warnings.
/// An attached `up` shows that account to its user; a detached supervisor's standard error is
/// the project's `supervisor.log`.
const DEFAULT_DIAGNOSTICS: &str = "error,wharf::supervisor=info,wharf::dns=warn";

fn main() -> ExitCode {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_DIAGNOSTICS));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    wharf::cli::run(wharf::cli::Cli::parse())
}
