//! File events, debounced: notify-debouncer-full holds each event for [`QUIET`] (events of one
//! path that came together are delivered together, a rename's with the new path's), so an
//! editor's save (a temporary file, a write, a rename) or a `git checkout` arrives as one
//! burst of paths; a path written again later than that comes again in a burst of its own.
//! Every event is delivered after what caused it: the contents read then are the saved ones.
//! Bursts that are already waiting when one is taken are merged into it, so a slow plan is
//! followed by one plan, not one per burst.

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

    /// Ends the subscriptions to `dirs` (a directory removed, or made again: the removal ended
    /// its watch), so that the next [`FileEvents::subscribe`] makes them again.
    pub fn forget(&mut self, dirs: &[PathBuf]) {
        for dir in dirs {
            // Its watch may be gone with it already.
            let _ = self.debouncer.unwatch(dir);
        }
        self.subscribed.retain(|s| !dirs.contains(&s.dir));
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
    use std::path::Path;
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

    /// Every way of saving gives a burst that names the file, delivered once the save is
    /// complete (so that the file read then has the saved content), within [`QUIET`] and a
    /// tick or two: a rename over the file, a write in place, a slow write in two parts
    /// further apart than [`QUIET`], a file in a directory made just before, and a save
    /// back to an earlier content.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_kind_of_save_gives_a_burst_naming_the_file_once_it_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let file = root.join("index.html");
        std::fs::write(&file, "v0").unwrap();
        let mut events = FileEvents::start().unwrap();
        let subscription = Subscription {
            dir: root.clone(),
            recursive: true,
        };
        assert!(events.subscribe(&[subscription]).is_empty());
        // Waits for the burst naming `path` with `content` in it (an earlier burst may name
        // it with a part of a slow save), which must come within `limit`.
        async fn burst_naming(
            events: &mut FileEvents,
            path: &Path,
            content: &str,
            limit: Duration,
        ) {
            let started = Instant::now();
            loop {
                let burst = tokio::time::timeout(Duration::from_secs(2), events.next()).await;
                let (paths, problems) = burst.expect("a burst within 2 s").unwrap();
                assert!(problems.is_empty(), "{problems:?}");
                if paths.contains(path) && std::fs::read_to_string(path).unwrap() == content {
                    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
                    return;
                }
            }
        }
        let soon = QUIET * 2;
        let rounds: usize = std::env::var("WHARF_WATCH_SAVE_ROUNDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2);
        for round in 0..rounds {
            let text = |what: &str| format!("{what} {round}");
            let temporary = root.join("index.html.part");
            std::fs::write(&temporary, text("renamed")).unwrap();
            std::fs::rename(&temporary, &file).unwrap();
            burst_naming(&mut events, &file, &text("renamed"), soon).await;

            std::fs::write(&file, text("in place")).unwrap();
            burst_naming(&mut events, &file, &text("in place"), soon).await;

            // Written in two parts further apart than QUIET, while bursts are taken.
            let slow = file.clone();
            let second = text("write");
            let writer = std::thread::spawn(move || {
                use std::io::Write;
                let mut open = std::fs::File::create(&slow).unwrap();
                open.write_all(b"slow ").unwrap();
                std::thread::sleep(QUIET + TICK * 2);
                open.write_all(second.as_bytes()).unwrap();
            });
            let whole = format!("slow {}", text("write"));
            burst_naming(&mut events, &file, &whole, soon + QUIET + TICK * 2).await;
            writer.join().unwrap();

            let nested = root.join(format!("new-{round}/deeper/page.html"));
            std::fs::create_dir_all(nested.parent().unwrap()).unwrap();
            std::fs::write(&nested, text("nested")).unwrap();
            let created = root.join(format!("new-{round}"));
            let saved = Instant::now();
            // The new directory, or the file itself once its directory is watched (a burst of
            // reads alone may come first: it names nothing).
            loop {
                let burst = tokio::time::timeout(Duration::from_secs(2), events.next()).await;
                let (paths, _) = burst.expect("a burst within 2 s").unwrap();
                if paths.contains(&created) || paths.contains(&nested) {
                    break;
                }
            }
            assert!(saved.elapsed() < soon, "{:?}", saved.elapsed());

            std::fs::write(&file, "A").unwrap();
            burst_naming(&mut events, &file, "A", soon).await;
            std::fs::write(&file, "B").unwrap();
            std::fs::write(&file, "A").unwrap();
            burst_naming(&mut events, &file, "A", soon).await;
        }
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
