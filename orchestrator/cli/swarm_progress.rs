//! What `up` on a swarm prints while it runs its plan and waits: compose's lines
//! (` ✔ Service shop_web  Updated`), a wait's (` - Service shop_db  Waiting`, then how far it
//! is, then ` ✔ Service shop_db  Healthy`), and each changed service's count of running tasks
//! while the stack converges (` - Service web  Running 2/3`). Printed through the local
//! target's `progress::Progress`: a running count on a terminal, plain lines otherwise.

use std::collections::HashMap;
use std::sync::Mutex;

use super::progress::Progress;
use crate::backend::swarm::Step;
use crate::backend::swarm::condition::Condition;
use crate::backend::swarm::converged::Count;
use crate::backend::swarm::files::FileKind;
use crate::backend::swarm::plan::SwarmOperation;

pub struct SwarmProgress {
    progress: Progress,
    /// The last count printed, by service: a line is printed when it changes.
    counts: Mutex<HashMap<String, (usize, usize)>>,
}

impl SwarmProgress {
    pub fn new() -> SwarmProgress {
        SwarmProgress {
            progress: Progress::new(0),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// An operation's step, as a line (none for the start of a call, nor its failure, which
    /// the error tells).
    pub fn step(&self, operation: &SwarmOperation, step: Step<'_>) {
        let line = match (operation, step) {
            (SwarmOperation::Wait { service, .. }, Step::Begun) => {
                format!(" - Service {service}  Waiting")
            }
            (SwarmOperation::Wait { service, .. }, Step::Pending(where_it_is)) => {
                format!(" - Service {service}  Waiting: {where_it_is}")
            }
            (_, Step::Ended(Ok(()))) => done(operation),
            _ => return,
        };
        self.progress.print(&line);
    }

    /// The services' counts of running tasks, each printed when it changed.
    pub fn counts(&self, counts: &[Count]) {
        let mut printed = self.counts.lock().expect("progress lock");
        for count in counts {
            let now = (count.running, count.target);
            if printed.insert(count.service.clone(), now) == Some(now) {
                continue;
            }
            let mark = match count.converged {
                true => '\u{2714}',
                false => '-',
            };
            let (service, running, target) = (&count.service, count.running, count.target);
            self.progress.print(&format!(
                " {mark} Service {service}  Running {running}/{target}"
            ));
        }
    }

    /// A line of its own (the stack converged, a rollback began).
    pub fn line(&self, line: &str) {
        self.progress.print(line);
    }

    pub fn finish(&self) {
        self.progress.finish();
    }
}

/// Compose's words for an operation that ended well.
fn done(operation: &SwarmOperation) -> String {
    let (kind, name, what) = match operation {
        SwarmOperation::CreateNetwork(n) => ("Network", n.name.as_str(), "Created"),
        SwarmOperation::CreateService(s) => ("Service", name(s), "Created"),
        SwarmOperation::UpdateService { spec, .. } => ("Service", name(spec), "Updated"),
        SwarmOperation::ReplaceService { spec, .. } => ("Service", name(spec), "Recreated"),
        SwarmOperation::RemoveService { name, .. } => ("Service", name.as_str(), "Removed"),
        SwarmOperation::RemoveNetwork { name, .. } => ("Network", name.as_str(), "Removed"),
        SwarmOperation::CreateFile(file) => (file_kind(file.kind), file.name.as_str(), "Created"),
        SwarmOperation::RemoveFile { kind, name, .. } => {
            (file_kind(*kind), name.as_str(), "Removed")
        }
        SwarmOperation::Wait {
            service, condition, ..
        } => ("Service", service.as_str(), met(*condition)),
        SwarmOperation::RollBackService { name } => ("Service", name.as_str(), "Rolled back"),
        SwarmOperation::RemoveVolume { name } => ("Volume", name.as_str(), "Removed"),
    };
    format!(" \u{2714} {kind} {name}  {what}")
}

/// The word for a condition a wait saw met.
fn met(condition: Condition) -> &'static str {
    match condition {
        Condition::Started => "Started",
        Condition::Healthy => "Healthy",
        Condition::CompletedSuccessfully => "Completed",
    }
}

fn file_kind(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Secret => "Secret",
        FileKind::Config => "Config",
    }
}

fn name(spec: &bollard::models::ServiceSpec) -> &str {
    spec.name.as_deref().unwrap_or_default()
}
