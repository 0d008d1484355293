//! The containers' log lines as `logs` and an attached `up` print them: one stream per
//! container, prefixed with its name in a colour of its service (`web-1  | `), merged in time
//! order within a window, followed across restarts and replacements.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};

use super::output;
use crate::engine::labels;
use crate::engine::timestamp::unix_nanos;
use crate::engine::{
    ContainerEngine, ContainerState, EventAction, EventKind, LogLine, LogOptions,
    Result as EngineResult,
};
use crate::observe::{Observed, ObservedContainer};
use crate::supervisor::watcher::{Notice, Subscription};

/// How log lines are printed, by `logs` and by an attached `up` (`--timestamps`, `--no-color`,
/// `--no-log-prefix`): the default is compose's, a coloured `web-1  | ` prefix and no time.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFormat {
    pub timestamps: bool,
    pub no_color: bool,
    pub no_prefix: bool,
}

/// The lines `--since` and `--until` keep: Unix nanoseconds, both ends included.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    pub fn keeps(&self, line: &LogLine) -> bool {
        let Some(at) = unix_nanos(&line.timestamp) else {
            return true;
        };
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at <= until)
    }

    /// The whole second the engine is asked to start at (its `since` takes seconds).
    pub fn since_seconds(&self) -> Option<i64> {
        self.since.map(|nanos| nanos.div_euclid(1_000_000_000))
    }
}

/// A time as `docker logs --since` reads it, in Unix nanoseconds: an RFC 3339 time (with or
/// without a fraction or an offset; without one it is UTC), a date, Unix seconds with an
/// optional fraction, or a Go duration that far before `now` (`42m`, `1h30m`).
pub fn parse_time(text: &str, now_nanos: i64) -> Result<i64, String> {
    let invalid = || format!("failed to parse value as time or duration: {text:?}");
    if let Ok(ago) = crate::spec::short::Duration::parse(text) {
        return Ok(now_nanos - ago.0.as_nanos() as i64);
    }
    if let Some((seconds, fraction)) = text.split_once('.').or(Some((text, "")))
        && !seconds.is_empty()
        && seconds.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
    {
        let seconds: i64 = seconds.parse().map_err(|_| invalid())?;
        let nanos: i64 = format!("{:0<9}", &fraction[..fraction.len().min(9)])
            .parse()
            .map_err(|_| invalid())?;
        return Ok(seconds * 1_000_000_000 + nanos);
    }
    let text = match text.len() {
        10 => format!("{text}T00:00:00Z"),
        _ if !text.contains(['Z', 'z', '+']) && text.rfind('-') < text.find('T') => {
            format!("{text}Z")
        }
        _ => text.to_string(),
    };
    unix_nanos(&text).ok_or_else(invalid)
}

pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Follows the logs of the selected containers (`logs -f`, attached `up`), the last `tail`
/// lines of each first: a container that starts later (restarted by the supervisor, replaced,
/// restored after drift) is followed from then on, and no line is printed twice. `events` is
/// a subscription made before `observed` was: a start in between is not missed.
pub async fn follow(
    runtime: Arc<dyn ContainerEngine>,
    observed: &Observed,
    services: &[String],
    printer: &Printer,
    tail: Option<u64>,
    events: Subscription,
) {
    let window = Window::default();
    follow_window(runtime, observed, services, printer, tail, window, events).await
}

