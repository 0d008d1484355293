//! `wharf completion SHELL` and `wharf man`: shell completions and a man page, both generated
//! from the clap definition of the command line, so they never fall behind it.

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use super::error::CliError;

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script; e.g. `wharf completion bash > /etc/bash_completion.d/wharf`.
pub fn completion(args: &CompletionArgs) -> ExitCode {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "wharf", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints the man page (roff); e.g. `wharf man | man -l -`.
pub fn man() -> Result<ExitCode, CliError> {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut std::io::stdout())
        .map_err(|err| CliError::Message(format!("cannot write the man page: {err}")))?;
    Ok(ExitCode::SUCCESS)
}
