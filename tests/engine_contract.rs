//! The contract of `ContainerEngine`, proven on both engines: every scenario below is written
//! once against `&dyn ContainerEngine` and runs twice, as `memory::<scenario>` on the in-memory
//! engine and as `docker::<scenario>` on the real Docker Engine. The real engine is the truth:
//! where the two differ, the in-memory engine is wrong.
//!
//! The in-memory engine runs no process. What a container's process does (serve until stopped,
//! exit with a code, turn healthy or unhealthy) is one [`Process`]: the real engine runs its
//! shell command, the in-memory engine is told by the environment entry the spec carries
//! ([`memory_engine`] registers each with `MemoryEngine::after_start`). Execs likewise:
//! [`FAILING_EXEC`] runs in the real container, and is told to the in-memory engine.
//!
//! Every scenario works in its own project (a unique name); on the real engine a `Cleanup`
//! guard removes what the project made, even when the scenario fails, and every scenario
//! removes what it made itself and checks that nothing is left.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use indexmap::IndexMap;
use support::{BUSYBOX_IMAGE, Cleanup, busybox_image, unique_project};
use wharf::desired::{
    ContainerIdentity, ContainerSpec, DesiredNetwork, DesiredVolume, Healthcheck, Mount, MountKind,
    NetworkAttachment, ResourceIdentity,
};
use wharf::engine::docker::DockerEngine;
use wharf::engine::labels;
use wharf::engine::memory::{AfterStart, MemoryEngine};
use wharf::engine::{
    ContainerEngine, ContainerState, EngineError, EngineEvent, EventAction, EventKind, ExecRequest,
    Health, Streams,
};

/// Generates `memory::<scenario>` and `docker::<scenario>` for each scenario.
macro_rules! contract {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let project = super::unique_project(stringify!($scenario));
                    let engine = super::memory_engine();
                    super::$scenario(&engine, &project).await;
                }
            )*
        }
        mod docker {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let project = super::unique_project(stringify!($scenario));
                    let _cleanup = super::Cleanup::new(&project);
                    let _other = super::Cleanup::new(&super::other_project(&project));
                    let engine = super::docker_engine().await;
                    super::$scenario(&engine, &project).await;
                }
            )*
        }
    };
}

contract!(
    containers_are_listed_by_project_with_their_state,
    a_taken_name_conflicts_on_create_and_rename,
    missing_things_are_not_found,
    a_missing_image_is_absent_and_fails_the_create,
    networks_and_volumes_are_labelled_and_refused_while_in_use,
    exit_codes_are_listed_and_waited_for,
    a_running_container_is_removed_by_force,
    events_tell_start_die_stop_kill_rename_destroy,
    health_changes_are_listed_and_are_events,
    execs_end_with_their_exit_codes,
    networks_and_volumes_are_events_of_their_project,
    a_paused_container_is_listed_paused_and_stops,
    anonymous_volumes_go_with_their_container_when_asked,
);

// --- the two engines -----------------------------------------------------------------------------

fn memory_engine() -> MemoryEngine {
    let engine = MemoryEngine::new();
    engine.add_image(BUSYBOX_IMAGE);
    for process in Process::ALL {
        if let Some(behaviour) = process.in_memory() {
            engine.after_start(&process.marker(), behaviour);
        }
    }
    engine.exec_exits(&FAILING_EXEC, FAILING_EXEC_CODE);
    engine
}

async fn docker_engine() -> DockerEngine {
    busybox_image();
    DockerEngine::connect()
        .await
        .expect("the Docker Engine answers (is dockerd running?)")
}

// --- what the containers do ----------------------------------------------------------------------

/// What a container's main process does once started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Process {
    /// Runs until it is stopped, and exits 0 at its stop signal.
    Serves,
    /// Exits with code 3 at once.
    ExitsWithThree,
    /// Serves, and its healthcheck passes.
    TurnsHealthy,
    /// Serves, and its healthcheck fails.
    TurnsUnhealthy,
}

impl Process {
    const ALL: [Process; 4] = [
        Process::Serves,
        Process::ExitsWithThree,
        Process::TurnsHealthy,
        Process::TurnsUnhealthy,
    ];

    /// The environment entry that tells the in-memory engine which process this is.
    fn marker(self) -> String {
        format!("CONTRACT_PROCESS={self:?}")
    }

    fn in_memory(self) -> Option<AfterStart> {
        match self {
            Process::Serves => None,
            Process::ExitsWithThree => Some(AfterStart::Exit(3)),
            Process::TurnsHealthy => Some(AfterStart::Health(Health::Healthy)),
            Process::TurnsUnhealthy => Some(AfterStart::Health(Health::Unhealthy)),
        }
    }

