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
            let _ = write!(
                err,
                "\r\x1b[2K{line}\n[+] {}/{} {elapsed:.1}s",
                state.0, self.total
            );
            if state.0 == self.total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}
