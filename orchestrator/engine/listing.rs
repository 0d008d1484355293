//! What the engine's container list says beyond state, for `ps` to print as compose does: the
//! engine's own status text (`Up 3 minutes (healthy)`, `Exited (0) 5 seconds ago`), the
//! command, mounts, networks and published ports. The engine writes the status text; when a
//! container comes from an inspect instead, [`status_text`] writes it the same way.

use super::{ContainerState, Health};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// The engine's status text, as `docker ps` prints it.
    pub status: String,
    /// The command and its arguments, joined with spaces.
    pub command: String,
    /// Each mount's volume name, or its source for a bind mount; `local` when the local
    /// volume driver holds it.
    pub mounts: Vec<ListedMount>,
    /// The networks it is attached to, sorted.
    pub networks: Vec<String>,
    /// Its ports: published ones with their host address and port, exposed ones with port 0.
    pub publishers: Vec<Publisher>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedMount {
    pub name: String,
    pub local: bool,
}

/// A port as compose's `ps --format json` writes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Publisher {
    #[serde(rename = "URL")]
    pub url: String,
    pub target_port: u16,
    pub published_port: u16,
    pub protocol: String,
}

/// A span of time as the Docker CLI writes it (go-units' `HumanDuration`): `Less than a second`,
/// `1 second`, `5 seconds`, `About a minute`, `3 minutes`, `About an hour`, `5 hours`, `3 days`,
/// `2 weeks`, `3 months`, `2 years`.
pub fn human_duration(seconds: i64) -> String {
    let hours = (seconds + 1800) / 3600;
    match seconds {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s / 60 == 1 => "About a minute".into(),
        s if s / 60 < 60 => format!("{} minutes", s / 60),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        s => format!("{} years", s / 3600 / 24 / 365),
    }
}

/// The status text the engine gives a container in its list, from what an inspect says:
/// `Up 3 minutes (healthy)`, `Up 2 hours (Paused)`, `Restarting (1) 2 seconds ago`,
/// `Exited (0) 5 seconds ago`, `Created`, `Removal In Progress`, `Dead`. Times are Unix
/// seconds.
pub fn status_text(
    state: ContainerState,
    health: Option<Health>,
    exit_code: Option<i64>,
    started: i64,
    finished: i64,
    now: i64,
) -> String {
    let code = exit_code.unwrap_or(0);
    match state {
        ContainerState::Running | ContainerState::Paused => {
            let mut text = format!("Up {}", human_duration(now - started));
            if state == ContainerState::Paused {
                text.push_str(" (Paused)");
            } else if let Some(health) = health {
                text.push_str(match health {
                    Health::Starting => " (health: starting)",
                    Health::Healthy => " (healthy)",
                    Health::Unhealthy => " (unhealthy)",
                });
            }
            text
        }
        ContainerState::Restarting => {
            format!("Restarting ({code}) {} ago", human_duration(now - finished))
        }
        ContainerState::Exited if finished > 0 => {
            format!("Exited ({code}) {} ago", human_duration(now - finished))
        }
        ContainerState::Created | ContainerState::Exited => "Created".into(),
        ContainerState::Removing => "Removal In Progress".into(),
        ContainerState::Dead => "Dead".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_docker_cli_writes_them() {
        let cases = [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (5399, "About an hour"),
            (5400, "2 hours"),
            (47 * 3600, "47 hours"),
            (48 * 3600, "2 days"),
            (14 * 86400, "2 weeks"),
            (60 * 86400, "2 months"),
            (2 * 365 * 86400, "2 years"),
        ];
        for (seconds, text) in cases {
            assert_eq!(human_duration(seconds), text, "{seconds} s");
        }
    }

    #[test]
    fn status_texts_are_the_engines() {
        let now = 1000;
        let status = |state, health, code| status_text(state, health, code, 700, 995, now);
        assert_eq!(
            status(ContainerState::Running, Some(Health::Healthy), None),
            "Up 5 minutes (healthy)"
        );
        assert_eq!(
            status(ContainerState::Running, Some(Health::Starting), None),
            "Up 5 minutes (health: starting)"
        );
        assert_eq!(
            status(ContainerState::Paused, Some(Health::Healthy), None),
            "Up 5 minutes (Paused)"
        );
        assert_eq!(
            status(ContainerState::Exited, None, Some(3)),
            "Exited (3) 5 seconds ago"
        );
        assert_eq!(
            status(ContainerState::Restarting, None, Some(1)),
            "Restarting (1) 5 seconds ago"
        );
        assert_eq!(
            status_text(ContainerState::Created, None, None, 0, 0, now),
            "Created"
        );
    }
}
