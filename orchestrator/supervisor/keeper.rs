//! The keeper of a detached supervisor: a small process that starts `wharf supervise` and
//! starts it again when it dies, so that a SIGKILL or a crash leaves the project unsupervised
//! for a moment only. The supervisor it starts adopts what the engine has; nothing is
//! restarted or recreated because the supervisor changed.
//!
//! `wharf up -d` starts the keeper in a session of its own, its output going to the project's
//! supervisor log. A SIGTERM (from `wharf down`) is passed on to the supervisor, and the keeper
//! ends with it.

use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::state::StateDir;

/// How often the keeper looks at its supervisor.
const POLL: Duration = Duration::from_millis(20);
/// A supervisor that ran this long before dying is restarted at once; one that dies sooner
/// waits for a backoff that doubles up to `MAX_BACKOFF`, so a broken project does not spin.
const HEALTHY_RUN: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_terminate(_: libc::c_int) {
    TERMINATE.store(true, Ordering::SeqCst);
}

/// Starts a keeper for `project`, detached from this process and its terminal, and records it.
pub fn spawn(exe: &Path, project: &str, state: &StateDir) -> std::io::Result<()> {
    let log = state.open_log()?;
    let mut command = Command::new(exe);
    command
        .args(["--project-name", project, "supervise", "--keep"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid(2) is async-signal-safe; it makes the keeper the leader of a new session,
    // so the terminal's Ctrl-C and hang-up do not reach it.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let keeper = command.spawn()?;
    state.write_keeper_pid(keeper.id())
}

/// The keeper's loop; returns when its supervisor ended on purpose or a SIGTERM came.
pub fn keep(exe: &Path, project: &str, state: &StateDir) -> ExitCode {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_terminate as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGINT,
            on_terminate as *const () as libc::sighandler_t,
        );
    }
    if let Err(err) = state.write_keeper_pid(std::process::id()) {
        tracing::error!("keeper: cannot write its pid file: {err}");
        return ExitCode::FAILURE;
    }
    let mut backoff = Duration::ZERO;
    // The first supervisor serves the `up` that started the keeper: it waits for its request.
    let mut first = true;
    let code = loop {
        let started = Instant::now();
        let mut command = Command::new(exe);
        command.args(["--project-name", project, "supervise"]);
        if std::mem::take(&mut first) {
            command.arg("--await-request");
        }
        let child = command.stdin(Stdio::null()).spawn();
        let status = match child {
            Ok(child) => watch(child),
            Err(err) => {
                tracing::error!("keeper: cannot start the supervisor: {err}");
                None
            }
        };
        match status {
            // Terminated on request, or the supervisor ended by itself: nothing to keep.
            None if TERMINATE.load(Ordering::SeqCst) => break ExitCode::SUCCESS,
            Some(status) if status.success() => break ExitCode::SUCCESS,
            _ => {}
        }
        backoff = next_backoff(backoff, started.elapsed());
        tracing::warn!(
            "keeper: the supervisor of {project} ended ({}); starting it again{}",
            status.map_or_else(|| "not started".to_string(), |s| s.to_string()),
            if backoff.is_zero() {
                String::new()
            } else {
                format!(" in {backoff:?}")
            }
        );
        if sleep_unless_terminated(backoff) {
            break ExitCode::SUCCESS;
        }
    };
    state.remove_keeper_pid();
    code
}

/// Waits for the supervisor to end; on a SIGTERM to the keeper, passes it on and waits. `None`
/// when the keeper was told to end.
fn watch(mut child: Child) -> Option<ExitStatus> {
    loop {
        if TERMINATE.load(Ordering::SeqCst) {
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: kill(2) on our own child, not yet reaped.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let _ = child.wait();
            return None;
        }
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => std::thread::sleep(POLL),
            Err(_) => return child.wait().ok(),
        }
    }
}

fn next_backoff(previous: Duration, lived: Duration) -> Duration {
    if lived >= HEALTHY_RUN {
        Duration::ZERO
    } else if previous.is_zero() {
        Duration::from_millis(250)
    } else {
        (previous * 2).min(MAX_BACKOFF)
    }
}

/// True when a SIGTERM came during the sleep.
fn sleep_unless_terminated(span: Duration) -> bool {
    let deadline = Instant::now() + span;
    while Instant::now() < deadline {
        if TERMINATE.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(POLL.min(deadline - Instant::now()));
    }
    TERMINATE.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_supervisor_that_ran_long_is_restarted_at_once_and_a_crash_loop_backs_off() {
        let quick = Duration::from_millis(100);
        assert_eq!(
            next_backoff(Duration::ZERO, Duration::from_secs(60)),
            Duration::ZERO
        );
        let first = next_backoff(Duration::ZERO, quick);
        assert_eq!(first, Duration::from_millis(250));
        assert_eq!(next_backoff(first, quick), Duration::from_millis(500));
        assert_eq!(next_backoff(Duration::from_secs(20), quick), MAX_BACKOFF);
        assert_eq!(
            next_backoff(MAX_BACKOFF, Duration::from_secs(11)),
            Duration::ZERO
        );
    }
}
