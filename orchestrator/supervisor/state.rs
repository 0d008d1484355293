//! A project's state directory: the supervisor's pid, the restart history it must not lose,
//! and the services the user stopped. Owner-only, under `$WHARF_STATE_DIR`,
//! `$XDG_STATE_HOME/wharf` or `~/.local/state/wharf`, one folder per project.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::restart::RestartBook;

#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The state directory of `project` (not created until something is written).
    pub fn of(project: &str) -> StateDir {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let base = var("WHARF_STATE_DIR")
            .or_else(|| var("XDG_STATE_HOME").map(|d| d.join("wharf")))
            .or_else(|| var("HOME").map(|h| h.join(".local/state/wharf")))
            .unwrap_or_else(|| std::env::temp_dir().join("wharf-state"));
        StateDir {
            dir: base.join(project),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn ensure(&self) -> std::io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(self.dir.join("stopped"))
    }

    /// Writes a file atomically (a temporary file renamed over it), readable by the owner only.
    fn write(&self, name: &str, contents: &[u8]) -> std::io::Result<()> {
        self.ensure()?;
        let target = self.dir.join(name);
        let temporary = self.dir.join(format!(".{name}.{}", std::process::id()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(temporary, target)
    }

    /// The restart history; empty when there is none (or it cannot be read).
    pub fn load_book(&self) -> RestartBook {
        fs::read(self.dir.join("restarts.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save_book(&self, book: &RestartBook) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(book).map_err(std::io::Error::other)?;
        self.write("restarts.json", &json)
    }

    /// `wharf stop SERVICE` marks it, so that the supervisor leaves it stopped.
    pub fn mark_user_stopped(&self, service: &str) -> std::io::Result<()> {
        self.ensure()?;
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(self.dir.join("stopped").join(service))
            .map(drop)
    }

    /// `wharf start`/`up` clears the marks of the services they start (all when `services` is
    /// empty).
    pub fn clear_user_stopped(&self, services: &[String]) {
        let Ok(entries) = fs::read_dir(self.dir.join("stopped")) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if services.is_empty() || services.contains(&name) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    pub fn user_stopped(&self) -> Vec<String> {
        fs::read_dir(self.dir.join("stopped"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets the project's restart history and user stops (`down`, once the supervisor is
    /// gone).
    pub fn clear(&self) {
        let _ = fs::remove_dir_all(&self.dir);
    }

    /// Records the running supervisor: its pid and when it started (Unix seconds).
    pub fn write_pid(&self, started: u64) -> std::io::Result<()> {
        self.write(
            "supervisor.pid",
            format!("{} {started}\n", std::process::id()).as_bytes(),
        )
    }

    pub fn remove_pid(&self) {
        let _ = fs::remove_file(self.dir.join("supervisor.pid"));
    }

    /// Asks a running supervisor to stop (SIGTERM: it stops the project gracefully and exits)
    /// and waits until it is gone, at most `limit`. True when none is left running.
    pub fn stop_supervisor(&self, limit: std::time::Duration) -> bool {
        let Some((pid, _)) = self.running_supervisor() else {
            return true;
        };
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill(2) with a pid read from our own pid file and a constant signal.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if !Path::new(&format!("/proc/{pid}")).exists() || self.running_supervisor().is_none() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }

    /// The supervisor's pid and start time, when one is running.
    pub fn running_supervisor(&self) -> Option<(u32, u64)> {
        let text = fs::read_to_string(self.dir.join("supervisor.pid")).ok()?;
        let mut parts = text.split_whitespace();
        let pid: u32 = parts.next()?.parse().ok()?;
        let started: u64 = parts.next()?.parse().ok()?;
        Path::new(&format!("/proc/{pid}"))
            .exists()
            .then_some((pid, started))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_state() -> (tempfile::TempDir, StateDir) {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir {
            dir: dir.path().join("proj"),
        };
        (dir, state)
    }

    #[test]
    fn the_book_survives_a_restart_and_is_owner_only() {
        let (_guard, state) = temp_state();
        assert_eq!(state.load_book(), RestartBook::default());
        let mut book = RestartBook::default();
        book.slot("web", 2).restarts = 3;
        state.save_book(&book).unwrap();
        assert_eq!(state.load_book(), book);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(state.path().join("restarts.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(state.path()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn user_stops_are_marked_and_cleared() {
        let (_guard, state) = temp_state();
        state.mark_user_stopped("web").unwrap();
        state.mark_user_stopped("db").unwrap();
        let mut stopped = state.user_stopped();
        stopped.sort();
        assert_eq!(stopped, ["db", "web"]);
        state.clear_user_stopped(&["web".to_string()]);
        assert_eq!(state.user_stopped(), ["db"]);
        state.clear_user_stopped(&[]);
        assert!(state.user_stopped().is_empty());
    }

    #[test]
    fn a_pid_file_names_a_live_supervisor_only() {
        let (_guard, state) = temp_state();
        assert!(state.running_supervisor().is_none());
        state.write_pid(42).unwrap();
        assert_eq!(state.running_supervisor(), Some((std::process::id(), 42)));
        state.remove_pid();
        assert!(state.running_supervisor().is_none());
    }
}
