//! Where a plan's progress goes: the supervisor's log, or the `up` that asked for the plan.

use tokio::sync::mpsc;

use super::control::Reply;
use crate::converge::Reporter;
use crate::execute::Event;
use crate::outcome;
use crate::plan::Operation;

/// The supervisor's own plans: what went wrong goes to its log (the user's to read, as the
/// lines of an `up`), as `tracing` events.
pub struct Log;

impl Reporter for Log {
    fn plan(&self, _: usize) {}

    fn warning(&self, text: &str) {
        tracing::warn!("{text}");
    }

    fn event(&self, op: &Operation, event: &Event) {
        if let Event::Failed(_, message) = event {
            tracing::error!("{}: {message}", op.action);
        }
    }
}

/// A request's plans: every line goes back over the control socket.
pub struct Replies<'a>(pub &'a mpsc::UnboundedSender<Reply>);

impl Reporter for Replies<'_> {
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