/// [`follow`], for the lines of a time window: it ends once the window's end has passed.
pub async fn follow_window(
    runtime: Arc<dyn ContainerEngine>,
    observed: &Observed,
    services: &[String],
    printer: &Printer,
    tail: Option<u64>,
    window: Window,
    mut events: Subscription,
) {
    let end = async {
        match window.until {
            Some(until) => {
                let left = (until - now_nanos()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_nanos(left)).await
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(end);
    let first = LogOptions {
        follow: true,
        tail,
        since: window.since_seconds(),
    };
    let mut streams = stream::SelectAll::new();
    let containers = selected(observed, services);
    streams.extend(open(runtime.clone(), &containers, &first).await);
    // The containers whose stream is open, so that a list after missed events opens only
    // those of the others that run.
    let mut following: HashSet<String> = containers.into_iter().map(|c| c.name).collect();
    let is_selected = |service: Option<&str>| {
        service.is_some_and(|s| services.is_empty() || services.iter().any(|n| n == s))
    };
    // The time of the last line printed per container: a stream reopened on a restart starts
    // at that second, and what it repeats is skipped.
    let mut printed: HashMap<String, i64> = HashMap::new();
    // An exit is told when both its `die` and the end of its stream have come: the exit codes of
    // the `die`s whose stream still runs, and the streams that ended before their `die`.
    // (And the exits told from the listing, whose `die` is not to be told again.)
    let mut exits: HashMap<String, i64> = HashMap::new();
    let mut ended: HashSet<String> = HashSet::new();
    let mut told: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            () = &mut end => return,
            Some((name, line)) = streams.next() => {
                let Some(line) = line else {
                    following.remove(&name);
                    // The container's output ended: as compose, say how it exited, with the
                    // code of its `die` when that came first, else as the engine lists it once
                    // it has recorded the exit (also `restarting`: its policy starts it again,
                    // which reopens the stream); until then, the `die` to come tells it.
                    if let Some(code) = exits.remove(&name) {
                        printer.exit_line(&name, code);
                        continue;
                    }
                    let recorded = [ContainerState::Exited, ContainerState::Dead, ContainerState::Restarting];
                    match runtime.container(&name).await {
                        Ok(c) if recorded.contains(&c.state) => {
                            printer.exit_line(&name, c.exit_code.unwrap_or(0));
                            told.insert(name);
                        }
                        _ => {
                            ended.insert(name);
                        }
                    }
                    continue;
                };
                if !window.keeps(&line) {
                    continue;
                }
                let at = unix_nanos(&line.timestamp);
                if at.is_some_and(|at| printed.get(&name).is_some_and(|&last| at <= last)) {
                    continue;
                }
                if let Some(at) = at {
                    printed.insert(name.clone(), at);
                }
                printer.print(&name, &line);
            }
            notice = events.next() => match notice {
                Notice::Event(event) => {
                    let replica = event.kind == EventKind::Container
                        && is_selected(event.service())
                        && !labels::is_one_off(&event.labels);
                    if let (true, EventAction::Die { exit_code }) = (replica, &event.action) {
                        let code = exit_code.unwrap_or(0);
                        if ended.remove(&event.name) {
                            printer.exit_line(&event.name, code);
                        } else if !told.remove(&event.name) {
                            exits.insert(event.name.clone(), code);
                        }
                    }
                    if replica && event.action == EventAction::Start {
                        // A new run: an exit told from the listing whose `die` never came (it
                        // came before this follower subscribed) is over.
                        told.remove(&event.name);
                        let since = printed.get(&event.name).map(|&at| at / 1_000_000_000);
                        following.insert(event.name.clone());
                        streams.extend(open_one(&runtime, &event.id, &event.name, since).await);
                    }
                }
                // Starts may have been missed: the running containers not followed yet are.
                Notice::Relist => {
                    let Ok(listed) = runtime.containers(&observed.project).await else {
                        continue;
                    };
                    for c in &listed {
                        let exited = matches!(c.state, ContainerState::Exited | ContainerState::Dead);
                        if exited && ended.remove(&c.name) {
                            printer.exit_line(&c.name, c.exit_code.unwrap_or(0));
                        }
                    }
                    for c in listed {
                        let service = labels::service(&c.labels);
                        if c.state != ContainerState::Running
                            || !is_selected(service)
                            || !following.insert(c.name.clone())
                        {
                            continue;
                        }
                        let since = printed.get(&c.name).map(|&at| at / 1_000_000_000);
                        streams.extend(open_one(&runtime, &c.id, &c.name, since).await);
                    }
                }
                Notice::Unavailable { .. } => {}
            },
        }
    }
}

/// Sorts lines by the engine's time, as numbers: RFC3339Nano drops trailing zeros, so the
/// strings do not sort as the times do. The sort is stable: a container's lines that share a
/// time keep their order.
pub fn in_time_order(lines: &mut [(String, LogLine)]) {
    lines.sort_by_key(|(_, line)| unix_nanos(&line.timestamp));
}

pub fn selected(observed: &Observed, services: &[String]) -> Vec<ObservedContainer> {
    observed
        .containers()
        .filter(|c| services.is_empty() || services.contains(c.service()))
        .cloned()
        .collect()
}

/// A container's lines under its name, then `None` when its output ends.
type Tagged = BoxStream<'static, (String, Option<LogLine>)>;

pub async fn open(
    runtime: Arc<dyn ContainerEngine>,
    containers: &[ObservedContainer],
    options: &LogOptions,
) -> Vec<Tagged> {
    let mut streams = Vec::new();
    for container in containers {
        match runtime.logs(&container.id, options).await {
            Ok(lines) => streams.push(tagged(&container.name, lines)),
            Err(err) => output::error_line(&format!("logs of {}: {err}", container.name)),
        }
    }
    streams
}

/// The followed lines of one container from `since` (Unix seconds); none when it is gone.
async fn open_one(
    runtime: &Arc<dyn ContainerEngine>,
    id: &str,
    name: &str,
    since: Option<i64>,
) -> Option<Tagged> {
    let options = LogOptions {
        follow: true,
        tail: None,
        since,
    };
    runtime
        .logs(id, &options)
        .await
        .ok()
        .map(|lines| tagged(name, lines))
}

fn tagged(name: &str, lines: BoxStream<'static, EngineResult<LogLine>>) -> Tagged {
    let name = name.to_string();
    let end = stream::once(std::future::ready((name.clone(), None)));
    lines
        .filter_map(move |line| {
            let name = name.clone();
            async move { line.ok().map(|l| (name, Some(l))) }
        })
        .chain(end)
        .boxed()
}

/// Compose's prefix, `web-1  | `: each container's name without the project (a
/// `container_name` stays whole), padded to the longest plus one; one colour per service on a
/// terminal.
pub struct Printer {
    /// Container name → its prefix, coloured or not.
    prefixes: HashMap<String, String>,
    /// Container name → the name in its prefix (`web-1`).
    short_names: HashMap<String, String>,
    /// The width the names are padded to.
    width: usize,
    timestamps: bool,
}

const PALETTE: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

/// How compose names a container in log prefixes: without its project when it has the name
/// compose gives it (`web-1` for `shop-web-1`), whole when `container_name` set it.
pub fn short_name(project: &str, c: &ObservedContainer) -> String {
    let default = format!("{project}-{}-{}", c.service(), c.number());
    match c.name == default {
        true => c.name[project.len() + 1..].to_string(),
        false => c.name.clone(),
    }
}

impl Printer {
    /// The printer of the containers of `services` (every service when empty): prefixes are
    /// padded to the longest of their names, as compose pads them to the containers it follows.
    pub fn new(observed: &Observed, services: &[String], format: &LogFormat) -> Printer {
        let names: Vec<(String, String, usize)> = observed
            .services
            .iter()
            .enumerate()
            .filter(|(_, (service, _))| services.is_empty() || services.contains(service))
            .flat_map(|(i, (_, containers))| {
                containers
                    .iter()
                    .map(move |c| (c.name.clone(), short_name(&observed.project, c), i))
            })
            .collect();
        Printer::named(names, format)
    }

    /// The printer of streams named `(name, the name in its prefix, its service's index)`.
    pub fn named(names: Vec<(String, String, usize)>, format: &LogFormat) -> Printer {
        let colour = !format.no_color && output::colour(std::io::stdout().is_terminal());
        let width = names.iter().map(|(_, n, _)| n.len()).max().unwrap_or(0) + 1;
        let short_names = names
            .iter()
            .map(|(name, short, _)| (name.clone(), short.clone()))
            .collect();
        let prefixes = names
            .into_iter()
            .map(|(name, short, i)| {
                let prefix = match (format.no_prefix, colour) {
                    (true, _) => String::new(),
                    (false, false) => format!("{short:<width$} | "),
                    (false, true) => format!(
                        "\x1b[{}m{short:<width$} |\x1b[0m ",
                        PALETTE[i % PALETTE.len()]
                    ),
                };
                (name, prefix)
            })
            .collect();
        Printer {
            prefixes,
            short_names,
            width,
            timestamps: format.timestamps,
        }
    }

    /// A hook's output, as compose prints it in an attached `up`: under the container's name
    /// and `->`, padded as the other prefixes are (`web-1 ->  | migrated`).
    pub fn hook_output(&self, container: &str, output: &str) {
        let (Some(short), Some(prefix)) = (
            self.short_names.get(container),
            self.prefixes.get(container),
        ) else {
            return;
        };
        let label = format!("{short} ->");
        let width = self.width.max(label.len() + 1);
        let prefix = match prefix.split_once('m') {
            _ if prefix.is_empty() => String::new(),
            Some((colour, _)) if prefix.starts_with('\x1b') => {
                format!("{colour}m{label:<width$} |\x1b[0m ")
            }
            _ => format!("{label:<width$} | "),
        };
        for line in output.lines() {
            println!("{prefix}{line}");
        }
    }

    /// The names of the containers printed, as their prefixes show them, in order.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.short_names.values().map(String::as_str).collect();
        names.sort();
        names
    }

    /// compose's line for a container whose output ended: `web-1 exited with code 0`.
    fn exit_line(&self, container: &str, code: i64) {
        let name = self
            .short_names
            .get(container)
            .map_or(container, String::as_str);
        println!("{name} exited with code {code}");
    }

    pub fn print(&self, container: &str, line: &LogLine) {
        let mut out = self.prefixes.get(container).cloned().unwrap_or_default();
        if self.timestamps {
            out.push_str(&line.timestamp);
            out.push(' ');
        }
        out.push_str(line.text.trim_end_matches('\n'));
        println!("{out}");
    }
}

