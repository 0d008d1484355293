//! `wharf ps`: the project's containers.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;

use super::engine::Session;
use super::{GlobalArgs, output};
use crate::observe::{Observed, ObservedContainer};
use crate::restart::{Millis, RestartBook};
use crate::runtime::{ContainerState, Health};
use crate::supervisor::state::StateDir;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all stopped containers too
    #[arg(short, long)]
    pub all: bool,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display services
    #[arg(long)]
    pub services: bool,
    /// Format the output: table or json
    #[arg(long, value_enum, default_value = "table")]
    pub format: PsFormat,
    /// Services to list (default: all)
    #[arg(value_name = "SERVICE")]
    pub filter: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PsFormat {
    Table,
    Json,
}

pub async fn run(global: &GlobalArgs, args: &PsArgs) -> Result<ExitCode, ExitCode> {
    let session = Session::open(global).await?;
    // One engine call: `ps` must be fast.
    let containers = session
        .runtime
        .containers(session.name())
        .await
        .map_err(|err| {
            output::error_line(&err.to_string());
            ExitCode::FAILURE
        })?;
    let observed = Observed::from_containers(session.name(), containers);
    session.check_services(&args.filter, &observed)?;
    let shown: Vec<&ObservedContainer> = observed
        .containers()
        .filter(|c| args.all || c.is_running())
        .filter(|c| args.filter.is_empty() || args.filter.contains(&c.service))
        .collect();
    if args.quiet {
        shown.iter().for_each(|c| println!("{}", c.id));
    } else if args.services {
        let mut names: Vec<&str> = shown.iter().map(|c| c.service.as_str()).collect();
        names.dedup();
        names.iter().for_each(|n| println!("{n}"));
    } else {
        let state = StateDir::of(session.name());
        let supervised = Supervised {
            book: state.load_book(),
            now: Millis::from_system_time(SystemTime::now()),
        };
        let supervisor = SupervisorState::of(&state);
        match args.format {
            PsFormat::Json => {
                println!("{}", json(session.name(), &shown, &supervised, &supervisor))
            }
            PsFormat::Table => {
                print!("{}", table(&shown, &supervised));
                // Only a supervised project says so: the table stays compose's otherwise.
                if supervisor.running.is_some() || supervisor.detached {
                    println!("supervisor: {supervisor}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The project's supervisor as `ps` shows it.
struct SupervisorState {
    /// Pid and start time (Unix seconds) of a running supervisor.
    running: Option<(u32, u64)>,
    /// Started by `up -d` and kept alive by a keeper.
    detached: bool,
}

impl SupervisorState {
    fn of(state: &StateDir) -> SupervisorState {
        SupervisorState {
            running: state.running_supervisor(),
            detached: state.is_detached(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self.running {
            Some((pid, started)) => serde_json::json!({
                "State": "running",
                "Pid": pid,
                "StartedAt": started,
                "Detached": self.detached,
            }),
            // A keeper without a supervisor is starting it again.
            None if self.detached => serde_json::json!({ "State": "restarting", "Detached": true }),
            None => serde_json::json!({ "State": "not running" }),
        }
    }
}

impl std::fmt::Display for SupervisorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = if self.detached {
            "detached"
        } else {
            "attached"
        };
        match self.running {
            Some((pid, started)) => {
                write!(f, "running (pid {pid}, up {}, {mode})", uptime(started))
            }
            None if self.detached => f.write_str("restarting (its keeper is starting it again)"),
            None => f.write_str("not running (restart policies and drift are not enforced)"),
        }
    }
}

/// What `ps` knows beyond the engine: the supervisor's restart history.
struct Supervised {
    book: RestartBook,
    now: Millis,
}

impl Supervised {
    fn restarts(&self, c: &ObservedContainer) -> u64 {
        self.book
            .get(&c.service, c.number)
            .map_or(0, |s| s.restarts)
    }

    /// The engine's status, or `restarting (attempt k, next in t)` while a restart is pending.
    fn status(&self, c: &ObservedContainer) -> String {
        match c.is_running() {
            false => self
                .book
                .display_status(&c.service, c.number, self.now)
                .unwrap_or_else(|| status(c)),
            true => status(c),
        }
    }
}

/// `running`, `running (healthy)`, `exited (1)`.
pub fn status(c: &ObservedContainer) -> String {
    let state = serde_json::to_value(c.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    match (c.state, c.health) {
        (ContainerState::Exited | ContainerState::Dead, _) => {
            format!("{state} ({})", c.exit_code.unwrap_or(0))
        }
        (_, Some(health)) => {
            let health = match health {
                Health::Starting => "health: starting",
                Health::Healthy => "healthy",
                Health::Unhealthy => "unhealthy",
            };
            format!("{state} ({health})")
        }
        _ => state,
    }
}

/// How long ago a Unix time was, for people: `up 3 minutes`.
fn uptime(started: u64) -> String {
    ago(started as i64).trim_end_matches(" ago").to_string()
}

fn ago(created: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(created);
    let seconds = (now - created).max(0);
    let (count, unit) = match seconds {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86400 => (s / 3600, "hour"),
        s => (s / 86400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ago")
}

fn table(containers: &[&ObservedContainer], supervised: &Supervised) -> String {
    let header = [
        "NAME", "IMAGE", "SERVICE", "CREATED", "STATUS", "RESTARTS", "PORTS",
    ];
    let rows: Vec<[String; 7]> = containers
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.engine.image.clone(),
                c.service.clone(),
                ago(c.engine.created),
                supervised.status(c),
                supervised.restarts(c).to_string(),
                c.engine.ports.join(", "),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        if let Some(last) = out.last_mut() {
            *last = last.trim_end().to_string();
        }
        out.join("   ") + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn json(
    project: &str,
    containers: &[&ObservedContainer],
    supervised: &Supervised,
    supervisor: &SupervisorState,
) -> String {
    let supervisor = supervisor.json();
    let items: Vec<serde_json::Value> = containers
        .iter()
        .map(|c| {
            serde_json::json!({
                "ID": c.id,
                "Name": c.name,
                "Image": c.engine.image,
                "Project": project,
                "Service": c.service,
                "Number": c.number,
                "State": c.state,
                "Health": c.health.map(|h| serde_json::to_value(h).unwrap_or_default()).unwrap_or_else(|| "".into()),
                "ExitCode": c.exit_code.unwrap_or(0),
                "Status": supervised.status(c),
                "Restarts": supervised.restarts(c),
                "Created": c.engine.created,
                "Publishers": c.engine.ports,
                "Supervisor": supervisor,
            })
        })
        .collect();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".into())
}
