//! Watch mode: file changes are one more trigger of convergence. A change to a file the model
//! was read from loads the project again and converges on it (only what changed is replaced);
//! a change under a `develop.watch` rule's path syncs, rebuilds, restarts or execs, as the
//! rule says. Every trigger is a real change of content: bursts are debounced, and files are
//! hashed again before anything is done.
//!
//! The watcher decides when and what for; [`WatchTarget`] does the converging (the standalone
//! loop of `wharf watch`, or the supervisor), and syncs and execs go straight to the engine.

mod change;
mod debounce;
mod diff;
mod error;
mod files;
mod filter;
mod fingerprint;
mod retry;
mod sources;
mod sync;
mod target;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

pub use error::{SyncError, TargetError, WatchError};
pub use sources::SourceWatch;
pub use target::{Outcome, WatchTarget};

use self::change::{ServiceWork, SyncBatch};
use self::debounce::FileEvents;
use self::files::{Subscription, WatchSet};
use self::fingerprint::Fingerprints;
use self::retry::{FailedSync, Retries};
use crate::desired::Desired;
use crate::engine::{ContainerEngine, EngineError};
use crate::observe::{Observed, ObservedContainer};
use crate::spec::Project;
use crate::spec::model::WatchAction;

/// Loads the project again, as it was first loaded; `None` when it is not valid (the loader
/// has printed the diagnostic).
pub type Loader = Box<dyn Fn() -> Option<(Project, Desired)> + Send + Sync>;

pub struct Watcher {
    runtime: Arc<dyn ContainerEngine>,
    target: Arc<dyn WatchTarget>,
    load: Loader,
    desired: Desired,
    set: WatchSet,
    prints: Fingerprints,
    events: FileEvents,
    /// The directories last subscribed to.
    wanted: Vec<Subscription>,
    /// Files that changed while their directories were being subscribed to: handled before
    /// the next burst, as one of their own.
    missed: BTreeSet<PathBuf>,
    /// Syncs that failed, waiting to be tried again.
    retries: Retries,
}

/// One line of watch mode's output.
pub fn say(line: &str) {
    eprintln!("watch: {line}");
}

impl Watcher {
    /// A watcher for `project`, watching from now on: make it before converging on `desired`,
    /// so that a save made while the project converges is acted on once [`Watcher::run`]
    /// runs. `Err` when files cannot be watched at all.
    pub fn new(
        runtime: Arc<dyn ContainerEngine>,
        target: Arc<dyn WatchTarget>,
        project: &Project,
        desired: Desired,
        load: Loader,
    ) -> Result<Watcher, WatchError> {
        let mut watcher = Watcher {
            runtime,
            target,
            load,
            desired,
            set: WatchSet::of(project),
            prints: Fingerprints::default(),
            events: FileEvents::start()?,
            wanted: Vec::new(),
            missed: BTreeSet::new(),
            retries: Retries::default(),
        };
        watcher.follow();
        Ok(watcher)
    }

