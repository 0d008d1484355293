//! The content of every watched file as last seen, so that an event is acted on only when a
//! file's content really changed: a `touch`, a save without edits, or the engine reading a
//! file for a sync gives events but changes nothing, and must do nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// sha256 of a file's bytes; `None` when it does not exist (or is not a readable file).
type Content = Option<[u8; 32]>;

#[derive(Debug, Default)]
pub struct Fingerprints {
    seen: BTreeMap<PathBuf, Content>,
}

impl Fingerprints {
    /// Reads `paths` again and returns those whose content differs from when they were last
    /// seen; a path never seen before counts as changed unless it still does not exist.
    /// A directory that is gone, with files seen under it, counts as changed once (its files
    /// are then gone too).
    pub fn changed<'a>(&mut self, paths: impl IntoIterator<Item = &'a Path>) -> Vec<PathBuf> {
        paths
            .into_iter()
            .filter(|path| {
                let now = content(path);
                let before = self.seen.insert(path.to_path_buf(), now);
                before.unwrap_or(None) != now || (now.is_none() && self.forget_under(path))
            })
            .map(Path::to_path_buf)
            .collect()
    }

    /// Records the current content of the paths not seen yet, reporting nothing: the state
    /// that later changes are compared with. Paths already seen keep their content, so that a
    /// change not yet handled is not lost.
    pub fn remember<'a>(&mut self, paths: impl IntoIterator<Item = &'a Path>) {
        for path in paths {
            if !self.seen.contains_key(path) {
                self.seen.insert(path.to_path_buf(), content(path));
            }
        }
    }

    /// Reads the files `list` gives and remembers those not seen yet, runs `subscribe`, then
    /// lists and reads them again: the files whose content differs from the one remembered
    /// (or that appeared or went), which are left as remembered, so that they count as
    /// changed when they are handled. No change can fall in between: one made before the
    /// subscription has no event to come, and its event, if it came, would find it remembered
    /// already; the second reading finds it. One made after has its event.
    pub fn remember_around(
        &mut self,
        list: impl Fn() -> Vec<PathBuf>,
        subscribe: impl FnOnce(),
    ) -> Vec<PathBuf> {
        let before = list();
        self.remember(before.iter().map(PathBuf::as_path));
        subscribe();
        let mut files: BTreeSet<PathBuf> = before.into_iter().collect();
        files.extend(list());
        files
            .into_iter()
            .filter(|path| {
                let seen = self.seen.get(path).copied().unwrap_or(None);
                seen != content(path)
            })
            .collect()
    }

    /// Marks every file seen under `dir` as gone; whether there was one.
    fn forget_under(&mut self, dir: &Path) -> bool {
        let mut any = false;
        let below = self.seen.range_mut(dir.to_path_buf()..);
        for (_, content) in below.take_while(|(path, _)| path.starts_with(dir)) {
            any |= content.take().is_some();
        }
        any
    }
}

fn content(path: &Path) -> Content {
    let bytes = std::fs::read(path).ok()?;
    Some(Sha256::digest(&bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_change_of_content_counts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, "a").unwrap();
        let mut prints = Fingerprints::default();
        prints.remember([file.as_path()]);
        std::fs::write(&file, "a").unwrap();
        assert!(prints.changed([file.as_path()]).is_empty(), "same bytes");
        std::fs::write(&file, "b").unwrap();
        assert_eq!(prints.changed([file.as_path()]), vec![file.clone()]);
        assert!(prints.changed([file.as_path()]).is_empty(), "seen once");
        std::fs::remove_file(&file).unwrap();
        assert_eq!(
            prints.changed([file.as_path()]),
            vec![file.clone()],
            "deleted"
        );
        let never = dir.path().join(".env");
        assert!(prints.changed([never.as_path()]).is_empty(), "still absent");
        std::fs::write(&never, "X=1").unwrap();
        assert_eq!(
            prints.changed([never.as_path()]),
            vec![never.clone()],
            "created"
        );
    }

    #[test]
    fn a_change_made_while_subscribing_is_found_by_reading_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        for name in ["saved", "kept", "deleted"] {
            std::fs::write(path(name), "a").unwrap();
        }
        let list = || {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect();
            files.sort();
            files
        };
        let mut prints = Fingerprints::default();
        // The subscription is being made while an editor saves, creates and deletes: none of
        // that has an event to come.
        let missed = prints.remember_around(list, || {
            std::fs::write(path("saved"), "b").unwrap();
            std::fs::write(path("created"), "c").unwrap();
            std::fs::remove_file(path("deleted")).unwrap();
        });
        assert_eq!(missed, ["created", "deleted", "saved"].map(path));
        // They count as changed when handled, once; what did not change never does.
        let all = ["created", "deleted", "saved", "kept"].map(path);
        let changed = prints.changed(all.iter().map(PathBuf::as_path));
        assert_eq!(changed, ["created", "deleted", "saved"].map(path));
        assert!(prints.changed(all.iter().map(PathBuf::as_path)).is_empty());
    }

    #[test]
    fn a_removed_directory_counts_once_when_files_were_seen_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("static");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a.css"), "a").unwrap();
        let mut prints = Fingerprints::default();
        prints.remember([sub.join("a.css").as_path()]);
        std::fs::remove_dir_all(&sub).unwrap();
        assert_eq!(prints.changed([sub.as_path()]), vec![sub.clone()]);
        assert!(prints.changed([sub.join("a.css").as_path()]).is_empty());
        assert!(prints.changed([sub.as_path()]).is_empty());
    }
}
