//! The project's event stream and the engine's events in wharf's terms (`EngineEvent`).

use std::collections::{HashMap, HashSet};

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{
    EventsOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};

use super::errors::{Op, engine_error, map_error};
use crate::engine::labels;
use crate::engine::timestamp::unix_nanos;
use crate::engine::{
    EngineError, EngineEvent, EventAction, EventKind, Health, Result, signal_number,
};

/// Two subscriptions, one stream that ends when either ends:
/// - the project's containers, through the engine's label filter (a container's event
///   carries its labels);
/// - all networks and volumes, kept when they are the project's: Docker 20.10 puts no labels
///   on their events, so its label filter would drop every one. Which are the project's is
///   listed at the subscription and learnt from an inspect at the first event of any other.
///
/// Both ask for the events since the engine's clock (`/info`), read before anything else, so
/// that what happens while they are being set up is replayed from the engine's buffer, not
/// lost. bollard's request timeout only bounds the wait for the answer's head, which the
/// engine sends at once: an idle stream lives on.
pub(super) async fn subscribe(
    docker: &Docker,
    project: &str,
) -> Result<BoxStream<'static, Result<EngineEvent>>> {
    let since = engine_clock(docker).await?;
    let label = format!("{}={project}", labels::PROJECT);
    let resources = Resources::list(docker, project, &label).await?;

    let options = |filters: HashMap<&str, Vec<&str>>| {
        let mut options = EventsOptionsBuilder::new().filters(&filters);
        if let Some(since) = &since {
            options = options.since(since);
        }
        options.build()
    };
    let containers = docker
        .events(Some(options(HashMap::from([
            ("type", vec!["container"]),
            ("label", vec![label.as_str()]),
        ]))))
        .filter_map(|item| {
            std::future::ready(match item {
                Ok(message) => event_from_message(&message).map(Ok),
                Err(e) => Some(Err(engine_error(e))),
            })
        });
    let others = docker.events(Some(options(HashMap::from([(
        "type",
        vec!["network", "volume"],
    )]))));
    Ok(until_either_ends(containers, resources.events(others)))
}

/// The engine's clock, as the events API takes it (`seconds.nanoseconds`); `None` when the
/// engine does not tell it.
async fn engine_clock(docker: &Docker) -> Result<Option<String>> {
    let info = docker.info().await.map_err(engine_error)?;
    Ok(info
        .system_time
        .as_deref()
        .and_then(unix_nanos)
        .map(events_since))
}

/// The attributes the engine puts on a container's event beside the container's labels.
const EVENT_ATTRIBUTES: &[&str] = &[
    "name",
    "image",
    "exitCode",
    "signal",
    "oldName",
    "execID",
    "execDuration",
];

