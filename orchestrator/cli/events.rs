//! `wharf events`: the engine's events about the project's containers, as compose prints them
//! (a line each, or `--json`), until Ctrl-C or SIGTERM.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use clap::Args;
use futures_util::StreamExt;

use super::GlobalArgs;
use super::error::CliError;
use super::session::Session;
use crate::engine::{EngineEvent, EventAction, EventKind, Health};

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Output events as a stream of json objects
    #[arg(long)]
    pub json: bool,
    /// Services to follow (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &EventsArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let shutdown = super::shutdown::signal();
    let mut events = session.runtime.events(session.name()).await?;
    let observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    // The engine's container events name the image; the runtime's keep the labels only, so
    // the image comes from the containers, looked up once each.
    let mut images: HashMap<String, String> = observed
        .services
        .values()
        .flatten()
        .chain(&observed.oneoff)
        .map(|c| (c.id.clone(), c.engine.image.clone()))
        .collect();
    let follow = async {
        while let Some(event) = events.next().await {
            let event = event?;
            let Some(service) = event.service().map(str::to_string) else {
                continue;
            };
            if event.kind != EventKind::Container
                || !(args.services.is_empty() || args.services.contains(&service))
            {
                continue;
            }
            if !images.contains_key(&event.id)
                && let Ok(container) = session.runtime.container(&event.id).await
            {
                images.insert(event.id.clone(), container.image);
            }
            let image = images.get(&event.id).map(String::as_str);
            match args.json {
                true => println!("{}", json(&event, &service, image)),
                // compose ends each line with an empty one.
                false => println!("{}\n", text(&event, image)),
            }
        }
        Ok(ExitCode::SUCCESS)
    };
    tokio::select! {
        result = follow => result,
        () = shutdown => Ok(ExitCode::SUCCESS),
    }
}

/// The action as the engine names it.
fn action(action: &EventAction) -> String {
    match action {
        EventAction::Create => "create".into(),
        EventAction::Start => "start".into(),
        EventAction::Die { .. } => "die".into(),
        EventAction::Stop => "stop".into(),
        EventAction::Kill { .. } => "kill".into(),
        EventAction::Destroy => "destroy".into(),
        EventAction::HealthStatus(Health::Healthy) => "health_status: healthy".into(),
        EventAction::HealthStatus(Health::Unhealthy) => "health_status: unhealthy".into(),
        EventAction::HealthStatus(Health::Starting) => "health_status: starting".into(),
        EventAction::Rename { .. } => "rename".into(),
        EventAction::Pause => "pause".into(),
        EventAction::Unpause => "unpause".into(),
        EventAction::Oom => "oom".into(),
        EventAction::Other(other) => other.clone(),
    }
}

/// The event's attributes as compose passes them on: the container's name and image, what the
/// action carries (`exitCode`, `signal`, `oldName`) and the labels but compose's own, by name.
fn attributes<'a>(event: &'a EngineEvent, image: Option<&str>) -> BTreeMap<&'a str, String> {
    let mut out: BTreeMap<&str, String> = event
        .labels
        .iter()
        .filter(|(key, _)| !key.starts_with("com.docker.compose."))
        .map(|(key, value)| (key.as_str(), value.clone()))
        .collect();
    out.insert("name", event.name.clone());
    if let Some(image) = image {
        out.insert("image", image.to_string());
    }
    match &event.action {
        EventAction::Die {
            exit_code: Some(code),
        } => {
            out.insert("exitCode", code.to_string());
        }
        EventAction::Kill {
            signal: Some(signal),
        } => {
            out.insert("signal", signal.to_string());
        }
        EventAction::Rename {
            old_name: Some(old),
        } => {
            out.insert("oldName", old.clone());
        }
        _ => {}
    }
    out
}

fn json(event: &EngineEvent, service: &str, image: Option<&str>) -> String {
    serde_json::json!({
        "action": action(&event.action),
        "attributes": attributes(event, image),
        "id": event.id,
        "service": service,
        "time": rfc3339(event.time_nanos),
        "type": "container",
    })
    .to_string()
}

/// `2026-12-06 05:03:57.343543 container kill ID (image=…, name=…, signal=15)`.
fn text(event: &EngineEvent, image: Option<&str>) -> String {
    let (date, clock, nanos) = utc(event.time_nanos);
    let attributes: Vec<String> = attributes(event, image)
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    format!(
        "{date} {clock}.{:06} container {} {} ({})",
        nanos / 1000,
        action(&event.action),
        event.id,
        attributes.join(", ")
    )
}

/// Go's RFC3339Nano in UTC: the fraction without its trailing zeros, none when it is zero.
fn rfc3339(time_nanos: i64) -> String {
    let (date, clock, nanos) = utc(time_nanos);
    let fraction = format!("{nanos:09}");
    let fraction = fraction.trim_end_matches('0');
    match fraction.is_empty() {
        true => format!("{date}T{clock}Z"),
        false => format!("{date}T{clock}.{fraction}Z"),
    }
}

/// `("2026-12-06", "05:03:57", nanoseconds)` of a Unix time in nanoseconds, in UTC.
fn utc(time_nanos: i64) -> (String, String, i64) {
    let seconds = time_nanos.div_euclid(1_000_000_000);
    let nanos = time_nanos.rem_euclid(1_000_000_000);
    let (days, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            second / 3600,
            second % 3600 / 60,
            second % 60
        ),
        nanos,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: EventAction, time_nanos: i64) -> EngineEvent {
        EngineEvent {
            kind: EventKind::Container,
            action,
            id: "abc".into(),
            name: "p-db-1".into(),
            labels: HashMap::from([("com.docker.compose.service".into(), "db".into())]),
            time_nanos,
        }
    }

    #[test]
    fn times_are_written_as_go_writes_them() {
        // 2026-12-06T05:03:58.16861802Z
        let nanos = 1_796_533_438_168_618_020;
        assert_eq!(rfc3339(nanos), "2026-12-06T05:03:58.16861802Z");
        assert_eq!(rfc3339(1_796_533_438_000_000_000), "2026-12-06T05:03:58Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn an_event_as_compose_prints_it() {
        let kill = event(
            EventAction::Kill { signal: Some(15) },
            1_796_533_437_343_543_194,
        );
        assert_eq!(
            text(&kill, Some("busybox:latest")),
            "2026-12-06 05:03:57.343543 container kill abc (image=busybox:latest, name=p-db-1, signal=15)"
        );
        let die = event(
            EventAction::Die { exit_code: Some(0) },
            1_796_533_437_400_876_644,
        );
        assert_eq!(
            json(&die, "db", Some("busybox:latest")),
            r#"{"action":"die","attributes":{"exitCode":"0","image":"busybox:latest","name":"p-db-1"},"id":"abc","service":"db","time":"2026-12-06T05:03:57.400876644Z","type":"container"}"#
        );
    }
}
