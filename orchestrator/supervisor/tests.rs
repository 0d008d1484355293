//! The supervisor's loop on the in-memory engine, in tokio's paused time: the clock it is given
//! follows that time, so restart delays and retries are checked to the millisecond without
//! sleeping. The in-memory engine stamps its events with a clock of its own, which moves a
//! second per call: a test that kills a replica sets the supervisor's clock to the time of the
//! `die` event, as if both clocks were the same wall clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::oneshot;
use tracing_subscriber::layer::{Context, SubscriberExt};

use super::burst::SETTLE;
use super::clock::TokioClock;
use super::*;
use crate::desired::{self, BuildOptions};
use crate::engine::memory::MemoryEngine;
use crate::engine::{ContainerState, EngineEvent, EventAction, EventKind};
use crate::spec::{LoadOptions, load};

const PROJECT: &str = "demo";

/// One test's world: the engine, the supervisor's clock, and its directories.
struct World {
    engine: Arc<MemoryEngine>,
    clock: Arc<TokioClock>,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let engine = Arc::new(MemoryEngine::new());
        engine.add_image("busybox");
        World {
            engine,
            clock: Arc::new(TokioClock::starting_at(Millis(1_700_000_000_000))),
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn desired(&self, yaml: &str) -> Desired {
        let project = load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(yaml.to_string()),
            project_name: Some(PROJECT.into()),
            cwd: self.dir.path().to_path_buf(),
            ..LoadOptions::default()
        })
        .unwrap_or_else(|d| panic!("the compose file loads: {d:?}"));
        desired::build(&project, &BuildOptions::default())
    }

    async fn supervisor(&self, yaml: &str) -> Supervisor {
        let engine: Arc<dyn ContainerEngine> = self.engine.clone();
        let events = EngineEvents::watch(engine.clone(), PROJECT).await;
        let mut supervisor = Supervisor::new(engine, self.desired(yaml), events);
        supervisor.clock = self.clock.clone();
        supervisor.state = StateDir::at(&self.dir.path().join("state"));
        supervisor.book = RestartBook::default();
        supervisor
    }

    /// Runs `supervisor` while `test` runs, then stops it.
    async fn run(&self, supervisor: Supervisor, test: impl std::future::Future<Output = ()>) {
        self.run_with(supervisor, None, test).await
    }

    /// Runs `supervisor`, taking requests from `commands`, while `test` runs, then stops it.
    async fn run_with(
        &self,
        supervisor: Supervisor,
        commands: Option<mpsc::Receiver<Command>>,
        test: impl std::future::Future<Output = ()>,
    ) {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let test = async {
            test.await;
            let _ = stop.send(());
        };
        tokio::join!(supervisor.run(shutdown, commands), test);
    }

    fn container(&self, name: &str) -> crate::engine::EngineContainer {
        self.engine
            .all_containers()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no container {name}"))
    }

    fn is_running(&self, name: &str) -> bool {
        self.engine
            .all_containers()
            .iter()
            .any(|c| c.name == name && c.state == ContainerState::Running)
    }

    /// Waits (in paused time) until `name` runs; how long that took.
    async fn until_running(&self, name: &str) -> Duration {
        let start = Instant::now();
        while !self.is_running(name) {
            assert!(start.elapsed() < RESYNC * 3, "{name} never ran");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }

    /// The container exits with 137, and the engine says so; the supervisor's clock is set to
    /// the time of the engine's event.
    async fn kill(&self, name: &str) {
        let mut events = self.engine.events(PROJECT).await.unwrap();
        self.engine
            .set_state(name, ContainerState::Exited, Some(137));
        let die = events
            .next()
            .now_or_never()
            .flatten()
            .expect("a die event")
            .unwrap();
        assert!(matches!(die.action, EventAction::Die { .. }), "{die:?}");
        let at = u64::try_from(die.time_nanos / 1_000_000).unwrap();
        self.clock.set(Millis(at));
    }

    fn send(&self, name: &str, action: EventAction) {
        let container = self.container(name);
        self.engine.inject_event(EngineEvent {
            kind: EventKind::Container,
            action,
            id: container.id,
            name: container.name,
            labels: container.labels,
            time_nanos: i64::try_from(self.clock.now().0).unwrap() * 1_000_000,
        });
    }

    /// How many times the engine was asked to start `name`.
    fn starts(&self, name: &str) -> usize {
        let call = format!("start_container {}", self.container(name).id);
        self.engine.calls().iter().filter(|c| **c == call).count()
    }
}