#[cfg(test)]
mod tests {
    use super::{Window, in_time_order, parse_time};
    use crate::engine::LogLine;

    #[test]
    fn times_read_as_docker_logs_reads_them() {
        let now = 1_709_210_096_000_000_000;
        let at = |text| parse_time(text, now);
        assert_eq!(at("2024-02-29T12:34:56Z"), Ok(now));
        assert_eq!(at("2024-02-29T12:34:56"), Ok(now));
        assert_eq!(at("2024-02-29T14:34:56.5+02:00"), Ok(now + 500_000_000));
        assert_eq!(
            at("2024-02-29"),
            Ok(now - (12 * 3600 + 34 * 60 + 56) * 1_000_000_000)
        );
        assert_eq!(at("1709210096"), Ok(now));
        assert_eq!(at("1709210096.25"), Ok(now + 250_000_000));
        assert_eq!(at("42m"), Ok(now - 42 * 60 * 1_000_000_000));
        assert_eq!(at("1h30m"), Ok(now - 5400 * 1_000_000_000));
        assert!(at("bogus").unwrap_err().contains("\"bogus\""));
    }

    #[test]
    fn a_window_keeps_both_ends() {
        let line = |timestamp: &str| LogLine {
            timestamp: timestamp.into(),
            stderr: false,
            text: String::new(),
        };
        let since = parse_time("2024-02-29T12:00:00Z", 0).unwrap();
        let until = parse_time("2024-02-29T13:00:00Z", 0).unwrap();
        let window = Window {
            since: Some(since),
            until: Some(until),
        };
        assert!(window.keeps(&line("2024-02-29T12:00:00Z")));
        assert!(window.keeps(&line("2024-02-29T13:00:00Z")));
        assert!(!window.keeps(&line("2024-02-29T11:59:59.999Z")));
        assert!(!window.keeps(&line("2024-02-29T13:00:00.000000001Z")));
        assert_eq!(window.since_seconds(), Some(since / 1_000_000_000));
    }

    #[test]
    fn lines_are_printed_in_time_order_not_in_string_order() {
        let line = |container: &str, timestamp: &str, text: &str| {
            let line = LogLine {
                timestamp: timestamp.into(),
                stderr: false,
                text: text.into(),
            };
            (container.to_string(), line)
        };
        // As strings, `.31Z` sorts after `.312345Z`: 'Z' is above every digit.
        let mut lines = vec![
            line("two", "2026-12-05T17:00:00.312345Z", "second"),
            line("one", "2026-12-05T17:00:00.31Z", "first"),
            line("one", "2026-12-05T17:00:00.312345Z", "third"),
        ];
        in_time_order(&mut lines);
        let texts: Vec<&str> = lines.iter().map(|(_, l)| l.text.as_str()).collect();
        assert_eq!(texts, ["first", "second", "third"]);
    }
}
