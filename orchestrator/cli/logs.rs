//! `wharf logs`: the output of the project's containers, prefixed with the container's name in
//! a colour of its service, interleaved in time.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};

use super::engine::Session;
use super::{GlobalArgs, output};
use crate::observe::{Observed, ObservedContainer};
use crate::runtime::timestamp::unix_nanos;
use crate::runtime::{
    EngineEvent, EventAction, EventKind, LogLine, LogOptions, Result as RuntimeResult, Runtime,
};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(long, value_name = "N")]
    pub tail: Option<String>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Don't print the prefix
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Services to show (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &LogsArgs) -> Result<ExitCode, ExitCode> {
    let tail = match args.tail.as_deref() {
        None | Some("all") => None,
        Some(n) => match n.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                output::error_line(&format!("invalid --tail {n:?}: write a number or `all`"));
                return Err(ExitCode::FAILURE);
            }
        },
    };
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    let runtime = session.runtime.clone();
    let printer = Printer::new(&observed, args.timestamps, !args.no_log_prefix);
    let options = LogOptions {
        follow: args.follow,
        tail,
        since: None,
    };
    if args.follow {
        follow(runtime, &observed, &args.services, &printer, tail).await;
        return Ok(ExitCode::SUCCESS);
    }
    let containers = selected(&observed, &args.services);
    // Without --follow, every line is read first and printed in time order.
    let mut lines = Vec::new();
    for mut s in open(runtime, &containers, &options).await {
        while let Some(item) = s.next().await {
            lines.push(item);
        }
    }
    in_time_order(&mut lines);
    for (container, line) in &lines {
        printer.print(container, line);
    }
    Ok(ExitCode::SUCCESS)
}

/// Follows the logs of the selected containers (`logs -f`, attached `up`), the last `tail`
/// lines of each first: a container that starts later (restarted by the supervisor, replaced,
/// restored after drift) is followed from then on, and no line is printed twice.
pub async fn follow(
    runtime: Arc<dyn Runtime>,
    observed: &Observed,
    services: &[String],
    printer: &Printer,
    tail: Option<u64>,
) {
    // Subscribed before the first streams open: a start in between is not missed.
    let mut events = runtime.events(&observed.project).await.ok();
    let first = LogOptions {
        follow: true,
        tail,
        since: None,
    };
    let mut streams = stream::SelectAll::new();
    streams.extend(open(runtime.clone(), &selected(observed, services), &first).await);
    // The time of the last line printed per container: a stream reopened on a restart starts
    // at that second, and what it repeats is skipped.
    let mut printed: HashMap<String, i64> = HashMap::new();
    loop {
        tokio::select! {
            Some((name, line)) = streams.next() => {
                let at = unix_nanos(&line.timestamp);
                if at.is_some_and(|at| printed.get(&name).is_some_and(|&last| at <= last)) {
                    continue;
                }
                if let Some(at) = at {
                    printed.insert(name.clone(), at);
                }
                printer.print(&name, &line);
            }
            Some(event) = next_event(&mut events) => {
                let selected = event
                    .service()
                    .is_some_and(|s| services.is_empty() || services.iter().any(|n| n == s));
                if event.kind == EventKind::Container && event.action == EventAction::Start && selected {
                    let since = printed.get(&event.name).map(|&at| at / 1_000_000_000);
                    streams.extend(open_one(&runtime, &event.id, &event.name, since).await);
                }
            }
            else => return,
        }
    }
}

/// The next engine event; none once the stream ended (or never opened).
async fn next_event(
    events: &mut Option<BoxStream<'static, RuntimeResult<EngineEvent>>>,
) -> Option<EngineEvent> {
    let stream = events.as_mut()?;
    match stream.next().await {
        Some(Ok(event)) => Some(event),
        _ => {
            *events = None;
            None
        }
    }
}

/// Sorts lines by the engine's time, as numbers: RFC3339Nano drops trailing zeros, so the
/// strings do not sort as the times do. The sort is stable: a container's lines that share a
/// time keep their order.
fn in_time_order(lines: &mut [(String, LogLine)]) {
    lines.sort_by_key(|(_, line)| unix_nanos(&line.timestamp));
}

fn selected(observed: &Observed, services: &[String]) -> Vec<ObservedContainer> {
    observed
        .containers()
        .filter(|c| services.is_empty() || services.contains(&c.service))
        .cloned()
        .collect()
}

type Tagged = BoxStream<'static, (String, LogLine)>;

async fn open(
    runtime: Arc<dyn Runtime>,
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
    runtime: &Arc<dyn Runtime>,
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

fn tagged(name: &str, lines: BoxStream<'static, RuntimeResult<LogLine>>) -> Tagged {
    let name = name.to_string();
    lines
        .filter_map(move |line| {
            let name = name.clone();
            async move { line.ok().map(|l| (name, l)) }
        })
        .boxed()
}

/// Prefixes padded to the longest name; one colour per service on a terminal.
pub struct Printer {
    width: usize,
    colours: std::collections::HashMap<String, &'static str>,
    timestamps: bool,
    prefix: bool,
}

const PALETTE: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

impl Printer {
    pub fn new(observed: &Observed, timestamps: bool, prefix: bool) -> Printer {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let mut colours = std::collections::HashMap::new();
        for (i, (_, containers)) in observed.services.iter().enumerate() {
            for c in containers {
                colours.insert(
                    c.name.clone(),
                    if colour {
                        PALETTE[i % PALETTE.len()]
                    } else {
                        ""
                    },
                );
            }
        }
        Printer {
            width: observed
                .containers()
                .map(|c| c.name.len())
                .max()
                .unwrap_or(0),
            colours,
            timestamps,
            prefix,
        }
    }

    fn print(&self, container: &str, line: &LogLine) {
        let mut out = String::new();
        if self.prefix {
            let name = format!("{container:<width$} |", width = self.width);
            match self.colours.get(container).copied().unwrap_or("") {
                "" => out.push_str(&name),
                code => out.push_str(&format!("\x1b[{code}m{name}\x1b[0m")),
            }
            out.push(' ');
        }
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
    use super::in_time_order;
    use crate::runtime::LogLine;

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