    /// Acts on changes until `shutdown` completes (an action under way is then abandoned; the
    /// next converge finishes it).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), WatchError> {
        tokio::pin!(shutdown);
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = self.initial_sync() => {}
        }
        say(&format!(
            "watching {} project files and {} develop.watch rules (Ctrl-C stops)",
            self.set.sources.len(),
            self.set.rules.len()
        ));
        loop {
            let (paths, problems) = match self.missed.is_empty() {
                false => (std::mem::take(&mut self.missed), Vec::new()),
                true => tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    burst = self.events.next() => burst.ok_or(WatchError::Stopped)?,
                    due = self.retries.due() => {
                        tokio::select! {
                            _ = &mut shutdown => return Ok(()),
                            _ = self.retry(due) => continue,
                        }
                    }
                },
            };
            problems.iter().for_each(|p| say(&p.to_string()));
            let reloaded = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                reloaded = self.handle(&paths) => reloaded,
            };
            match reloaded {
                true => self.follow(),
                false => self.renew(&paths),
            }
        }
    }

    /// Subscribes to the directories of the watched set, with the contents that later changes
    /// are compared with read before and again after (see [`Fingerprints::remember_around`]):
    /// a file saved in between is handled with the next burst.
    fn follow(&mut self) {
        let Watcher {
            set,
            prints,
            events,
            wanted,
            missed,
            ..
        } = self;
        *wanted = set.subscriptions();
        let changed = prints.remember_around(
            || watched_files(set),
            || {
                for problem in events.subscribe(wanted) {
                    say(&problem.to_string());
                }
            },
        );
        missed.extend(changed);
    }

    /// Subscribes again after a burst of `paths` that made a rule's directory (its parent was
    /// watched instead), or removed it (which ended its watch), or both (`rm -rf` and a copy,
    /// a checkout): a directory that the burst names is subscribed to anew. What is in those
    /// directories once they are subscribed to is handled next, as changed paths: a file saved
    /// there before has no event to come.
    fn renew(&mut self, paths: &BTreeSet<PathBuf>) {
        let wanted = self.set.subscriptions();
        let named: Vec<PathBuf> = wanted
            .iter()
            .map(|s| s.dir.clone())
            .chain(self.set.rules.iter().map(|r| r.root().to_path_buf()))
            .filter(|dir| paths.contains(dir))
            .collect();
        let fresh = wanted
            .iter()
            .filter(|s| !self.wanted.contains(s))
            .map(|s| s.dir.clone());
        let renewed: Vec<PathBuf> = fresh.chain(named.iter().cloned()).collect();
        if renewed.is_empty() {
            return;
        }
        self.events.forget(&named);
        for problem in self.events.subscribe(&wanted) {
            say(&problem.to_string());
        }
        self.wanted = wanted;
        self.missed.extend(renewed);
    }

    /// A burst of changed paths; whether the watched set changed (the model was reloaded).
    async fn handle(&mut self, paths: &BTreeSet<PathBuf>) -> bool {
        let burst = change::split(paths, &self.set);
        let sources = self
            .prints
            .changed(burst.sources.iter().map(PathBuf::as_path));
        let reloaded = !sources.is_empty() && self.reload(&sources).await;
        let candidates = self.rule_candidates(&burst.others);
        let changed = self.prints.changed(candidates.iter().map(PathBuf::as_path));
        for work in change::work(&self.set, &changed) {
            if let Some(failed) = self.apply(work).await {
                self.try_again(failed);
            }
        }
        reloaded
    }

    /// Syncs that failed before, tried once more.
    async fn retry(&mut self, due: Vec<FailedSync>) {
        for mut failed in due {
            failed.attempts += 1;
            let attempt = format!("{} (attempt {})", failed.subject, failed.attempts);
            if !self.sync(&attempt, &failed.service, &failed.batches).await {
                self.try_again(failed);
            }
        }
    }

    fn try_again(&mut self, failed: FailedSync) {
        let subject = failed.subject.clone();
        match self.retries.add(failed) {
            true => say(&format!(
                "{subject}: trying the sync again in {:?}",
                retry::DELAY
            )),
            false => say(&format!(
                "{subject}: not synced after {} attempts; the next save of these files syncs them",
                retry::ATTEMPTS
            )),
        }
    }

    /// The files of a burst that some rule may act on: a directory stands for the files under
    /// it (a directory copied in arrives as one event), a path that is gone for itself.
    fn rule_candidates(&self, paths: &[PathBuf]) -> BTreeSet<PathBuf> {
        let mut candidates = BTreeSet::new();
        for path in paths {
            for rule in &self.set.rules {
                if !path.starts_with(rule.root()) {
                    continue;
                }
                match path.is_dir() {
                    true => candidates.extend(rule.files_under(path)),
                    false if rule.filter.admits(path) => {
                        candidates.insert(path.clone());
                    }
                    false => {}
                }
            }
        }
        candidates
    }

    /// The model's files changed: load, say what differs, converge. An invalid project
    /// changes nothing. Whether the project was reloaded.
    async fn reload(&mut self, changed: &[PathBuf]) -> bool {
        say(&format!("{} changed: loading the project", names(changed)));
        let Some((project, desired)) = (self.load)() else {
            say("the project is not valid: nothing was changed (the next valid save converges)");
            return false;
        };
        let diffs = diff::services(&self.desired, &desired);
        if diffs.is_empty() {
            say("no service changed");
        }
        for diff in &diffs {
            say(&diff.to_string());
        }
        tracing::info!(target: "wharf::watch", "converging on the reloaded project");
        match self.target.converge(&desired).await {
            Ok(()) => say("converged"),
            Err(message) => say(&format!("converging failed: {message}")),
        }
        self.desired = desired;
        self.set = WatchSet::of(&project);
        true
    }

    /// One service's work for the files that changed; the sync, when it failed.
    async fn apply(&self, work: ServiceWork) -> Option<FailedSync> {
        let service = &work.service;
        let files: Vec<PathBuf> = work.files.iter().cloned().collect();
        let subject = format!("{service}: {} changed", names(&files));
        if work.rebuild {
            say(&format!("{subject}: rebuilding"));
            let outcome = self.target.rebuild(&self.desired, service).await;
            report(service, "rebuilt", outcome);
            return None;
        }
        let synced = work.syncs.is_empty() || self.sync(&subject, service, &work.syncs).await;
        if work.restart {
            let outcome = self.target.restart(&self.desired, service).await;
            report(service, "restarted", outcome);
        }
        for exec in &work.execs {
            self.exec(service, exec).await;
        }
        let failed = FailedSync {
            subject,
            service: work.service,
            batches: work.syncs,
            attempts: 1,
        };
        (!synced).then_some(failed)
    }

    /// Whether the files reached every running replica.
    async fn sync(&self, subject: &str, service: &str, batches: &[SyncBatch]) -> bool {
        let replicas = match self.running_replicas(service).await {
            Ok(replicas) => replicas,
            Err(message) => {
                say(&format!("{subject}: cannot sync: {message}"));
                return false;
            }
        };
        match sync::sync(self.runtime.as_ref(), &replicas, batches).await {
            Ok(synced) => {
                say(&format!(
                    "{subject}: synced ({} copied, {} deleted) into {} replicas",
                    synced.copied, synced.deleted, synced.replicas
                ));
                true
            }
            Err(message) => {
                say(&format!("{subject}: sync failed: {message}"));
                false
            }
        }
    }

    async fn exec(&self, service: &str, exec: &crate::engine::ExecRequest) {
        let replicas = match self.running_replicas(service).await {
            Ok(replicas) => replicas,
            Err(message) => return say(&format!("{service}: cannot exec: {message}")),
        };
        let command = exec.command.join(" ");
        for replica in replicas {
            match self.runtime.exec(&replica.id, exec).await {
                Ok(output) if output.exit_code == Some(0) => {
                    say(&format!("{}: ran `{command}`", replica.name))
                }
                Ok(output) => say(&format!(
                    "{}: `{command}` exited with {:?}: {}",
                    replica.name,
                    output.exit_code,
                    output.output.trim()
                )),
                Err(e) => say(&format!("{}: cannot run `{command}`: {e}", replica.name)),
            }
        }
    }

    /// `initial_sync` rules copy everything they cover once, before watching.
    async fn initial_sync(&self) {
        for rule in &self.set.rules {
            let syncs = matches!(
                rule.rule.action,
                WatchAction::Sync | WatchAction::SyncRestart | WatchAction::SyncExec
            );
            let Some(target) = rule
                .rule
                .target
                .as_ref()
                .filter(|_| syncs && rule.rule.initial_sync)
            else {
                continue;
            };
            let batch = SyncBatch {
                root: rule.root().to_path_buf(),
                target: target.clone(),
                files: rule.files_under(rule.root()),
            };
            let subject = format!("{}: initial sync of {}", rule.service, rule.rule.path);
            self.sync(&subject, &rule.service, &[batch]).await;
        }
    }

    async fn running_replicas(&self, service: &str) -> Result<Vec<ObservedContainer>, EngineError> {
        let project = &self.desired.project;
        let containers = self.runtime.containers(project).await?;
        let mut observed = Observed::from_containers(project, containers);
        let replicas = observed.services.swap_remove(service).unwrap_or_default();
        Ok(replicas.into_iter().filter(|c| c.is_up()).collect())
    }
}

/// The source files and every file a rule acts on, as they are now.
fn watched_files(set: &WatchSet) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = set.sources.iter().cloned().collect();
    for rule in &set.rules {
        files.extend(rule.files_under(rule.root()));
    }
    files
}

fn report(service: &str, done: &str, outcome: Outcome) {
    match outcome {
        Ok(()) => say(&format!("{service}: {done}")),
        Err(message) => say(&format!("{service}: failed: {message}")),
    }
}

/// `compose.yaml, .env` or `4 files`, for messages.
fn names(files: &[PathBuf]) -> String {
    match files {
        [] => "nothing".to_string(),
        [_, _, _, _, ..] => format!("{} files", files.len()),
        _ => files
            .iter()
            .map(|f| f.file_name().unwrap_or(f.as_os_str()).to_string_lossy())
            .collect::<Vec<_>>()
            .join(", "),
    }
}