const WEB_WITH_DELAY: &str = r#"
services:
  web:
    image: busybox
    deploy:
      restart_policy:
        condition: any
        delay: 2s
"#;

#[tokio::test(start_paused = true)]
async fn a_killed_replica_is_restarted_after_its_restart_delay_and_not_before() {
    let world = World::new();
    let supervisor = world.supervisor(WEB_WITH_DELAY).await;
    world
        .run(supervisor, async {
            world.until_running("demo-web-1").await;
            world.kill("demo-web-1").await;
            tokio::time::sleep(Duration::from_millis(1990)).await;
            assert!(
                !world.is_running("demo-web-1"),
                "restarted before its delay"
            );
            let took = world.until_running("demo-web-1").await;
            assert!(took <= Duration::from_millis(50), "restarted {took:?} late");
        })
        .await;
}

const WEB_AND_API: &str = r#"
services:
  web:
    image: busybox
    restart: always
  api:
    image: busybox
    restart: always
"#;

/// Counts the supervisor's `reconcile` spans.
struct Reconciles(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Reconciles {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        if attrs.metadata().name() == "reconcile" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_events_for_a_service_is_one_reconcile() {
    let count = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Reconciles(count.clone()));
    let _default = tracing::subscriber::set_default(subscriber);
    let world = World::new();
    let supervisor = world.supervisor(WEB_AND_API).await;
    world
        .run(supervisor, async {
            world.until_running("demo-web-1").await;
            world.until_running("demo-api-1").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let before = count.load(Ordering::SeqCst);
            // `docker stop` behind wharf's back: kill, die and stop, a few milliseconds apart.
            world.send("demo-web-1", EventAction::Kill { signal: Some(15) });
            world.kill("demo-web-1").await;
            tokio::time::sleep(Duration::from_millis(5)).await;
            world.send("demo-web-1", EventAction::Stop);
            world.until_running("demo-web-1").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(count.load(Ordering::SeqCst) - before, 1);
        })
        .await;
}

const THREE_REPLICAS: &str = r#"
services:
  web:
    image: busybox
    deploy:
      replicas: 3
      restart_policy:
        condition: any
"#;

/// `docker kill` of several replicas: every `kill` event comes first, then the `die` events
/// one by one. The first `die` does not start a plan that the others would wait behind: all
/// are restarted in one plan, as soon as the last has died.
#[tokio::test(start_paused = true)]
async fn replicas_killed_together_are_restarted_in_one_plan_once_all_died() {
    let count = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Reconciles(count.clone()));
    let _default = tracing::subscriber::set_default(subscriber);
    let world = World::new();
    let supervisor = world.supervisor(THREE_REPLICAS).await;
    let names = ["demo-web-1", "demo-web-2", "demo-web-3"];
    world
        .run(supervisor, async {
            for name in names {
                world.until_running(name).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let before = count.load(Ordering::SeqCst);
            for name in names {
                world.send(name, EventAction::Kill { signal: Some(9) });
            }
            world.kill("demo-web-1").await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(!world.is_running("demo-web-1"), "planned before all died");
            world.kill("demo-web-2").await;
            world.kill("demo-web-3").await;
            for name in names {
                let took = world.until_running(name).await;
                assert!(took < Duration::from_millis(50), "{name} after {took:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(count.load(Ordering::SeqCst) - before, 1);
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_service_is_retried_later_and_the_others_are_not_held_up() {
    let world = World::new();
    let supervisor = world.supervisor(WEB_AND_API).await;
    world
        .run(supervisor, async {
            world.until_running("demo-web-1").await;
            world.until_running("demo-api-1").await;
            let web = world.container("demo-web-1").id;
            world.engine.fail("start_container", &web, "no room");
            let tries = world.starts("demo-web-1");
            world.kill("demo-web-1").await;
            world.kill("demo-api-1").await;
            assert!(world.until_running("demo-api-1").await < Duration::from_millis(50));
            assert_eq!(world.starts("demo-web-1"), tries + 1, "web was tried once");
            // While web waits for its retry, api is restarted (after its own backoff of 100 ms,
            // a second restart in a row), and web is left alone.
            world.kill("demo-api-1").await;
            assert!(world.until_running("demo-api-1").await < Duration::from_millis(150));
            assert_eq!(world.starts("demo-web-1"), tries + 1, "web is held");
            // The retry comes after the first error backoff, well before the resync.
            let took = world.until_running("demo-web-1").await;
            assert!(
                took < Duration::from_millis(300),
                "web retried after {took:?}"
            );
            assert_eq!(world.starts("demo-web-1"), tries + 2);
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn after_its_event_stream_ends_the_supervisor_lists_the_engine_again() {
    let world = World::new();
    let supervisor = world.supervisor(WEB_AND_API).await;
    world
        .run(supervisor, async {
            world.until_running("demo-web-1").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            // The exit is not in any event: the stream was lost before it.
            world.engine.drop_event_streams();
            world
                .engine
                .set_state("demo-web-1", ContainerState::Exited, Some(1));
            let took = world.until_running("demo-web-1").await;
            assert!(took < Duration::from_secs(1), "found after {took:?}");
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_request_taken_before_the_first_reconcile_is_the_one_awaited() {
    let world = World::new();
    let supervisor = world.supervisor(WEB_AND_API).await.awaiting_request();
    let (commands, receiver) = mpsc::channel(1);
    let (replies, mut replied) = mpsc::unbounded_channel();
    let request = Command {
        request: Request::Watch(false),
        replies,
    };
    commands.send(request).await.unwrap();
    world
        .run_with(supervisor, Some(receiver), async {
            assert!(matches!(replied.recv().await, Some(Reply::Done { .. })));
            // Its own reconcile follows at the resync (a request converges the project
            // itself), without waiting `FIRST_REQUEST` for another request.
            let took = world.until_running("demo-web-1").await;
            assert!(took < RESYNC + SETTLE, "web ran after {took:?}");
        })
        .await;
}

const WEB_NO_RESTART: &str = r#"
services:
  web:
    image: busybox
    restart: "no"
"#;

/// `wharf restart` lifts the user's mark once its start has run; a supervisor that takes the
/// stop's events in only after that sees a stop behind its back. The start that follows ends
/// that drift: a later exit of a `restart: "no"` replica is left down.
#[tokio::test(start_paused = true)]
async fn a_stop_followed_by_a_start_leaves_no_drift_behind() {
    let world = World::new();
    let supervisor = world.supervisor(WEB_NO_RESTART).await;
    world
        .run(supervisor, async {
            world.until_running("demo-web-1").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            world
                .engine
                .set_state("demo-web-1", ContainerState::Exited, Some(0));
            world.send("demo-web-1", EventAction::Stop);
            world
                .engine
                .set_state("demo-web-1", ContainerState::Running, None);
            tokio::time::sleep(Duration::from_millis(100)).await;
            let starts = world.starts("demo-web-1");
            world.kill("demo-web-1").await;
            tokio::time::sleep(RESYNC * 2).await;
            assert!(
                !world.is_running("demo-web-1"),
                "an exit of `no` was undone"
            );
            assert_eq!(world.starts("demo-web-1"), starts);
        })
        .await;
}

/// A request the supervisor cannot keep in its state directory (read-only, full, or as here
/// not a directory) is refused before anything changes: acted on, it would be undone by a
/// supervisor started again, which converges on the request it finds there.
#[tokio::test(start_paused = true)]
async fn a_request_that_cannot_be_kept_is_refused_before_anything_changes() {
    let world = World::new();
    let mut supervisor = world.supervisor(WEB_AND_API).await;
    let not_a_directory = world.dir.path().join("state");
    std::fs::write(&not_a_directory, "").unwrap();
    supervisor.state = StateDir::at(&not_a_directory);
    let request = UpRequest {
        load: LoadOptions {
            files: vec!["-".into()],
            stdin: Some(WEB_AND_API.to_string()),
            project_name: Some(PROJECT.into()),
            cwd: world.dir.path().to_path_buf(),
            ..LoadOptions::default()
        },
        ..UpRequest::default()
    };
    let err = supervisor.up(&request, &Log).await.unwrap_err();
    assert!(matches!(err, SupervisorError::Unsaved(_)), "{err}");
    assert!(err.to_string().contains("WHARF_STATE_DIR"), "{err}");
    assert!(world.engine.all_containers().is_empty());
}