    fn script(self) -> &'static str {
        match self {
            Process::ExitsWithThree => "exit 3",
            // A shell as PID 1 ignores SIGTERM unless it traps it.
            _ => "trap 'exit 0' TERM; while true; do sleep 0.1; done",
        }
    }

    fn healthcheck(self) -> Option<Healthcheck> {
        let probe = match self {
            Process::TurnsHealthy => "true",
            Process::TurnsUnhealthy => "false",
            _ => return None,
        };
        Some(Healthcheck {
            test: vec!["CMD".into(), probe.into()],
            interval: Some(Duration::from_millis(200)),
            timeout: Some(Duration::from_secs(2)),
            start_period: None,
            start_interval: None,
            retries: Some(1),
        })
    }
}

/// An exec that fails, and its exit code.
const FAILING_EXEC: [&str; 3] = ["sh", "-c", "exit 5"];
const FAILING_EXEC_CODE: i64 = 5;

/// Replica 1 of `service` in `project`, running `process`.
fn container(project: &str, service: &str, process: Process) -> ContainerSpec {
    let identity = ContainerIdentity {
        project: project.to_string(),
        service: service.to_string(),
        number: Some(1),
        ..ContainerIdentity::default()
    };
    ContainerSpec {
        image: BUSYBOX_IMAGE.to_string(),
        command: Some(vec!["sh".into(), "-c".into(), process.script().into()]),
        env: vec![process.marker()],
        identity: Some(identity),
        healthcheck: process.healthcheck(),
        ..ContainerSpec::default()
    }
}

/// Another project beside `project`, whose things must not show in its lists and events.
fn other_project(project: &str) -> String {
    format!("{project}-other")
}

fn name(project: &str, service: &str) -> String {
    format!("{project}-{service}-1")
}

/// The project's mark on a network or volume, which the engine writes as compose's labels.
fn ours(project: &str) -> Option<ResourceIdentity> {
    Some(ResourceIdentity {
        project: project.to_string(),
        config_hash: String::new(),
    })
}

fn network(project: &str, key: &str) -> DesiredNetwork {
    DesiredNetwork {
        key: key.to_string(),
        name: format!("{project}_{key}"),
        external: false,
        driver: None,
        driver_opts: IndexMap::new(),
        internal: false,
        attachable: false,
        enable_ipv4: None,
        enable_ipv6: false,
        ipam: None,
        identity: ours(project),
        labels: IndexMap::new(),
    }
}

fn volume(project: &str, key: &str) -> DesiredVolume {
    DesiredVolume {
        key: key.to_string(),
        name: format!("{project}_{key}"),
        external: false,
        driver: None,
        driver_opts: IndexMap::new(),
        identity: ours(project),
        labels: IndexMap::new(),
    }
}

fn attached_to(mut spec: ContainerSpec, network: &str) -> ContainerSpec {
    spec.networks.push(NetworkAttachment {
        network: network.to_string(),
        aliases: vec![],
        ipv4_address: None,
        ipv6_address: None,
        endpoint: Default::default(),
    });
    spec
}

fn mounting(mut spec: ContainerSpec, volume: &str) -> ContainerSpec {
    spec.mounts.push(Mount {
        kind: MountKind::Volume,
        source: Some(volume.to_string()),
        target: "/data".into(),
        read_only: false,
        create_host_path: false,
        nocopy: false,
        tmpfs_size: None,
        options: Default::default(),
    });
    spec
}

// --- waiting -------------------------------------------------------------------------------------

/// How long the real engine may take for what the in-memory one does at once.
const LIMIT: Duration = Duration::from_secs(20);

/// Waits until `check` holds (at once on the in-memory engine).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < LIMIT, "{what}: not within {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn state_of(engine: &dyn ContainerEngine, id: &str) -> ContainerState {
    engine.container(id).await.expect("the container").state
}

/// Waits until the container has stopped running.
async fn exited(engine: &dyn ContainerEngine, id: &str) {
    eventually("the container exits", || async {
        state_of(engine, id).await == ContainerState::Exited
    })
    .await;
}

type Events = BoxStream<'static, wharf::engine::Result<EngineEvent>>;

