//! The engine calls that change something, counted while they run, so that whoever stops a
//! run (the supervisor told to stop) can let them end first: cut short, the engine could still
//! make what the `down` that follows no longer sees.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// The engine calls that change something and have not ended, across every run of this
/// process.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static SETTLED: Notify = Notify::const_new();

/// One such call, counted while it runs.
pub(super) struct InFlight;

impl InFlight {
    pub(super) async fn track<T>(call: impl Future<Output = T>) -> T {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        let _counted = InFlight;
        call.await
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) == 1 {
            SETTLED.notify_waiters();
        }
    }
}

/// Waits, up to `limit`, until no engine call that changes something is under way; true when
/// none is.
pub async fn settle_changes(limit: Duration) -> bool {
    let none = || IN_FLIGHT.load(Ordering::SeqCst) == 0;
    tokio::time::timeout(limit, async {
        loop {
            let settled = SETTLED.notified();
            if none() {
                return;
            }
            settled.await;
        }
    })
    .await
    .is_ok()
        || none()
}
