//! A project's state directory: the supervisor's and its keeper's pids, the control socket, the
//! log of a detached supervisor, the `up` request it converges on, the restart history it must
//! not lose, and the services the user stopped. Owner-only, under `$WHARF_STATE_DIR`,
//! `$XDG_STATE_HOME/wharf` or `~/.local/state/wharf`, one folder per project.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::request::UpRequest;
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

    /// The state directory at `dir`, for tests that must not share one.
    #[cfg(test)]
    pub fn at(dir: &Path) -> StateDir {
        StateDir {
            dir: dir.to_path_buf(),
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
            .map_err(|err| self.unwritable(&self.dir, err))?;
        owner_only(&self.dir)
    }

    /// Writes a file atomically (a temporary file renamed over it), readable by the owner only.
    /// A failure (a read-only or full file system) leaves the file as it was. A file that holds
    /// `contents` already is left alone: an unchanged `up` writes (and syncs) nothing.
    fn write(&self, name: &str, contents: &[u8]) -> std::io::Result<()> {
        self.ensure()?;
        let target = self.dir.join(name);
        if fs::read(&target).is_ok_and(|held| held == contents) {
            return Ok(());
        }
        let temporary = self.dir.join(format!(".{name}.{}", std::process::id()));
        let written =
            write_new(&temporary, contents).and_then(|()| fs::rename(&temporary, &target));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written.map_err(|err| self.unwritable(&target, err))
    }

    /// A file of the directory that cannot be written, said with what to do about it.
    fn unwritable(&self, file: &Path, err: std::io::Error) -> std::io::Error {
        std::io::Error::new(
            err.kind(),
            format!(
                "cannot write {}: {err}; make the project's state directory {} writable (or \
                 free space on it), or set WHARF_STATE_DIR to another directory",
                file.display(),
                self.dir.display()
            ),
        )
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
        let mark = self.dir.join("stopped").join(service);
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&mark)
            .map(drop)
            .map_err(|err| self.unwritable(&mark, err))
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

    /// Whether [`clear_user_stopped`](Self::clear_user_stopped) of `services` has a mark to clear.
    pub fn stops_any(&self, services: &[String]) -> bool {
        let stopped = self.user_stopped();
        stopped
            .iter()
            .any(|s| services.is_empty() || services.contains(s))
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
        self.write_pid_file(SUPERVISOR_PID, std::process::id(), started)
    }

    pub fn remove_pid(&self) {
        let _ = fs::remove_file(self.dir.join(SUPERVISOR_PID));
    }

    /// Records the keeper of a detached supervisor, which restarts it when it dies. The `up`
    /// that starts it records it too, before it lets go of the lock: the next `up` must find it.
    pub fn write_keeper_pid(&self, pid: u32) -> std::io::Result<()> {
        self.write_pid_file(KEEPER_PID, pid, unix_now())
    }

    pub fn remove_keeper_pid(&self) {
        let _ = fs::remove_file(self.dir.join(KEEPER_PID));
    }

    fn write_pid_file(&self, name: &str, pid: u32, started: u64) -> std::io::Result<()> {
        self.write(name, format!("{pid} {started}\n").as_bytes())
    }

    /// Asks the supervisor to stop and waits until it is gone, at most `limit`: its keeper
    /// first (SIGTERM; it passes the signal on and does not restart it), or the supervisor
    /// itself when none keeps it (an attached `up`, which then stops the project gracefully).
    /// True when none is left running.
    pub fn stop_supervisor(&self, limit: std::time::Duration) -> bool {
        let targets = [self.keeper(), self.running_supervisor()];
        let Some((pid, _)) = targets.iter().flatten().next() else {
            return true;
        };
        terminate(*pid);
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if self.keeper().is_none() && self.running_supervisor().is_none() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    /// The supervisor's pid and start time, when one is running.
    pub fn running_supervisor(&self) -> Option<(u32, u64)> {
        self.live_pid(SUPERVISOR_PID)
    }

    /// The keeper's pid and start time, when one is running.
    pub fn keeper(&self) -> Option<(u32, u64)> {
        self.live_pid(KEEPER_PID)
    }

    /// Whether a detached supervisor serves the project (or is being restarted by its keeper).
    pub fn is_detached(&self) -> bool {
        self.keeper().is_some()
    }

    /// Whether a supervisor serves the project, detached or in an attached `up`: an `up` then
    /// sends it its request instead of starting another.
    pub fn is_supervised(&self) -> bool {
        self.is_detached() || self.running_supervisor().is_some()
    }

    fn live_pid(&self, name: &str) -> Option<(u32, u64)> {
        let text = fs::read_to_string(self.dir.join(name)).ok()?;
        let mut parts = text.split_whitespace();
        let pid: u32 = parts.next()?.parse().ok()?;
        let started: u64 = parts.next()?.parse().ok()?;
        is_alive_since(pid, started).then_some((pid, started))
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("supervisor.log")
    }

    /// The detached supervisor's log, appended to.
    pub fn open_log(&self) -> std::io::Result<fs::File> {
        self.ensure()?;
        fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(self.log_path())
            .map_err(|err| self.unwritable(&self.log_path(), err))
    }

    /// The request a detached supervisor converges on, kept so that a restarted one converges
    /// on the same project.
    pub fn save_request(&self, request: &UpRequest) -> std::io::Result<()> {
        let json = serde_json::to_vec(request).map_err(std::io::Error::other)?;
        self.write("request.json", &json)
    }

    pub fn load_request(&self) -> std::io::Result<UpRequest> {
        let bytes = fs::read(self.dir.join("request.json"))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    /// Takes the project's `up` lock, waiting while another `up` holds it (`on_wait` is told
    /// once). Held until the file is dropped; the kernel lets go if the process dies.
    pub fn lock_up(&self, on_wait: impl FnOnce()) -> std::io::Result<fs::File> {
        self.ensure()?;
        let path = self.dir.join("up.lock");
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|err| self.unwritable(&path, err))?;
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: flock(2) on a descriptor this function owns.
        if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        on_wait();
        // SAFETY: as above.
        match unsafe { libc::flock(fd, libc::LOCK_EX) } {
            0 => Ok(file),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

/// A state directory must be the user's own and closed to others (it holds the control socket
/// and what the supervisor acts on): one that another user owns, or a symbolic link, is
/// refused; one whose mode lets others in is closed (0700).
fn owner_only(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::symlink_metadata(dir)?;
    // SAFETY: geteuid(2) cannot fail and has no side effect.
    let own = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != own {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{}: a state directory must be a directory of uid {own}; this one is {} of uid \
                 {}: remove it, or set WHARF_STATE_DIR to a directory of your own",
                dir.display(),
                if meta.is_symlink() {
                    "a symbolic link"
                } else if meta.is_dir() {
                    "a directory"
                } else {
                    "a file"
                },
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A new file at `path` with `contents`, on disk when this returns, readable by the owner only.
fn write_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

const SUPERVISOR_PID: &str = "supervisor.pid";
const KEEPER_PID: &str = "keeper.pid";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether the process a pid file recorded at `recorded` (Unix seconds) still runs: its pid
/// exists, has not ended (a zombie, dead but not reaped, has), and did not start after the
/// record. A pid file that a killed process left names a pid the system gives out again,
/// after a reboot above all: that process is not ours to signal or to wait for.
fn is_alive_since(pid: u32, recorded: u64) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The fields after the command name, which is in parentheses: the state (field 3) first,
    // the start time (field 22, in clock ticks after boot) later.
    let Some((_, fields)) = stat.rsplit_once(')') else {
        return false;
    };
    let mut fields = fields.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X") | None) {
        return false;
    }
    let start_ticks = fields.nth(22 - 4).and_then(|t| t.parse::<u64>().ok());
    // Unknown, the pid is trusted.
    match (start_ticks, boot_time(), ticks_per_second()) {
        (Some(ticks), Some(boot), Some(hz)) => boot + ticks / hz <= recorded + START_SLACK,
        _ => true,
    }
}

/// How much later than its pid file says a process may seem to have started and still be the
/// one recorded: whole seconds on both sides, and a wall clock set forward since (the boot
/// time is the clock's now minus the uptime) moves the start it computes. A pid given out
/// again this soon after a crash is the case left unseen.
const START_SLACK: u64 = 5;

/// When the system booted, in Unix seconds.
fn boot_time() -> Option<u64> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find_map(|l| l.strip_prefix("btime "))?;
    line.trim().parse().ok()
}

fn ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf(3) reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|hz| *hz > 0)
}

fn terminate(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid read from our own pid file and a constant signal.
        unsafe { libc::kill(pid, libc::SIGTERM) };
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
    fn a_file_that_holds_the_contents_already_is_not_written_again() {
        use std::os::unix::fs::MetadataExt;
        let (_guard, state) = temp_state();
        let mut book = RestartBook::default();
        book.slot("web", 1).restarts = 1;
        state.save_book(&book).unwrap();
        let file = state.path().join("restarts.json");
        let inode = || fs::metadata(&file).unwrap().ino();
        let first = inode();
        state.save_book(&book).unwrap();
        assert_eq!(inode(), first, "the same history is not written again");
        book.slot("web", 1).restarts = 2;
        state.save_book(&book).unwrap();
        assert_ne!(inode(), first, "a new history replaces the file");
        assert_eq!(state.load_book(), book);
    }

    #[test]
    fn a_state_directory_open_to_others_is_closed_and_another_user_s_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (_guard, state) = temp_state();
        fs::create_dir(state.path()).unwrap();
        fs::set_permissions(state.path(), fs::Permissions::from_mode(0o777)).unwrap();
        state.save_book(&RestartBook::default()).unwrap();
        let mode = fs::metadata(state.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);

        let (guard, link) = temp_state();
        std::os::unix::fs::symlink(state.path(), link.path()).unwrap();
        let err = link.save_book(&RestartBook::default()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("a symbolic link"), "{err}");
        drop(guard);

        // SAFETY: geteuid(2) cannot fail and has no side effect.
        if unsafe { libc::geteuid() } != 0 {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the tests as root"
            );
            eprintln!("NOT RUN: only root can give a directory to another user");
            return;
        }
        let (_guard, theirs) = temp_state();
        fs::create_dir(theirs.path()).unwrap();
        std::os::unix::fs::chown(theirs.path(), Some(65534), Some(65534)).unwrap();
        let err = theirs.save_book(&RestartBook::default()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("of uid 65534"), "{err}");
        assert!(!theirs.path().join("restarts.json").exists());
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
        let now = unix_now();
        state.write_pid(now).unwrap();
        assert_eq!(state.running_supervisor(), Some((std::process::id(), now)));
        state.remove_pid();
        assert!(state.running_supervisor().is_none());
    }

    /// A pid file from before this process started (left by a killed supervisor, its pid
    /// given out again since) does not name this process.
    #[test]
    fn a_pid_given_out_again_is_not_the_recorded_process() {
        let (_guard, state) = temp_state();
        state.write_pid(unix_now()).unwrap();
        assert!(state.running_supervisor().is_some());
        let started = boot_time().unwrap() - 1;
        state.write_pid(started).unwrap();
        assert_eq!(state.running_supervisor(), None);
    }

    #[test]
    fn the_up_lock_is_exclusive() {
        let (_guard, state) = temp_state();
        let first = state.lock_up(|| panic!("nothing holds it yet")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let second = state.clone();
        let waiter = std::thread::spawn(move || {
            let waited = std::cell::Cell::new(false);
            let _lock = second.lock_up(|| waited.set(true)).unwrap();
            tx.send(waited.get()).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(rx.try_recv().is_err(), "the second `up` must wait");
        drop(first);
        assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap());
        waiter.join().unwrap();
    }

    #[test]
    fn the_request_survives_a_restart() {
        let (_guard, state) = temp_state();
        let request = UpRequest {
            services: vec!["web".into()],
            scale: vec![("web".into(), 3)],
            ..UpRequest::default()
        };
        state.save_request(&request).unwrap();
        let loaded = state.load_request().unwrap();
        assert_eq!(loaded.services, ["web"]);
        assert_eq!(loaded.scale, [("web".to_string(), 3)]);
    }
}