/// The events up to the first that `last` accepts, that one included.
async fn events_until(
    events: &mut Events,
    last: impl Fn(&EngineEvent) -> bool,
) -> Vec<EngineEvent> {
    let deadline = Instant::now() + LIMIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match tokio::time::timeout(left, events.next()).await {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(e))) => panic!("the event stream failed: {e}; so far {seen:#?}"),
            Ok(None) => panic!("the event stream ended; so far {seen:#?}"),
            Err(_) => panic!("the awaited event did not come within {LIMIT:?}; so far {seen:#?}"),
        };
        let done = last(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// What the supervisor reads of a container's event: `action name`.
fn container_events(events: &[EngineEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::Container)
        .map(|e| format!("{:?} {}", e.action, e.name))
        .collect()
}

/// The events without a pause and unpause that repeat the pair just before them. Docker 20.10
/// logs a pause both when the call returns and when containerd reports it, unless the container
/// is still marked paused; a report that comes after the unpause call logs the pair again (seen
/// once in a CI run). A consumer of events re-reads the state on each, so a repeat changes nothing.
fn without_late_repeats(actions: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::with_capacity(actions.len());
    let mut rest = actions.as_slice();
    while let Some((first, tail)) = rest.split_first() {
        let repeats = kept.len() >= 2
            && tail.first() == kept.last()
            && Some(first) == kept.get(kept.len() - 2)
            && first.starts_with("Pause ");
        if repeats {
            rest = &tail[1..];
        } else {
            kept.push(first.clone());
            rest = tail;
        }
    }
    kept
}

/// Nothing of the project is left on the engine.
async fn nothing_left(engine: &dyn ContainerEngine, project: &str) {
    assert_eq!(engine.containers(project).await.unwrap(), []);
    let ours = |labels: &std::collections::HashMap<String, String>| {
        labels.get(labels::PROJECT).map(String::as_str) == Some(project)
    };
    let networks = engine.networks().await.unwrap();
    assert!(!networks.iter().any(|n| ours(&n.labels)), "{networks:#?}");
    let volumes = engine.volumes().await.unwrap();
    assert!(!volumes.iter().any(|v| ours(&v.labels)), "{volumes:#?}");
}

// --- the scenarios -------------------------------------------------------------------------------

/// `containers` lists the project's containers (another project's not), by name, with their
/// labels, state and exit code; `container` finds one by name or ID.
async fn containers_are_listed_by_project_with_their_state(
    engine: &dyn ContainerEngine,
    project: &str,
) {
    let other = other_project(project);
    let web = engine
        .create_container(
            &name(project, "web"),
            &container(project, "web", Process::Serves),
        )
        .await
        .unwrap();
    let db = engine
        .create_container(
            &name(project, "db"),
            &container(project, "db", Process::Serves),
        )
        .await
        .unwrap();
    let stranger = engine
        .create_container(
            &name(&other, "web"),
            &container(&other, "web", Process::Serves),
        )
        .await
        .unwrap();

    let listed = engine.containers(project).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, [name(project, "db"), name(project, "web")]);
    for c in &listed {
        assert_eq!(c.state, ContainerState::Created);
        assert_eq!((c.exit_code, c.health), (None, None));
        assert_eq!(c.image, BUSYBOX_IMAGE);
        assert_eq!(
            c.labels.get(labels::PROJECT).map(String::as_str),
            Some(project)
        );
        assert_eq!(c.labels.get(labels::NUMBER).map(String::as_str), Some("1"));
    }
    assert_eq!(listed[1].id, web);
    assert_eq!(
        engine.container(&name(project, "web")).await.unwrap().id,
        web
    );
    assert_eq!(
        engine.container(&web).await.unwrap().name,
        name(project, "web")
    );

    // Every compose project's containers, the stopped ones only when asked.
    let ours_among = |all: Vec<wharf::engine::EngineContainer>| -> Vec<String> {
        all.into_iter()
            .filter(|c| c.labels.get(labels::PROJECT).map(String::as_str) == Some(project))
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(
        ours_among(engine.compose_containers(false).await.unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        ours_among(engine.compose_containers(true).await.unwrap()).len(),
        2
    );

    engine.start_container(&web).await.unwrap();
    assert_eq!(
        ours_among(engine.compose_containers(false).await.unwrap()),
        std::slice::from_ref(&web)
    );
    // Starting a running container changes nothing.
    engine.start_container(&web).await.unwrap();
    assert_eq!(state_of(engine, &web).await, ContainerState::Running);
    let listed = engine.containers(project).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|c| (c.state, c.exit_code))
            .collect::<Vec<_>>(),
        [
            (ContainerState::Created, None),
            (ContainerState::Running, None)
        ]
    );

    engine
        .stop_container(&web, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    // Stopping a stopped or created container changes nothing.
    engine
        .stop_container(&web, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    engine
        .stop_container(&db, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    let stopped = engine.container(&web).await.unwrap();
    assert_eq!(
        (stopped.state, stopped.exit_code),
        (ContainerState::Exited, Some(0))
    );
    assert_eq!(state_of(engine, &db).await, ContainerState::Created);

    for id in [&web, &db, &stranger] {
        engine.remove_container(id, true).await.unwrap();
    }
    nothing_left(engine, project).await;
    nothing_left(engine, &other).await;
}

/// A create or rename onto a taken name is `Conflict`, naming the container.
async fn a_taken_name_conflicts_on_create_and_rename(engine: &dyn ContainerEngine, project: &str) {
    let spec = container(project, "app", Process::Serves);
    let first = name(project, "app");
    let second = format!("{project}-app-2");
    let id = engine.create_container(&first, &spec).await.unwrap();
    match engine.create_container(&first, &spec).await {
        Err(e @ EngineError::Conflict(_)) => {
            assert_eq!(e.to_string(), format!("container {first} already exists"))
        }
        other => panic!("a second container named {first}: {other:?}"),
    }

    engine.rename_container(&id, &second).await.unwrap();
    assert_eq!(engine.container(&second).await.unwrap().id, id);
    assert!(matches!(
        engine.container(&first).await,
        Err(EngineError::NotFound(_))
    ));

    let other = engine.create_container(&first, &spec).await.unwrap();
    match engine.rename_container(&other, &second).await {
        Err(e @ EngineError::Conflict(_)) => {
            assert_eq!(e.to_string(), format!("container {second} already exists"))
        }
        other => panic!("a rename onto {second}: {other:?}"),
    }
    assert_eq!(engine.container(&other).await.unwrap().name, first);

    engine.remove_container(&other, true).await.unwrap();
    engine.remove_container(&id, true).await.unwrap();
    nothing_left(engine, project).await;
}

/// Every call on a container, network or volume that does not exist is `NotFound`, naming it.
async fn missing_things_are_not_found(engine: &dyn ContainerEngine, project: &str) {
    let missing = name(project, "missing");
    let container = format!("container {missing} not found");
    let not_found = |outcome: wharf::engine::Result<()>, expected: &str| match outcome {
        Err(e @ EngineError::NotFound(_)) => assert_eq!(e.to_string(), expected),
        other => panic!("expected `{expected}`: {other:?}"),
    };
    not_found(engine.container(&missing).await.map(drop), &container);
    not_found(engine.start_container(&missing).await, &container);
    not_found(
        engine
            .stop_container(&missing, Some(Duration::from_secs(1)))
            .await,
        &container,
    );
    not_found(engine.kill_container(&missing, "SIGKILL").await, &container);
    not_found(engine.remove_container(&missing, true).await, &container);
    not_found(engine.rename_container(&missing, "x").await, &container);
    not_found(engine.wait_container(&missing).await.map(drop), &container);
    let exec = ExecRequest {
        command: vec!["true".into()],
        ..ExecRequest::default()
    };
    not_found(engine.exec(&missing, &exec).await.map(drop), &container);
    let network = format!("{project}_missing");
    not_found(
        engine.remove_network(&network).await,
        &format!("network {network} not found"),
    );
    not_found(
        engine.remove_volume(&network).await,
        &format!("volume {network} not found"),
    );
    assert_eq!(engine.containers(project).await.unwrap(), []);
}

/// An image that is not there has no ID, no details, and fails a create as `NotFound`.
async fn a_missing_image_is_absent_and_fails_the_create(
    engine: &dyn ContainerEngine,
    project: &str,
) {
    let present = engine
        .image_id(BUSYBOX_IMAGE)
        .await
        .unwrap()
        .expect("the test image");
    let details = engine.image_details(BUSYBOX_IMAGE).await.unwrap();
    assert_eq!(details.id, present);
    // The image may carry other tags too (a bench tags it for its own projects).
    assert!(
        details.repo_tags.iter().any(|tag| tag == BUSYBOX_IMAGE),
        "{:?}",
        details.repo_tags
    );
    let image = format!("wharf-test/{project}:none");
    assert_eq!(engine.image_id(&image).await.unwrap(), None);
    let expected = format!("image {image} not found");
    match engine.image_details(&image).await {
        Err(e @ EngineError::NotFound(_)) => assert_eq!(e.to_string(), expected),
        other => panic!("{other:?}"),
    }
    let mut spec = container(project, "app", Process::Serves);
    spec.image = image.clone();
    match engine.create_container(&name(project, "app"), &spec).await {
        Err(e @ EngineError::NotFound(_)) => assert_eq!(e.to_string(), expected),
        other => panic!("{other:?}"),
    }
    match engine.delete_image(&image).await {
        Err(e @ EngineError::NotFound(_)) => assert_eq!(e.to_string(), expected),
        other => panic!("{other:?}"),
    }
    nothing_left(engine, project).await;
}

/// Networks and volumes are created with their labels and listed; a second create of the same
/// name conflicts; a network with a running container on it and a volume that a container
/// mounts (running or not) cannot be removed.
async fn networks_and_volumes_are_labelled_and_refused_while_in_use(
    engine: &dyn ContainerEngine,
    project: &str,
) {
    let net = network(project, "front");
    let vol = volume(project, "data");
    engine.create_network(&net).await.unwrap();
    engine.create_volume(&vol).await.unwrap();
    match engine.create_network(&net).await {
        Err(e @ EngineError::Conflict(_)) => {
            assert_eq!(
                e.to_string(),
                format!("network {} already exists", net.name)
            )
        }
        other => panic!("a second network {}: {other:?}", net.name),
    }
    match engine.create_volume(&vol).await {
        Err(e @ EngineError::Conflict(_)) => {
            assert_eq!(e.to_string(), format!("volume {} already exists", vol.name))
        }
        other => panic!("a second volume {}: {other:?}", vol.name),
    }
    let listed = engine.networks().await.unwrap();
    let front = listed.iter().find(|n| n.name == net.name).expect("listed");
    assert_eq!(
        front.labels.get(labels::NETWORK).map(String::as_str),
        Some("front")
    );
    assert_eq!(front.settings.driver, "bridge");
    assert!(front.gateway_v4().is_some(), "{front:#?}");
    let listed = engine.volumes().await.unwrap();
    let data = listed.iter().find(|v| v.name == vol.name).expect("listed");
    assert_eq!(
        data.labels.get(labels::VOLUME).map(String::as_str),
        Some("data")
    );
    assert_eq!(data.driver, "local");

    let spec = mounting(
        attached_to(container(project, "app", Process::Serves), &net.name),
        &vol.name,
    );
    let id = engine
        .create_container(&name(project, "app"), &spec)
        .await
        .unwrap();
    let mounted = engine.container(&id).await.unwrap().volumes;
    assert_eq!(
        mounted
            .iter()
            .map(|v| (v.name.as_str(), v.target.as_str(), v.anonymous))
            .collect::<Vec<_>>(),
        [(vol.name.as_str(), "/data", false)]
    );
    engine.start_container(&id).await.unwrap();
    let running = engine.container(&id).await.unwrap();
    assert!(running.addresses.contains_key(&net.name), "{running:#?}");
    match engine.remove_network(&net.name).await {
        Err(EngineError::Engine { message }) => {
            assert!(message.contains("active endpoints"), "{message}")
        }
        other => panic!("removing a network in use: {other:?}"),
    }
    engine
        .stop_container(&id, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    match engine.remove_volume(&vol.name).await {
        Err(EngineError::Engine { message }) => {
            assert!(message.contains("volume is in use"), "{message}")
        }
        other => panic!("removing a volume a stopped container mounts: {other:?}"),
    }
    // A stopped container holds no endpoint.
    engine.remove_network(&net.name).await.unwrap();
    engine.remove_container(&id, true).await.unwrap();
    engine.remove_volume(&vol.name).await.unwrap();
    assert!(
        !engine
            .networks()
            .await
            .unwrap()
            .iter()
            .any(|n| n.name == net.name)
    );
    assert!(
        !engine
            .volumes()
            .await
            .unwrap()
            .iter()
            .any(|v| v.name == vol.name)
    );
    nothing_left(engine, project).await;
}

/// A process's exit code is listed and is what `wait_container` returns: at once for a
/// container that has stopped, at its stop for a running one; a SIGKILL is 137.
async fn exit_codes_are_listed_and_waited_for(engine: &dyn ContainerEngine, project: &str) {
    let failing = engine
        .create_container(
            &name(project, "failing"),
            &container(project, "failing", Process::ExitsWithThree),
        )
        .await
        .unwrap();
    engine.start_container(&failing).await.unwrap();
    assert_eq!(engine.wait_container(&failing).await.unwrap(), 3);
    assert_eq!(engine.wait_container(&failing).await.unwrap(), 3);
    let listed = engine.containers(project).await.unwrap();
    assert_eq!(
        (listed[0].state, listed[0].exit_code),
        (ContainerState::Exited, Some(3))
    );

    let serving = engine
        .create_container(
            &name(project, "serving"),
            &container(project, "serving", Process::Serves),
        )
        .await
        .unwrap();
    engine.start_container(&serving).await.unwrap();
    let (waited, stopped) = tokio::join!(engine.wait_container(&serving), async {
        // Let the wait reach the engine first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        engine
            .stop_container(&serving, Some(Duration::from_secs(10)))
            .await
    });
    stopped.unwrap();
    assert_eq!(waited.unwrap(), 0);

    engine.start_container(&serving).await.unwrap();
    engine.kill_container(&serving, "SIGKILL").await.unwrap();
    assert_eq!(engine.wait_container(&serving).await.unwrap(), 137);
    exited(engine, &serving).await;
    assert_eq!(
        engine.container(&serving).await.unwrap().exit_code,
        Some(137)
    );
    // Killing a stopped container is the engine's refusal.
    match engine.kill_container(&serving, "SIGKILL").await {
        Err(EngineError::Engine { message }) => {
            assert!(message.contains("is not running"), "{message}")
        }
        other => panic!("killing a stopped container: {other:?}"),
    }

    engine.remove_container(&failing, true).await.unwrap();
    engine.remove_container(&serving, true).await.unwrap();
    nothing_left(engine, project).await;
}

/// `remove_container` removes a running container too (the engine's force), killing it.
async fn a_running_container_is_removed_by_force(engine: &dyn ContainerEngine, project: &str) {
    let id = engine
        .create_container(
            &name(project, "app"),
            &container(project, "app", Process::Serves),
        )
        .await
        .unwrap();
    engine.start_container(&id).await.unwrap();
    let mut events = engine.events(project).await.unwrap();
    engine.remove_container(&id, true).await.unwrap();
    let seen = events_until(&mut events, |e| e.action == EventAction::Destroy).await;
    let app = name(project, "app");
    assert_eq!(
        container_events(&seen),
        [
            format!("Kill {{ signal: Some(9) }} {app}"),
            format!("Die {{ exit_code: Some(137) }} {app}"),
            format!("Destroy {app}"),
        ]
    );
    nothing_left(engine, project).await;
}

/// The container events the supervisor reads, in the engine's order and with the container's
/// labels: create, start, die with the exit code, `stop` as kill 15 / die / stop, `kill` as
/// kill 9 / die 137, rename with the old name, destroy.
async fn events_tell_start_die_stop_kill_rename_destroy(
    engine: &dyn ContainerEngine,
    project: &str,
) {
    let mut events = engine.events(project).await.unwrap();
    let app = name(project, "app");
    let failing = name(project, "failing");
    let id = engine
        .create_container(&app, &container(project, "app", Process::Serves))
        .await
        .unwrap();
    engine.start_container(&id).await.unwrap();
    let exits = engine
        .create_container(
            &failing,
            &container(project, "failing", Process::ExitsWithThree),
        )
        .await
        .unwrap();
    engine.start_container(&exits).await.unwrap();
    let seen = events_until(&mut events, |e| matches!(e.action, EventAction::Die { .. })).await;
    assert_eq!(
        container_events(&seen),
        [
            format!("Create {app}"),
            format!("Start {app}"),
            format!("Create {failing}"),
            format!("Start {failing}"),
            format!("Die {{ exit_code: Some(3) }} {failing}"),
        ]
    );
    let first = &seen[0];
    assert_eq!(
        (first.id.as_str(), first.service(), first.number()),
        (id.as_str(), Some("app"), Some(1))
    );
    assert!(
        seen.windows(2).all(|w| w[0].time_nanos <= w[1].time_nanos),
        "{seen:#?}"
    );

    engine
        .stop_container(&id, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    engine.start_container(&id).await.unwrap();
    engine.kill_container(&id, "SIGKILL").await.unwrap();
    exited(engine, &id).await;
    let renamed = name(project, "renamed");
    engine.rename_container(&id, &renamed).await.unwrap();
    engine.remove_container(&id, true).await.unwrap();
    engine.remove_container(&exits, true).await.unwrap();
    let seen = events_until(&mut events, |e| {
        e.action == EventAction::Destroy && e.id == exits
    })
    .await;
    assert_eq!(
        container_events(&seen),
        [
            format!("Kill {{ signal: Some(15) }} {app}"),
            format!("Die {{ exit_code: Some(0) }} {app}"),
            format!("Stop {app}"),
            format!("Start {app}"),
            format!("Kill {{ signal: Some(9) }} {app}"),
            format!("Die {{ exit_code: Some(137) }} {app}"),
            format!("Rename {{ old_name: Some({app:?}) }} {renamed}"),
            format!("Destroy {renamed}"),
            format!("Destroy {failing}"),
        ]
    );
    assert!(
        seen.iter()
            .all(|e| e.labels.get(labels::PROJECT).map(String::as_str) == Some(project))
    );
    nothing_left(engine, project).await;
}

/// A container with a healthcheck is listed `starting`, then healthy or unhealthy, and the
/// change is a `health_status` event; a stopped container has no health.
async fn health_changes_are_listed_and_are_events(engine: &dyn ContainerEngine, project: &str) {
    let mut events = engine.events(project).await.unwrap();
    let mut ids = Vec::new();
    for (service, process, health) in [
        ("good", Process::TurnsHealthy, Health::Healthy),
        ("sick", Process::TurnsUnhealthy, Health::Unhealthy),
    ] {
        let id = engine
            .create_container(
                &name(project, service),
                &container(project, service, process),
            )
            .await
            .unwrap();
        assert_eq!(engine.container(&id).await.unwrap().health, None);
        engine.start_container(&id).await.unwrap();
        let seen = events_until(&mut events, |e| {
            matches!(e.action, EventAction::HealthStatus(_))
        })
        .await;
        assert_eq!(
            container_events(&seen),
            [
                format!("Create {}", name(project, service)),
                format!("Start {}", name(project, service)),
                format!("HealthStatus({health:?}) {}", name(project, service)),
            ]
        );
        eventually("the health is listed", || async {
            let listed = engine.containers(project).await.unwrap();
            listed
                .iter()
                .any(|c| c.id == id && c.health == Some(health))
        })
        .await;
        ids.push(id);
    }
    for id in &ids {
        engine
            .stop_container(id, Some(Duration::from_secs(10)))
            .await
            .unwrap();
        assert_eq!(engine.container(id).await.unwrap().health, None);
        engine.remove_container(id, true).await.unwrap();
    }
    nothing_left(engine, project).await;
}

/// An exec's exit code is its outcome, not an error; an exec in a stopped container is the
/// engine's refusal; a started exec's code is read once it has ended.
async fn execs_end_with_their_exit_codes(engine: &dyn ContainerEngine, project: &str) {
    let id = engine
        .create_container(
            &name(project, "app"),
            &container(project, "app", Process::Serves),
        )
        .await
        .unwrap();
    engine.start_container(&id).await.unwrap();
    let request = |command: &[&str]| ExecRequest {
        command: command.iter().map(|s| s.to_string()).collect(),
        ..ExecRequest::default()
    };
    let passing = engine.exec(&id, &request(&["true"])).await.unwrap();
    assert_eq!(passing.exit_code, Some(0));
    let failing = engine.exec(&id, &request(&FAILING_EXEC)).await.unwrap();
    assert_eq!(failing.exit_code, Some(FAILING_EXEC_CODE));

    let started = engine
        .start_exec(&id, &request(&FAILING_EXEC), Streams::default(), true)
        .await
        .unwrap();
    assert!(started.attachment.is_none());
    eventually("the detached exec ends", || async {
        engine.exec_exit_code(&started.id).await.unwrap().is_some()
    })
    .await;
    assert_eq!(
        engine.exec_exit_code(&started.id).await.unwrap(),
        Some(FAILING_EXEC_CODE)
    );
    let unknown = format!("{project}-no-such-exec");
    match engine.exec_exit_code(&unknown).await {
        Err(e @ EngineError::NotFound(_)) => {
            assert_eq!(e.to_string(), format!("exec {unknown} not found"))
        }
        other => panic!("an unknown exec: {other:?}"),
    }

    engine
        .stop_container(&id, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    match engine.exec(&id, &request(&["true"])).await {
        Err(EngineError::Engine { message }) => {
            assert!(message.contains("is not running"), "{message}")
        }
        other => panic!("an exec in a stopped container: {other:?}"),
    }
    engine.remove_container(&id, true).await.unwrap();
    nothing_left(engine, project).await;
}

/// The project's networks and volumes are events of its stream, with their labels, in the
/// engine's order among themselves; another project's are not. The stream is read promptly, as
/// the supervisor reads it: a network or volume removed before the stream has read its `create`
/// may not be reported at all (see `ContainerEngine::events`).
async fn networks_and_volumes_are_events_of_their_project(
    engine: &dyn ContainerEngine,
    project: &str,
) {
    let other = other_project(project);
    let mut events = engine.events(project).await.unwrap();
    let net = network(project, "front");
    let vol = volume(project, "data");
    let strangers = (network(&other, "front"), volume(&other, "data"));
    engine.create_network(&strangers.0).await.unwrap();
    engine.create_volume(&strangers.1).await.unwrap();
    engine.create_network(&net).await.unwrap();
    let mut seen = events_until(&mut events, |e| e.kind == EventKind::Network).await;
    engine.create_volume(&vol).await.unwrap();
    seen.extend(events_until(&mut events, |e| e.kind == EventKind::Volume).await);
    let id = engine
        .create_container(
            &name(project, "app"),
            &mounting(
                attached_to(container(project, "app", Process::Serves), &net.name),
                &vol.name,
            ),
        )
        .await
        .unwrap();
    engine.start_container(&id).await.unwrap();
    engine
        .stop_container(&id, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    engine.remove_container(&id, true).await.unwrap();
    engine.remove_network(&strangers.0.name).await.unwrap();
    engine.remove_volume(&strangers.1.name).await.unwrap();
    engine.remove_network(&net.name).await.unwrap();
    engine.remove_volume(&vol.name).await.unwrap();
    seen.extend(
        events_until(&mut events, |e| {
            e.kind == EventKind::Volume && e.action == EventAction::Destroy
        })
        .await,
    );
    let resources: Vec<String> = seen
        .iter()
        .filter(|e| e.kind != EventKind::Container)
        .map(|e| format!("{:?} {:?} {}", e.kind, e.action, e.name))
        .collect();
    assert_eq!(
        resources,
        [
            format!("Network Create {}", net.name),
            format!("Volume Create {}", vol.name),
            // A container create that mounts a volume is a `create` of it again.
            format!("Volume Create {}", vol.name),
            format!("Network Other(\"connect\") {}", net.name),
            format!("Volume Other(\"mount\") {}", vol.name),
            format!("Network Other(\"disconnect\") {}", net.name),
            format!("Volume Other(\"unmount\") {}", vol.name),
            format!("Network Destroy {}", net.name),
            format!("Volume Destroy {}", vol.name),
        ],
        "{seen:#?}"
    );
    for event in seen.iter().filter(|e| e.kind != EventKind::Container) {
        assert_eq!(
            event.labels.get(labels::PROJECT).map(String::as_str),
            Some(project),
            "{event:#?}"
        );
    }
    nothing_left(engine, project).await;
    nothing_left(engine, &other).await;
}

/// A paused container is listed paused, keeping its address (pause and unpause are events); it
/// cannot be paused twice or unpaused when running; a stop unpauses it to end it.
async fn a_paused_container_is_listed_paused_and_stops(
    engine: &dyn ContainerEngine,
    project: &str,
) {
    let app = name(project, "app");
    let net = network(project, "front");
    engine.create_network(&net).await.unwrap();
    let id = engine
        .create_container(
            &app,
            &attached_to(container(project, "app", Process::Serves), &net.name),
        )
        .await
        .unwrap();
    engine.start_container(&id).await.unwrap();
    let mut events = engine.events(project).await.unwrap();
    engine.pause_container(&id).await.unwrap();
    eventually("the container is paused", || async {
        state_of(engine, &id).await == ContainerState::Paused
    })
    .await;
    let paused = engine.container(&id).await.unwrap();
    assert!(paused.addresses.contains_key(&net.name), "{paused:#?}");
    assert!(matches!(
        engine.pause_container(&id).await,
        Err(EngineError::Engine { .. })
    ));
    engine.unpause_container(&id).await.unwrap();
    // Docker 20.10 records the resume when containerd reports it, a moment after the call.
    eventually("the container runs again", || async {
        state_of(engine, &id).await == ContainerState::Running
    })
    .await;
    assert!(matches!(
        engine.unpause_container(&id).await,
        Err(EngineError::Engine { .. })
    ));
    engine.pause_container(&id).await.unwrap();
    engine
        .stop_container(&id, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    let stopped = engine.container(&id).await.unwrap();
    assert_eq!(stopped.state, ContainerState::Exited);
    let seen = events_until(&mut events, |e| e.action == EventAction::Stop).await;
    assert_eq!(
        without_late_repeats(container_events(&seen)),
        [
            format!("Pause {app}"),
            format!("Unpause {app}"),
            format!("Pause {app}"),
            format!("Kill {{ signal: Some(15) }} {app}"),
            format!("Unpause {app}"),
            format!("Die {{ exit_code: Some(0) }} {app}"),
            format!("Stop {app}"),
        ]
    );
    engine.remove_container(&id, true).await.unwrap();
    engine.remove_network(&net.name).await.unwrap();
    nothing_left(engine, project).await;
}

/// A container's anonymous volume is listed as anonymous, and goes with the container only
/// when the removal asks for its volumes.
async fn anonymous_volumes_go_with_their_container_when_asked(
    engine: &dyn ContainerEngine,
    project: &str,
) {
    let mut spec = container(project, "app", Process::Serves);
    spec.mounts.push(Mount {
        kind: MountKind::Volume,
        source: None,
        target: "/scratch".into(),
        read_only: false,
        create_host_path: false,
        nocopy: false,
        tmpfs_size: None,
        options: Default::default(),
    });
    // The kept one last, so that nothing fails between its removal and its volume's (the
    // cleanup of the real engine removes the anonymous volumes of the containers left, not a
    // volume left without them).
    let mut anonymous = Vec::new();
    for (service, with_volumes) in [("removed", true), ("kept", false)] {
        let id = engine
            .create_container(&name(project, service), &spec)
            .await
            .unwrap();
        let mounted = engine.container(&id).await.unwrap().volumes;
        assert_eq!(mounted.len(), 1, "{mounted:#?}");
        assert!(
            mounted[0].anonymous && mounted[0].target == "/scratch",
            "{mounted:#?}"
        );
        let volume = mounted[0].name.clone();
        assert!(
            engine
                .volumes()
                .await
                .unwrap()
                .iter()
                .any(|v| v.name == volume)
        );
        engine.remove_container(&id, with_volumes).await.unwrap();
        let left = engine
            .volumes()
            .await
            .unwrap()
            .iter()
            .any(|v| v.name == volume);
        assert_eq!(left, !with_volumes, "{service}: {volume} left");
        anonymous.push(volume);
    }
    engine.remove_volume(&anonymous[1]).await.unwrap();
    nothing_left(engine, project).await;
}
