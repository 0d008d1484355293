//! Progress of a plan being executed: one line per finished operation (`outcome::line`); on a
//! terminal, a running count on the last line.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use crate::execute::Event;
use crate::outcome;
use crate::plan::Operation;

pub struct Progress {
    tty: bool,
    /// How many lines the plan will print; 0 when it is not known (a detached supervisor runs
    /// the plan).
    total: usize,
    state: Mutex<(usize, Instant)>,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            total,
            state: Mutex::new((0, Instant::now())),
        }
    }

    pub fn report(&self, op: &Operation, event: &Event) {
        if let Some(line) = outcome::line(op, event) {
            self.print(&line);
        }
    }

    /// Prints a finished operation's line, counting it towards the total.
    pub fn print(&self, line: &str) {
        let mut state = self.state.lock().expect("progress lock");
        state.0 += 1;
        let mut err = std::io::stderr().lock();
        if self.tty {
            let elapsed = state.1.elapsed().as_secs_f64();
            let count = match self.total {
                0 => state.0.to_string(),
                total => format!("{}/{total}", state.0),
            };
            let _ = write!(err, "\r\x1b[2K{line}\n[+] {count} {elapsed:.1}s");
            if state.0 == self.total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
    }

    /// Ends the running count's line when the total was not known in advance.
    pub fn finish(&self) {
        let state = self.state.lock().expect("progress lock");
        if self.tty && self.total == 0 && state.0 > 0 {
            eprintln!();
        }
    }
}
