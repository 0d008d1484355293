//! How wharf speaks on the terminal: rich diagnostics on a TTY, stable plain lines otherwise.

use std::io::IsTerminal;

use crate::spec::Diagnostic;
use crate::spec::diagnostic::render;

fn rich() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

pub fn error(diagnostic: &Diagnostic) {
    if rich() {
        eprintln!("{}", render(diagnostic, true));
    } else {
        eprintln!("error: {}", diagnostic.plain());
    }
}

pub fn error_line(message: &str) {
    eprintln!("error: {message}");
}

pub fn warning(diagnostic: &Diagnostic) {
    eprintln!("warning: {}", diagnostic.plain());
}
