//! The supervisor's time, injected: restart histories and backoffs are measured in wall-clock
//! `Millis` (a saved history must stay meaningful after a restart, and the engine stamps its
//! events with wall-clock times), while every wait goes through `tokio::time`. The loop's tests
//! run on tokio's paused time with a clock that follows it, so a backoff of seconds is checked
//! without sleeping.

use crate::restart::Millis;

pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

/// The system's wall clock: it moves on while the machine sleeps, as the engine's does.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Millis::from_system_time(std::time::SystemTime::now())
    }
}

/// A wall clock that starts at a given time and moves only with `tokio::time` (paused in
/// tests: it moves when the test advances it, or when every task waits).
#[cfg(test)]
pub struct TokioClock {
    start: Millis,
    started: tokio::time::Instant,
}

#[cfg(test)]
impl TokioClock {
    pub fn starting_at(start: Millis) -> TokioClock {
        TokioClock {
            start,
            started: tokio::time::Instant::now(),
        }
    }
}

#[cfg(test)]
impl Clock for TokioClock {
    fn now(&self) -> Millis {
        self.start.plus(self.started.elapsed())
    }
}
