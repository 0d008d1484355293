//! One subscription to a project's engine events, shared by everyone who follows them: the
//! supervisor, its DNS while a plan runs, and an attached `up`'s log follower and abort flags.
//! The watcher subscribes again by itself when the stream ends or fails, waiting longer while
//! the engine refuses, and then tells its followers to list the engine again: what happened
//! while no stream was open is in no event. A follower that falls behind is told the same,
//! rather than losing events without knowing it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::broadcast;

use crate::engine::{self, ContainerEngine, EngineEvent};

/// The wait after a stream that ended without an event, or a subscription that failed;
/// doubled each time, up to `LONGEST_RETRY`, and back to this after an event.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(5);
/// How far a follower may fall behind before it is told to list the engine again.
const BACKLOG: usize = 1024;

/// What a follower is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Event(EngineEvent),
    /// Events may have been missed (the stream was opened again, or this follower fell
    /// behind): what the engine has must be listed again.
    Relist,
    /// The engine refused a subscription; the watcher tries again after `retry`.
    Unavailable {
        reason: String,
        retry: Duration,
    },
}

/// A running watcher: subscribe to follow it. It stops once this handle and every
/// subscription are dropped.
#[derive(Clone)]
pub struct EngineEvents {
    shared: Arc<Shared>,
}

struct Shared {
    notices: broadcast::Sender<Notice>,
    /// True while a stream is open.
    connected: Arc<AtomicBool>,
    task: tokio::task::AbortHandle,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EngineEvents {
    /// Subscribes to `project`'s events (one attempt before it returns, so that whoever
    /// subscribes next misses nothing from then on when it succeeds), then keeps a stream open.
    pub async fn watch(engine: Arc<dyn ContainerEngine>, project: &str) -> EngineEvents {
        let (notices, _) = broadcast::channel(BACKLOG);
        let first = engine.events(project).await;
        let connected = Arc::new(AtomicBool::new(first.is_ok()));
        let watcher = Watcher {
            engine,
            project: project.to_string(),
            notices: notices.clone(),
            connected: connected.clone(),
        };
        let task = tokio::spawn(watcher.run(first)).abort_handle();
        EngineEvents {
            shared: Arc::new(Shared {
                notices,
                connected,
                task,
            }),
        }
    }

    /// What happens from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            notices: self.shared.notices.subscribe(),
            _watcher: self.shared.clone(),
        }
    }

    /// Whether a stream is open: when it is not, a `Relist` comes once one is.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::SeqCst)
    }
}

/// One follower's notices, from when it subscribed.
pub struct Subscription {
    notices: broadcast::Receiver<Notice>,
    _watcher: Arc<Shared>,
}

impl Subscription {
    pub async fn next(&mut self) -> Notice {
        match self.notices.recv().await {
            Ok(notice) => notice,
            Err(broadcast::error::RecvError::Lagged(_)) => Notice::Relist,
            // The watcher lives as long as this subscription: it never closes.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

type Stream = BoxStream<'static, engine::Result<EngineEvent>>;

struct Watcher {
    engine: Arc<dyn ContainerEngine>,
    project: String,
    notices: broadcast::Sender<Notice>,
    connected: Arc<AtomicBool>,
}

impl Watcher {
    async fn run(self, first: engine::Result<Stream>) {
        let mut attempt = first;
        let mut retry = FIRST_RETRY;
        loop {
            let wait = match attempt {
                // A stream that gave events is opened again at once; one that ended at once
                // waits, as a refusal does, so that an engine that keeps closing it is not
                // asked in a loop.
                Ok(stream) => {
                    let gave_events = self.follow(stream).await;
                    tracing::debug!(project = %self.project, "engine event stream ended");
                    if gave_events {
                        retry = FIRST_RETRY;
                    }
                    !gave_events
                }
                Err(err) => {
                    tracing::debug!(project = %self.project, %err, "engine events unavailable");
                    let _ = self.notices.send(Notice::Unavailable {
                        reason: err.to_string(),
                        retry,
                    });
                    true
                }
            };
            if wait {
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LONGEST_RETRY);
            }
            attempt = self.engine.events(&self.project).await;
            if attempt.is_ok() {
                self.connected.store(true, Ordering::SeqCst);
                let _ = self.notices.send(Notice::Relist);
            }
        }
    }

    /// Passes the stream's events on until it ends or fails; true when it gave any.
    async fn follow(&self, mut stream: Stream) -> bool {
        let mut any = false;
        while let Some(Ok(event)) = stream.next().await {
            any = true;
            let _ = self.notices.send(Notice::Event(event));
        }
        self.connected.store(false, Ordering::SeqCst);
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EventAction;
    use crate::engine::labels;
    use crate::engine::memory::MemoryEngine;

    fn volume(engine: &MemoryEngine, name: &str) {
        engine.add_volume(name, &[(labels::PROJECT, "p")]);
    }

    fn created(notice: Notice) -> String {
        match notice {
            Notice::Event(event) if event.action == EventAction::Create => event.name,
            other => panic!("not a create: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_follower_gets_the_events_of_one_subscription() {
        let engine = Arc::new(MemoryEngine::new());
        let events = EngineEvents::watch(engine.clone(), "p").await;
        assert!(events.is_connected());
        let (mut a, mut b) = (events.subscribe(), events.subscribe());
        volume(&engine, "p_data");
        assert_eq!(created(a.next().await), "p_data");
        assert_eq!(created(b.next().await), "p_data");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_ends_is_opened_again_and_followers_list_again() {
        let engine = Arc::new(MemoryEngine::new());
        let events = EngineEvents::watch(engine.clone(), "p").await;
        let mut follower = events.subscribe();
        volume(&engine, "p_before");
        assert_eq!(created(follower.next().await), "p_before");
        engine.drop_event_streams();
        assert_eq!(follower.next().await, Notice::Relist);
        assert!(events.is_connected());
        volume(&engine, "p_after");
        assert_eq!(created(follower.next().await), "p_after");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_keeps_ending_at_once_is_opened_again_later_and_later() {
        let engine = Arc::new(MemoryEngine::new());
        let events = EngineEvents::watch(engine.clone(), "p").await;
        let mut follower = events.subscribe();
        let mut waits = Vec::new();
        for _ in 0..3 {
            let before = tokio::time::Instant::now();
            // Give the watcher time to open the stream again before it is dropped.
            tokio::time::sleep(Duration::from_millis(1)).await;
            engine.drop_event_streams();
            assert_eq!(follower.next().await, Notice::Relist);
            waits.push(before.elapsed());
        }
        assert!(waits[0] < waits[1] && waits[1] < waits[2], "{waits:?}");
        assert!(waits[2] <= LONGEST_RETRY + Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_follower_that_falls_behind_is_told_to_list_again() {
        let engine = Arc::new(MemoryEngine::new());
        let events = EngineEvents::watch(engine.clone(), "p").await;
        let mut slow = events.subscribe();
        let mut fast = events.subscribe();
        for n in 0..=BACKLOG {
            volume(&engine, &format!("p_v{n}"));
            // The fast follower keeps up; the watcher passes each event on as it comes.
            assert_eq!(created(fast.next().await), format!("p_v{n}"));
        }
        assert_eq!(slow.next().await, Notice::Relist);
    }
}