/// An event of a container, network or volume; `None` for `exec_*` and other kinds.
/// A network's or volume's event gets no labels here (the engine sends none).
fn event_from_message(message: &EventMessage) -> Option<EngineEvent> {
    let kind = match message.typ? {
        EventMessageTypeEnum::CONTAINER => EventKind::Container,
        EventMessageTypeEnum::NETWORK => EventKind::Network,
        EventMessageTypeEnum::VOLUME => EventKind::Volume,
        _ => return None,
    };
    let actor = message.actor.as_ref()?;
    let id = actor.id.clone().filter(|id| !id.is_empty())?;
    let empty = HashMap::new();
    let attributes = actor.attributes.as_ref().unwrap_or(&empty);
    let action = parse_action(message.action.as_deref()?, attributes)?;
    let name = attributes
        .get("name")
        .map(|name| name.trim_start_matches('/').to_string())
        .unwrap_or_else(|| id.clone());
    let labels = match kind {
        EventKind::Container => attributes
            .iter()
            .filter(|(key, _)| !EVENT_ATTRIBUTES.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        EventKind::Network | EventKind::Volume => HashMap::new(),
    };
    let time_nanos = message
        .time_nano
        .or_else(|| message.time.map(|secs| secs.saturating_mul(1_000_000_000)))
        .unwrap_or_default();
    Some(EngineEvent {
        kind,
        action,
        id,
        name,
        labels,
        time_nanos,
    })
}

/// An event's `Action` (`die` and `kill` with their `exitCode` and `signal` attributes,
/// `health_status: healthy`, `rename` with `oldName`); `None` for `exec_create: …`,
/// `exec_start: …`, `exec_die` and other `exec_*`, which wharf ignores.
fn parse_action(action: &str, attributes: &HashMap<String, String>) -> Option<EventAction> {
    let action = action.trim();
    if action.starts_with("exec_") {
        return None;
    }
    let (verb, detail) = match action.split_once(':') {
        Some((verb, detail)) => (verb.trim(), detail.trim()),
        None => (action, ""),
    };
    Some(match verb {
        "create" => EventAction::Create,
        "start" => EventAction::Start,
        "die" => EventAction::Die {
            exit_code: attributes
                .get("exitCode")
                .and_then(|code| code.trim().parse().ok()),
        },
        "stop" => EventAction::Stop,
        "kill" => EventAction::Kill {
            signal: attributes
                .get("signal")
                .and_then(|signal| signal_number(signal)),
        },
        "destroy" => EventAction::Destroy,
        "health_status" => match detail {
            "healthy" => EventAction::HealthStatus(Health::Healthy),
            "unhealthy" => EventAction::HealthStatus(Health::Unhealthy),
            "starting" => EventAction::HealthStatus(Health::Starting),
            _ => EventAction::Other(action.to_string()),
        },
        "rename" => EventAction::Rename {
            old_name: attributes
                .get("oldName")
                .map(|name| name.trim_start_matches('/').to_string()),
        },
        "pause" => EventAction::Pause,
        "unpause" => EventAction::Unpause,
        "oom" => EventAction::Oom,
        _ => EventAction::Other(action.to_string()),
    })
}

/// Which networks and volumes are the project's, for the events stream: seeded with a list,
/// learnt from `create` (and any other event of an unknown one) with an inspect.
struct Resources {
    docker: Docker,
    project: String,
    /// Network ID or volume name → its labels, for the project's.
    ours: HashMap<(EventKind, String), HashMap<String, String>>,
    /// Those inspected and found to be another's.
    others: HashSet<(EventKind, String)>,
}

impl Resources {
    async fn list(docker: &Docker, project: &str, label: &str) -> Result<Resources> {
        let filters = HashMap::from([("label", vec![label])]);
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(engine_error)?;
        let volumes = docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(engine_error)?;
        let mut ours = HashMap::new();
        for network in networks {
            if let Some(id) = network.id {
                ours.insert((EventKind::Network, id), network.labels.unwrap_or_default());
            }
        }
        for volume in volumes.volumes.unwrap_or_default() {
            ours.insert((EventKind::Volume, volume.name), volume.labels);
        }
        Ok(Resources {
            docker: docker.clone(),
            project: project.to_string(),
            ours,
            others: HashSet::new(),
        })
    }

    /// The project's events among the engine's network and volume events.
    fn events(
        self,
        engine: impl Stream<Item = std::result::Result<EventMessage, BollardError>>
        + Send
        + Unpin
        + 'static,
    ) -> impl Stream<Item = Result<EngineEvent>> + Send + 'static {
        stream::unfold((engine, self), |(mut engine, mut resources)| async move {
            loop {
                let item = match engine.next().await? {
                    Ok(message) => match resources.keep(&message).await {
                        Ok(Some(event)) => Ok(event),
                        Ok(None) => continue,
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(engine_error(e)),
                };
                return Some((item, (engine, resources)));
            }
        })
    }

    /// The event with its labels when it is about one of the project's networks or volumes.
    async fn keep(&mut self, message: &EventMessage) -> Result<Option<EngineEvent>> {
        let Some(mut event) = event_from_message(message) else {
            return Ok(None);
        };
        if event.kind == EventKind::Container {
            return Ok(None);
        }
        let key = (event.kind, event.id.clone());
        if event.action == EventAction::Destroy {
            self.others.remove(&key);
            return Ok(self.ours.remove(&key).map(|labels| {
                event.labels = labels;
                event
            }));
        }
        if self.others.contains(&key) {
            return Ok(None);
        }
        if !self.ours.contains_key(&key) {
            let found = match self.labels(event.kind, &event.id).await {
                Ok(found) => found,
                // Gone already: it was created and removed before the stream got here.
                Err(EngineError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            if found.get(labels::PROJECT) != Some(&self.project) {
                self.others.insert(key);
                return Ok(None);
            }
            self.ours.insert(key.clone(), found);
        }
        event.labels = self.ours.get(&key).cloned().unwrap_or_default();
        Ok(Some(event))
    }

    async fn labels(&self, kind: EventKind, id: &str) -> Result<HashMap<String, String>> {
        match kind {
            EventKind::Network => self
                .docker
                .inspect_network(id, None)
                .await
                .map(|network| network.labels.unwrap_or_default())
                .map_err(|e| map_error(e, &format!("network {id}"), Op::Other)),
            _ => self
                .docker
                .inspect_volume(id)
                .await
                .map(|volume| volume.labels)
                .map_err(|e| map_error(e, &format!("volume {id}"), Op::Other)),
        }
    }
}

/// The two streams as one, which ends as soon as either ends, and after its first error
/// (without waiting for the other).
fn until_either_ends(
    a: impl Stream<Item = Result<EngineEvent>> + Send + 'static,
    b: impl Stream<Item = Result<EngineEvent>> + Send + 'static,
) -> BoxStream<'static, Result<EngineEvent>> {
    let end = || stream::once(std::future::ready(None));
    let merged = stream::select(a.map(Some).chain(end()), b.map(Some).chain(end())).boxed();
    stream::unfold((merged, false), |(mut merged, failed)| async move {
        if failed {
            return None;
        }
        let item = merged.next().await.flatten()?;
        let failed = item.is_err();
        Some((item, (merged, failed)))
    })
    .boxed()
}

/// An instant (Unix nanoseconds) as the events API's `since` takes it: `seconds.nanoseconds`.
pub(super) fn events_since(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn event_actions() {
        let none = HashMap::new();
        assert_eq!(parse_action("create", &none), Some(EventAction::Create));
        assert_eq!(parse_action("start", &none), Some(EventAction::Start));
        assert_eq!(
            parse_action("die", &attributes(&[("exitCode", "137")])),
            Some(EventAction::Die {
                exit_code: Some(137)
            })
        );
        assert_eq!(
            parse_action("die", &none),
            Some(EventAction::Die { exit_code: None })
        );
        assert_eq!(
            parse_action("kill", &attributes(&[("signal", "15")])),
            Some(EventAction::Kill { signal: Some(15) })
        );
        assert_eq!(
            parse_action("kill", &attributes(&[("signal", "SIGKILL")])),
            Some(EventAction::Kill { signal: Some(9) })
        );
        assert_eq!(parse_action("stop", &none), Some(EventAction::Stop));
        assert_eq!(parse_action("destroy", &none), Some(EventAction::Destroy));
        assert_eq!(
            parse_action("health_status: healthy", &none),
            Some(EventAction::HealthStatus(Health::Healthy))
        );
        assert_eq!(
            parse_action("health_status: unhealthy", &none),
            Some(EventAction::HealthStatus(Health::Unhealthy))
        );
        assert_eq!(
            parse_action("health_status:unhealthy ", &none),
            Some(EventAction::HealthStatus(Health::Unhealthy))
        );
        assert_eq!(
            parse_action("health_status: sideways", &none),
            Some(EventAction::Other("health_status: sideways".into()))
        );
        assert_eq!(
            parse_action("rename", &attributes(&[("oldName", "/p-web-1")])),
            Some(EventAction::Rename {
                old_name: Some("p-web-1".into())
            })
        );
        assert_eq!(parse_action("pause", &none), Some(EventAction::Pause));
        assert_eq!(parse_action("unpause", &none), Some(EventAction::Unpause));
        assert_eq!(parse_action("oom", &none), Some(EventAction::Oom));
        assert_eq!(
            parse_action("restart", &none),
            Some(EventAction::Other("restart".into()))
        );
        assert_eq!(
            parse_action("connect", &none),
            Some(EventAction::Other("connect".into()))
        );
        // A healthcheck probe is three exec events; a colon inside the command changes nothing.
        assert_eq!(
            parse_action("exec_create: /bin/sh -c test -f /ok", &none),
            None
        );
        assert_eq!(parse_action("exec_start: sh -c 'echo a:b' ", &none), None);
        assert_eq!(
            parse_action("exec_die", &attributes(&[("exitCode", "1")])),
            None
        );
        assert_eq!(parse_action("exec_detach", &none), None);
    }

    #[test]
    fn events_from_the_engine_json() {
        // As Docker 20.10 sends them.
        let kill: EventMessage = serde_json::from_str(
            r#"{"status":"kill","id":"f725","from":"wharf-test/busybox:latest","Type":"container",
                "Action":"kill","Actor":{"ID":"f725","Attributes":{
                "com.docker.compose.project":"p","com.docker.compose.service":"web",
                "com.docker.compose.container-number":"3","image":"wharf-test/busybox:latest",
                "name":"p-web-3","signal":"9"}},"scope":"local","time":1795415080,
                "timeNano":1795415080680853679}"#,
        )
        .unwrap();
        let event = event_from_message(&kill).unwrap();
        assert_eq!(event.kind, EventKind::Container);
        assert_eq!(event.action, EventAction::Kill { signal: Some(9) });
        assert_eq!(event.id, "f725");
        assert_eq!(event.name, "p-web-3");
        assert_eq!(event.service(), Some("web"));
        assert_eq!(event.number(), Some(3));
        assert_eq!(event.time_nanos, 1_795_415_080_680_853_679);
        // The engine's own attributes are not labels.
        let mut keys: Vec<&str> = event.labels.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "com.docker.compose.container-number",
                "com.docker.compose.project",
                "com.docker.compose.service"
            ]
        );

        let network: EventMessage = serde_json::from_str(
            r#"{"Type":"network","Action":"destroy","Actor":{"ID":"f798",
                "Attributes":{"name":"p_default","type":"bridge"}},"scope":"local",
                "time":1795415081}"#,
        )
        .unwrap();
        let event = event_from_message(&network).unwrap();
        assert_eq!(
            (event.kind, &event.action, event.name.as_str()),
            (EventKind::Network, &EventAction::Destroy, "p_default")
        );
        assert!(event.labels.is_empty());
        assert_eq!(event.time_nanos, 1_795_415_081_000_000_000);

        let volume: EventMessage = serde_json::from_str(
            r#"{"Type":"volume","Action":"create","Actor":{"ID":"p_data",
                "Attributes":{"driver":"local"}},"timeNano":5}"#,
        )
        .unwrap();
        let event = event_from_message(&volume).unwrap();
        assert_eq!(
            (event.kind, event.name.as_str()),
            (EventKind::Volume, "p_data")
        );

        let exec: EventMessage = serde_json::from_str(
            r#"{"Type":"container","Action":"exec_start: true ","Actor":{"ID":"f725",
                "Attributes":{"name":"p-web-3"}},"timeNano":5}"#,
        )
        .unwrap();
        assert_eq!(event_from_message(&exec), None);
        let image: EventMessage = serde_json::from_str(
            r#"{"Type":"image","Action":"tag","Actor":{"ID":"sha256:1"},"timeNano":5}"#,
        )
        .unwrap();
        assert_eq!(event_from_message(&image), None);
    }

    fn event(name: &str) -> EngineEvent {
        EngineEvent {
            kind: EventKind::Container,
            action: EventAction::Start,
            id: name.to_string(),
            name: name.to_string(),
            labels: HashMap::new(),
            time_nanos: 0,
        }
    }

    #[tokio::test]
    async fn merged_streams_end_with_either() {
        use futures_util::FutureExt;
        // One ends: the merged stream ends, though the other never does.
        let mut merged = until_either_ends(
            stream::iter([Ok(event("a"))]),
            stream::pending::<Result<EngineEvent>>(),
        );
        assert_eq!(merged.next().await.unwrap().unwrap().name, "a");
        assert!(merged.next().now_or_never().unwrap().is_none());
        // One fails: the error, then the end, at once.
        let mut merged = until_either_ends(
            stream::pending::<Result<EngineEvent>>(),
            stream::iter([Err(EngineError::Unreachable("gone".into())), Ok(event("b"))])
                .chain(stream::pending()),
        );
        assert!(merged.next().await.unwrap().is_err());
        assert!(merged.next().now_or_never().unwrap().is_none());
    }
}
