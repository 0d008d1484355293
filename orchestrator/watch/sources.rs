//! The files a project's model is read from, watched on their own: for a target where
//! `develop.watch` rules do not apply (the swarm target, whose tasks run on other nodes), a
//! change to one of them is all there is to act on. The same debounced events and the same
//! content check as the full [`Watcher`](super::Watcher).

use std::path::PathBuf;

use super::debounce::FileEvents;
use super::error::WatchError;
use super::files::WatchSet;
use super::fingerprint::Fingerprints;
use crate::spec::Project;

pub struct SourceWatch {
    events: FileEvents,
    set: WatchSet,
    prints: Fingerprints,
    /// Source files that changed while their directories were being subscribed to.
    missed: Vec<PathBuf>,
}

impl SourceWatch {
    /// Watches `project`'s source files from now on: a later change of content is reported.
    pub fn start(project: &Project) -> Result<SourceWatch, WatchError> {
        let mut watch = SourceWatch {
            events: FileEvents::start()?,
            set: WatchSet::default(),
            prints: Fingerprints::default(),
            missed: Vec::new(),
        };
        let problems = watch.follow(project);
        match problems.into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(watch),
        }
    }

    /// Follows the source files of `project` (loaded again: an `include` or `env_file` may have
    /// come or gone); the directories that could not be watched.
    pub fn follow(&mut self, project: &Project) -> Vec<WatchError> {
        self.set = WatchSet::of(project).sources_only();
        // Read before and after subscribing, so that no change falls in between.
        let (events, set) = (&mut self.events, &self.set);
        let mut problems = Vec::new();
        let missed = self.prints.remember_around(
            || set.sources.iter().cloned().collect(),
            || problems = events.subscribe(&set.subscriptions()),
        );
        self.missed.extend(missed);
        problems
    }

    /// The source files whose content changed, once some did; the watcher's errors beside
    /// them. `Err` when the watcher has stopped.
    pub async fn next_change(&mut self) -> Result<(Vec<PathBuf>, Vec<WatchError>), WatchError> {
        loop {
            let (paths, problems) = match self.missed.is_empty() {
                false => (
                    std::mem::take(&mut self.missed).into_iter().collect(),
                    Vec::new(),
                ),
                true => self.events.next().await.ok_or(WatchError::Stopped)?,
            };
            let sources = paths.iter().filter(|p| self.set.sources.contains(*p));
            let changed = self.prints.changed(sources.map(PathBuf::as_path));
            if !changed.is_empty() || !problems.is_empty() {
                return Ok((changed, problems));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::spec::{LoadOptions, load};

    fn project(dir: &std::path::Path) -> Project {
        load(&LoadOptions {
            cwd: dir.to_path_buf(),
            project_name: Some("demo".into()),
            ..LoadOptions::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_change_of_a_source_files_content_is_reported_and_a_touch_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, "services:\n  web:\n    image: a\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let mut watch = SourceWatch::start(&project(dir.path())).unwrap();

        // Same bytes again, and a file the model is not read from: nothing to report.
        std::fs::write(&file, "services:\n  web:\n    image: a\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "y").unwrap();
        let quiet = tokio::time::timeout(Duration::from_secs(1), watch.next_change()).await;
        assert!(quiet.is_err(), "nothing changed: {quiet:?}");

        std::fs::write(&file, "services:\n  web:\n    image: b\n").unwrap();
        let (changed, problems) = tokio::time::timeout(Duration::from_secs(5), watch.next_change())
            .await
            .expect("the change is reported within 5 s")
            .unwrap();
        assert_eq!(changed, vec![file]);
        assert!(problems.is_empty(), "{problems:?}");
    }
}
