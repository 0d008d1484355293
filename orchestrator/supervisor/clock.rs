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

/// A wall clock that moves only with `tokio::time` (paused in tests: it moves when the test
/// advances it, or when every task waits), and that a test may set, as NTP would.
#[cfg(test)]
pub struct TokioClock {
    /// A time, and the instant it was.
    base: std::sync::Mutex<(Millis, tokio::time::Instant)>,
}

#[cfg(test)]
impl TokioClock {
    pub fn starting_at(start: Millis) -> TokioClock {
        TokioClock {
            base: std::sync::Mutex::new((start, tokio::time::Instant::now())),
        }
    }

    pub fn set(&self, now: Millis) {
        *self.base.lock().unwrap() = (now, tokio::time::Instant::now());
    }
}

#[cfg(test)]
impl Clock for TokioClock {
    fn now(&self) -> Millis {
        let (time, instant) = *self.base.lock().unwrap();
        time.plus(instant.elapsed())
    }
}
