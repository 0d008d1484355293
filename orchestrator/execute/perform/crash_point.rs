//! A test hook, and nothing else: it lets tests/crash.rs take a crash at an exact point of a
//! plan, which timing alone cannot hit. `WHARF_TEST_CRASH_AT=<before|after>:<call>:<n>`
//! (`call`: `create`, `stop`, `remove`, `rename` or `start`, of a container) stops this process
//! right before, or right after, its n-th engine call of that kind, e.g. `after:remove:2`.
//!
//! It stops (SIGSTOP) rather than dies: the test then SIGKILLs every wharf process of the
//! project at once, keeper included, as a power cut or an OOM kill of the group would. A
//! process that died by itself would be started again by its keeper before the test could kill
//! that too. The variable is read once; without it (every real run) nothing is counted.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::plan::EngineCall;

const VARIABLE: &str = "WHARF_TEST_CRASH_AT";

/// Whether the point is before the engine call or once it has returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Moment {
    Before,
    After,
}

#[derive(Debug)]
struct CrashPoint {
    moment: Moment,
    call: &'static str,
    nth: u32,
    seen: AtomicU32,
}

/// Stops the process when `call` at `moment` is the armed point.
pub(super) fn reached(moment: Moment, call: &EngineCall) {
    static ARMED: OnceLock<Option<CrashPoint>> = OnceLock::new();
    let Some(point) = ARMED.get_or_init(armed) else {
        return;
    };
    if point.moment != moment || kind(call) != Some(point.call) {
        return;
    }
    if point.seen.fetch_add(1, Ordering::SeqCst) + 1 == point.nth {
        eprintln!("{VARIABLE}: stopped {moment:?} {call}");
        // SAFETY: raise(3) with a constant signal; the process stops until SIGCONT or SIGKILL.
        unsafe { libc::raise(libc::SIGSTOP) };
    }
}

fn armed() -> Option<CrashPoint> {
    let value = std::env::var(VARIABLE).ok()?;
    let point = parse(&value);
    if point.is_none() {
        eprintln!("{VARIABLE}={value:?} is not <before|after>:<call>:<n>; ignored");
    }
    point
}

fn parse(value: &str) -> Option<CrashPoint> {
    let mut parts = value.split(':');
    let moment = match parts.next()? {
        "before" => Moment::Before,
        "after" => Moment::After,
        _ => return None,
    };
    let name = parts.next()?;
    let call = CALLS.into_iter().find(|c| *c == name)?;
    let nth = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    parts.next().is_none().then_some(CrashPoint {
        moment,
        call,
        nth,
        seen: AtomicU32::new(0),
    })
}

const CALLS: [&str; 5] = ["create", "stop", "remove", "rename", "start"];

/// The calls of a container's replacement, by the name the variable gives them.
fn kind(call: &EngineCall) -> Option<&'static str> {
    match call {
        EngineCall::CreateContainer { .. } => Some("create"),
        EngineCall::StopContainer { .. } => Some("stop"),
        EngineCall::RemoveContainer { .. } => Some("remove"),
        EngineCall::RenameContainer { .. } => Some("rename"),
        EngineCall::StartContainer { .. } => Some("start"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_names_a_moment_a_container_call_and_a_count() {
        let point = parse("after:remove:2").unwrap();
        assert_eq!(
            (point.moment, point.call, point.nth),
            (Moment::After, "remove", 2)
        );
        assert_eq!(parse("before:start:1").unwrap().moment, Moment::Before);
        for wrong in [
            "",
            "after",
            "after:remove",
            "after:remove:0",
            "after:remove:x",
            "during:remove:1",
            "after:pull:1",
            "after:remove:1:2",
        ] {
            assert!(parse(wrong).is_none(), "{wrong}");
        }
    }
}
