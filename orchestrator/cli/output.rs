//! How wharf speaks on the terminal: rich diagnostics on a TTY, stable plain lines otherwise.

use std::io::IsTerminal;
use std::sync::OnceLock;

use crate::spec::Diagnostic;
use crate::spec::diagnostic::render;

/// `--ansi` (or `COMPOSE_ANSI`): whether to print colours and control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Ansi {
    Never,
    Always,
    #[default]
    Auto,
}

/// `--format` of the listing verbs (`images`, `ls`, `stats`, `volumes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

static ANSI: OnceLock<Ansi> = OnceLock::new();

/// Set once, from the global flags, before any output.
pub fn set_ansi(ansi: Ansi) {
    let _ = ANSI.set(ansi);
}

pub fn ansi() -> Ansi {
    ANSI.get().copied().unwrap_or_default()
}

/// Whether output to a stream (a terminal or not) gets colours: `--ansi always` or `never`
/// decide; otherwise a terminal does, unless `NO_COLOR` is set.
pub fn colour(terminal: bool) -> bool {
    match ansi() {
        Ansi::Never => false,
        Ansi::Always => true,
        Ansi::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn rich() -> bool {
    colour(std::io::stderr().is_terminal())
}

/// A loader diagnostic as an error: how a [`super::error::CliError`] says it.
pub fn error(diagnostic: &Diagnostic) {
    if rich() {
        eprintln!("{}", render(diagnostic, true));
    } else {
        eprintln!("error: {}", diagnostic.plain());
    }
}

/// `error: MESSAGE`. A failure that ends the command is a [`super::error::CliError`], said
/// once at the top; this is also for an error the command goes on after (a mark it could not
/// record, a container whose logs cannot be read), which leaves its exit status alone.
pub fn error_line(message: &str) {
    eprintln!("error: {message}");
}

pub fn warning(diagnostic: &Diagnostic) {
    eprintln!("warning: {}", diagnostic.plain());
}
