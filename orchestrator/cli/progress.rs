//! Progress of a plan being executed: one line per finished operation, as compose prints them
//! (` ✔ Container shop-web-1  Started`); on a terminal, a running count on the last line.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use crate::execute::Event;
use crate::plan::{Action, Operation};

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
        let (subject, done_word) = describe(&op.action);
        let line = match event {
            Event::Started(_) => return,
            Event::Succeeded(_) => format!(" ✔ {subject}  {done_word}"),
            Event::Failed(_, message) => format!(" ✘ {subject}  Error: {message}"),
            Event::Skipped(_) => format!(" - {subject}  Skipped"),
            Event::Warning(_, message) => format!(" ! {subject}  {message}"),
        };
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

/// `("Container shop-web-1", "Started")`.
fn describe(action: &Action) -> (String, &'static str) {
    match action {
        Action::CreateNetwork(n) => (format!("Network {}", n.name), "Created"),
        Action::RemoveNetwork { name } => (format!("Network {name}"), "Removed"),
        Action::CreateVolume(v) => (format!("Volume {}", v.name), "Created"),
        Action::RemoveVolume { name } => (format!("Volume {name}"), "Removed"),
        Action::PullImage { image, .. } => (format!("Image {image}"), "Pulled"),
        Action::BuildImage { image, .. } => (format!("Image {image}"), "Built"),
        Action::CreateContainer { name, .. } => (format!("Container {name}"), "Created"),
        Action::StartContainer { container, .. } => {
            (format!("Container {}", container.name), "Started")
        }
        Action::StopContainer { container, .. } => {
            (format!("Container {}", container.name), "Stopped")
        }
        Action::RemoveContainer { container, .. } => {
            (format!("Container {}", container.name), "Removed")
        }
        Action::RenameContainer { to, .. } => (format!("Container {to}"), "Recreated"),
        Action::WaitFor { service, .. } => (format!("Service {service}"), "Ready"),
        other => (other.to_string(), "Done"),
    }
}
