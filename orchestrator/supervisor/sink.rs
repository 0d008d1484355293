//! Where a plan's progress goes: the supervisor's log, or the `up` that asked for the plan.

use tokio::sync::mpsc;

use super::control::Reply;
use crate::execute::Event;
use crate::outcome;
use crate::plan::Operation;

pub trait Sink: Sync {
    /// A plan of this many operations is about to run.
    fn plan(&self, operations: usize);
    fn warning(&self, text: &str);
    fn event(&self, op: &Operation, event: &Event);
}

/// The supervisor's own plans: what went wrong goes to its log (the user's to read, as the
/// lines of an `up`).
pub struct Log;

impl Sink for Log {
    fn plan(&self, _: usize) {}

    fn warning(&self, text: &str) {
        eprintln!("supervisor: warning: {text}");
    }

    fn event(&self, op: &Operation, event: &Event) {
        if let Event::Failed(_, message) = event {
            eprintln!("supervisor: {}: {message}", op.action);
        }
    }
}

/// A request's plans: every line goes back over the control socket.
pub struct Replies<'a>(pub &'a mpsc::UnboundedSender<Reply>);

impl Sink for Replies<'_> {
    fn plan(&self, operations: usize) {
        let _ = self.0.send(Reply::Plan { operations });
    }

    fn warning(&self, text: &str) {
        let _ = self.0.send(Reply::Warning(text.to_string()));
    }

    fn event(&self, op: &Operation, event: &Event) {
        if let Some(line) = outcome::line(op, event) {
            let _ = self.0.send(Reply::Line(line));
        }
    }
}
