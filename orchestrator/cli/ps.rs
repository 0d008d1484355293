//! `wharf ps`: the project's containers.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;

use super::GlobalArgs;
use super::error::CliError;
use super::session::Session;
use crate::engine::ContainerState;
use crate::engine::listing::human_duration;
use crate::engine::timestamp::go_utc;
use crate::observe::{Observed, ObservedContainer};
use crate::restart::{Millis, RestartBook};
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
    /// Format the output: table or json (one object per line)
    #[arg(long, value_enum, default_value = "table")]
    pub format: PsFormat,
    /// Filter services by a property (supported filters: status), as KEY=VALUE
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<String>,
    /// Filter services by status: paused, restarting, removing, running, dead, created, exited
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Include orphaned services (not declared by the project)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub orphans: bool,
    /// Services to list (default: all)
    #[arg(value_name = "SERVICE")]
    pub services_named: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PsFormat {
    Table,
    Json,
}

/// The statuses `--status` and `--filter status=` select, in the engine's words. Compose adds
/// `--filter status=` to `--status`; either shows stopped containers too.
fn statuses(args: &PsArgs) -> Result<Vec<String>, String> {
    let mut statuses = args.status.clone();
    if let Some(filter) = &args.filter {
        let (key, value) = filter
            .split_once('=')
            .ok_or("arguments to --filter should be in form KEY=VAL")?;
        if key != "status" {
            return Err(format!("unknown filter {key}"));
        }
        statuses.push(value.to_string());
    }
    Ok(statuses)
}

fn state_name(state: ContainerState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub async fn run(global: &GlobalArgs, args: &PsArgs) -> Result<ExitCode, CliError> {
    let statuses = statuses(args).map_err(CliError::Message)?;
    // One engine call, made while the files load: `ps` must be fast.
    let (session, containers) = Session::open_listed(global).await?;
    let observed = Observed::from_containers(session.name(), containers);
    let named = &args.services_named;
    session.check_services(named, &observed)?;
    let all = args.all || !statuses.is_empty();
    let shown: Vec<&ObservedContainer> = observed
        .containers()
        .filter(|c| all || c.is_up())
        .filter(|c| named.is_empty() || named.contains(c.service()))
        .filter(|c| statuses.is_empty() || statuses.contains(&state_name(c.state)))
        .filter(|c| args.orphans || session.target.knows(c.service()) != Some(false))
        .collect();
    if args.quiet {
        shown.iter().for_each(|c| println!("{}", c.id));
    } else if args.services {
        let mut names: Vec<&str> = shown.iter().map(|c| c.service().as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.iter().for_each(|n| println!("{n}"));
    } else {
        let state = StateDir::of(session.name());
        let supervised = Supervised {
            book: state.load_book(),
            now: Millis::from_system_time(SystemTime::now()),
            trunc: !args.no_trunc,
        };
        let supervisor = SupervisorState::of(&state);
        match args.format {
            PsFormat::Json => {
                print!("{}", json(session.name(), &shown, &supervised, &supervisor))
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
    /// Truncate commands, IDs and mount names as compose does without `--no-trunc`.
    trunc: bool,
}

impl Supervised {
    fn restarts(&self, c: &ObservedContainer) -> u64 {
        self.book
            .get(c.service(), c.number())
            .map_or(0, |s| s.restarts)
    }

    /// `restarting (attempt k, next in t)` while the supervisor has a restart pending.
    fn pending(&self, c: &ObservedContainer) -> Option<String> {
        match c.is_up() {
            false => self.book.display_status(c.service(), c.number(), self.now),
            true => None,
        }
    }

    /// The RESTARTS column: the count, and a pending restart.
    fn restarts_cell(&self, c: &ObservedContainer) -> String {
        let count = self.restarts(c);
        match self.pending(c) {
            Some(pending) => format!("{count}, {pending}"),
            None => count.to_string(),
        }
    }

    fn command(&self, c: &ObservedContainer) -> String {
        let command = &c.engine.listing.command;
        go_quote(&match self.trunc {
            true => ellipsis(command, 20),
            false => command.clone(),
        })
    }
}

/// How long ago a Unix time was, for people: `up 3 minutes`.
fn uptime(started: u64) -> String {
    human_duration(now() - started as i64).to_lowercase()
}

/// `5 seconds ago`, as `docker ps` writes a creation time.
fn ago(created: i64) -> String {
    format!("{} ago", human_duration(now() - created))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// At most `width` characters, the last one `…` when cut (the Docker CLI's `Ellipsis`).
fn ellipsis(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// Go's `strconv.Quote`, with which `docker ps` shows a command.
fn go_quote(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn table(containers: &[&ObservedContainer], supervised: &Supervised) -> String {
    let header = [
        "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "RESTARTS", "PORTS",
    ];
    let rows: Vec<[String; 8]> = containers
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.engine.image.clone(),
                supervised.command(c),
                c.service().to_string(),
                ago(c.engine.created),
                c.engine.listing.status.clone(),
                supervised.restarts_cell(c),
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

/// One JSON object per line, with compose's keys and values, plus wharf's own: `Number`,
/// `Restarts`, `RestartStatus` (a pending restart), `Created` (Unix seconds), `Supervisor`.
fn json(
    project: &str,
    containers: &[&ObservedContainer],
    supervised: &Supervised,
    supervisor: &SupervisorState,
) -> String {
    let supervisor = supervisor.json();
    let mut out = String::new();
    for c in containers {
        let listing = &c.engine.listing;
        let id = match supervised.trunc {
            true => c.id.chars().take(12).collect(),
            false => c.id.clone(),
        };
        let mut labels: Vec<String> = c
            .engine
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort_unstable();
        let mounts: Vec<String> = listing
            .mounts
            .iter()
            .map(|m| match supervised.trunc {
                true => ellipsis(&m.name, 15),
                false => m.name.clone(),
            })
            .collect();
        let item = serde_json::json!({
            "Command": supervised.command(c),
            "CreatedAt": go_utc(c.engine.created),
            "ExitCode": c.exit_code.unwrap_or(0),
            "Health": c.health.map(|h| serde_json::to_value(h).unwrap_or_default()).unwrap_or_else(|| "".into()),
            "ID": id,
            "Image": c.engine.image,
            "Labels": labels.join(","),
            "LocalVolumes": listing.mounts.iter().filter(|m| m.local).count().to_string(),
            "Mounts": mounts.join(","),
            "Name": c.name,
            "Names": c.name,
            "Networks": listing.networks.join(","),
            "Ports": c.engine.ports.join(", "),
            "Project": project,
            "Publishers": listing.publishers,
            "RunningFor": ago(c.engine.created),
            "Service": c.service(),
            "Size": "0B",
            "State": c.state,
            "Status": listing.status,
            "Number": c.number(),
            "Restarts": supervised.restarts(c),
            "RestartStatus": supervised.pending(c).unwrap_or_default(),
            "Created": c.engine.created,
            "Supervisor": supervisor,
        });
        out.push_str(&item.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{ellipsis, go_quote};

    #[test]
    fn commands_are_cut_and_quoted_as_docker_ps_shows_them() {
        assert_eq!(
            go_quote(&ellipsis("sh -c 'echo hi; exit 3'", 20)),
            r#""sh -c 'echo hi; exi…""#
        );
        assert_eq!(go_quote(&ellipsis("sleep 3600", 20)), r#""sleep 3600""#);
        assert_eq!(go_quote("say \"hi\"\n"), r#""say \"hi\"\n""#);
    }
}
