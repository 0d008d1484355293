//! File events, debounced: notify-debouncer-full holds each path's events until it has been
//! quiet for [`QUIET`], so an editor's save (a temporary file, a write, a rename) or a
//! `git checkout` arrives as one burst of paths. Bursts that are already waiting when one is
//! taken are merged into it, so a slow plan is followed by one plan, not one per burst.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache, new_debouncer,
    notify::RecommendedWatcher,
};
use tokio::sync::mpsc;

use super::error::WatchError;
use super::files::Subscription;

/// How long a path must be quiet before its events are delivered.
pub const QUIET: Duration = Duration::from_millis(300);
/// How often the debouncer looks for quiet paths: the most a delivery lags behind [`QUIET`].
const TICK: Duration = Duration::from_millis(25);

/// The directories subscribed to, and the bursts of changed paths under them.
pub struct FileEvents {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    subscribed: Vec<Subscription>,
    bursts: mpsc::UnboundedReceiver<DebounceEventResult>,
}

impl FileEvents {
    pub fn start() -> Result<FileEvents, WatchError> {
        let (sender, bursts) = mpsc::unbounded_channel();
        let handler = move |result: DebounceEventResult| {
            // The receiver is gone only when watching has ended.
            let _ = sender.send(result);
        };
        let debouncer = new_debouncer(QUIET, Some(TICK), handler).map_err(WatchError::Start)?;
        Ok(FileEvents {
            debouncer,
            subscribed: Vec::new(),
            bursts,
        })
    }

    /// Subscribes to `wanted` and unsubscribes from what is no longer wanted. A directory that
    /// cannot be watched (it does not exist) is reported and skipped.
    pub fn subscribe(&mut self, wanted: &[Subscription]) -> Vec<WatchError> {
        let mut problems = Vec::new();
        for old in &self.subscribed {
            if !wanted.contains(old) {
                // It may be gone already (a deleted directory): nothing left to undo.
                let _ = self.debouncer.unwatch(&old.dir);
            }
        }
        let mut subscribed = Vec::new();
        for new in wanted {
            let mode = match new.recursive {
                true => RecursiveMode::Recursive,
                false => RecursiveMode::NonRecursive,
            };
            if self.subscribed.contains(new) {
                subscribed.push(new.clone());
                continue;
            }
            match self.debouncer.watch(&new.dir, mode) {
                Ok(()) => subscribed.push(new.clone()),
                Err(source) => problems.push(WatchError::Subscribe {
                    dir: new.dir.clone(),
                    source,
                }),
            }
        }
        self.subscribed = subscribed;
        problems
    }

    /// The next burst of changed paths, with any bursts already waiting merged in; errors of the
    /// watcher are returned beside it. `None` when the watcher has stopped.
    pub async fn next(&mut self) -> Option<(BTreeSet<PathBuf>, Vec<WatchError>)> {
        let mut paths = BTreeSet::new();
        let mut problems = Vec::new();
        let mut take = |result: DebounceEventResult| match result {
            Ok(events) => paths.extend(changed_paths(&events)),
            Err(errors) => problems.extend(errors.into_iter().map(WatchError::from)),
        };
        take(self.bursts.recv().await?);
        while let Ok(result) = self.bursts.try_recv() {
            take(result);
        }
        Some((paths, problems))
    }
}

/// The paths that may have changed content: creations, writes, removals and both ends of a
/// rename. Reads are left out: wharf reads the files itself (to hash and to sync them), and
/// its own reads must not trigger anything.
fn changed_paths(events: &[DebouncedEvent]) -> BTreeSet<PathBuf> {
    events
        .iter()
        .filter(|event| match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) => false,
            _ => true,
        })
        .flat_map(|event| event.paths.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use notify_debouncer_full::notify::Event;
    use notify_debouncer_full::notify::event::{CreateKind, ModifyKind, RemoveKind, RenameMode};

    use super::*;

    fn event(kind: EventKind, paths: &[&str]) -> DebouncedEvent {
        let mut event = Event::new(kind);
        for path in paths {
            event = event.add_path(PathBuf::from(path));
        }
        DebouncedEvent::new(event, Instant::now())
    }

    #[test]
    fn a_save_by_rename_gives_both_paths_once_and_reads_give_none() {
        let events = [
            event(
                EventKind::Create(CreateKind::File),
                &["/p/.compose.yaml.swp"],
            ),
            event(
                EventKind::Access(AccessKind::Open(AccessMode::Any)),
                &["/p/other.txt"],
            ),
            event(
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                &["/p/other.txt"],
            ),
            event(
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
                &["/p/compose.yaml.tmp", "/p/compose.yaml"],
            ),
            event(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                &["/p/compose.yaml"],
            ),
            event(
                EventKind::Remove(RemoveKind::File),
                &["/p/.compose.yaml.swp"],
            ),
        ];
        let paths: Vec<_> = changed_paths(&events).into_iter().collect();
        assert_eq!(
            paths,
            [
                "/p/.compose.yaml.swp",
                "/p/compose.yaml",
                "/p/compose.yaml.tmp"
            ]
            .map(PathBuf::from)
            .to_vec()
        );
    }
}
