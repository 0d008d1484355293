//! Progress of a plan being executed: one line per finished operation (`outcome::line`); on a
//! terminal, a running count on the last line.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use crate::converge::Reporter;
use crate::execute::Event;
use crate::outcome;
use crate::plan::{EngineCall, Operation};
use crate::supervisor::control::Reply;

/// `--progress`: how executed operations are reported on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// `tty` on a terminal, else `plain`.
    #[default]
    Auto,
    /// Lines with a running count on the last line.
    Tty,
    /// Lines only.
    Plain,
    /// One JSON object per line: `{"id":"Container shop-web-1","status":"Started"}`.
    Json,
    /// Nothing (errors are still printed).
    Quiet,
}

static MODE: std::sync::OnceLock<Mode> = std::sync::OnceLock::new();

/// Set once, from `--progress` (or `COMPOSE_PROGRESS`, or `build -q`), before any output.
pub fn set_mode(mode: Mode) {
    let _ = MODE.set(mode);
}

fn mode() -> Mode {
    MODE.get().copied().unwrap_or_default()
}

/// An operation's line as compose's JSON progress writes it: ` ✔ Container x  Started` is
/// `{"id":"Container x","status":"Started"}`.
fn json_line(line: &str) -> String {
    let text = unmarked(line);
    let (id, status) = text.split_once("  ").unwrap_or((text, ""));
    serde_json::json!({ "id": id, "status": status }).to_string()
}

/// An operation's line without its leading mark (`✔`, `✘`, `-`, `!`).
fn unmarked(line: &str) -> &str {
    let text = line.trim_start();
    ["✔ ", "✘ ", "- ", "! "]
        .iter()
        .find_map(|mark| text.strip_prefix(mark))
        .unwrap_or(text)
}

pub struct Progress {
    tty: bool,
    mode: Mode,
    /// How many lines the plan will print; 0 when it is not known (a detached supervisor runs
    /// the plan).
    total: usize,
    state: Mutex<(usize, Instant)>,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        let mode = mode();
        Progress {
            tty: match mode {
                Mode::Auto => std::io::stderr().is_terminal(),
                Mode::Tty => true,
                Mode::Plain | Mode::Json | Mode::Quiet => false,
            },
            mode,
            total,
            state: Mutex::new((0, Instant::now())),
        }
    }

    /// Prints a finished operation's line, counting it towards the total.
    pub fn print(&self, line: &str) {
        let mut state = self.state.lock().expect("progress lock");
        state.0 += 1;
        if self.mode == Mode::Quiet {
            return;
        }
        // `COMPOSE_STATUS_STDOUT`: progress on standard output instead.
        let mut err: Box<dyn Write> = match super::env_flag("COMPOSE_STATUS_STDOUT") {
            true => Box::new(std::io::stdout().lock()),
            false => Box::new(std::io::stderr().lock()),
        };
        if self.mode == Mode::Json {
            let _ = writeln!(err, "{}", json_line(line));
        } else if self.mode == Mode::Plain {
            // compose's plain lines have no marks: ` Container shop-web-1  Started`.
            let _ = writeln!(err, " {}", unmarked(line));
        } else if self.tty {
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

    /// Ends the running count's line when the plan printed fewer lines than it had
    /// operations (a wait that printed nothing) or the total was not known.
    pub fn finish(&self) {
        let state = self.state.lock().expect("progress lock");
        if self.tty && state.0 > 0 && state.0 != self.total {
            eprintln!();
        }
    }
}

/// The progress of the plans a supervisor runs for `up`, in this process or over its control
/// socket: each plan gets its own count.
#[derive(Default)]
pub struct ProgressSink {
    current: Mutex<Option<Progress>>,
    /// What hooks printed, by container name, in the order they ended: for an attached `up`
    /// to show among the logs.
    hook_output: Mutex<Vec<(String, String)>>,
}

impl ProgressSink {
    /// What the hooks printed since the last call, by container name.
    pub fn take_hook_output(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.hook_output.lock().expect("hook output lock"))
    }

    fn begin(&self, operations: usize) {
        let mut current = self.current.lock().expect("progress lock");
        if let Some(previous) = current.take() {
            previous.finish();
        }
        *current = Some(Progress::new(operations));
    }

    fn line(&self, line: &str) {
        let mut current = self.current.lock().expect("progress lock");
        current.get_or_insert_with(|| Progress::new(0)).print(line);
    }

    /// One reply of a detached supervisor.
    pub fn reply(&self, reply: Reply) {
        match reply {
            Reply::Plan { operations } => self.begin(operations),
            Reply::Line(line) => self.line(&line),
            Reply::Warning(text) => eprintln!("warning: {text}"),
            Reply::Done { .. } => {}
        }
    }

    pub fn finish(&self) {
        if let Some(progress) = self.current.lock().expect("progress lock").take() {
            progress.finish();
        }
    }
}

impl Reporter for ProgressSink {
    fn plan(&self, operations: usize) {
        self.begin(operations);
    }

    fn warning(&self, text: &str) {
        eprintln!("warning: {text}");
    }

    fn event(&self, op: &Operation, event: &Event) {
        if let (Event::Output(_, text), Some(EngineCall::RunHook { container, .. })) =
            (event, op.action.engine_call())
        {
            let mut hook_output = self.hook_output.lock().expect("hook output lock");
            hook_output.push((container.name.clone(), text.clone()));
        }
        if let Some(line) = outcome::line(op, event) {
            self.line(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::json_line;

    #[test]
    fn json_progress_is_composes() {
        assert_eq!(
            json_line(" ✔ Container shop-web-1  Started"),
            r#"{"id":"Container shop-web-1","status":"Started"}"#
        );
        assert_eq!(
            json_line(" ✘ Image x  Error: no such image"),
            r#"{"id":"Image x","status":"Error: no such image"}"#
        );
    }
}
