//! `wharf logs`: the output of the project's containers, prefixed with the container's name in
//! a colour of its service, interleaved in time.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};

use super::engine::Session;
use super::{GlobalArgs, output};
use crate::observe::{Observed, ObservedContainer};
use crate::runtime::{LogLine, LogOptions, Runtime};

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
    };
    let containers = selected(&observed, &args.services);
    if args.follow {
        let streams = open(runtime, &containers, &options).await;
        let mut merged = stream::select_all(streams);
        while let Some((container, line)) = merged.next().await {
            printer.print(&container, &line);
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Without --follow, every line is read first and printed in time order.
    let mut lines = Vec::new();
    for mut s in open(runtime, &containers, &options).await {
        while let Some(item) = s.next().await {
            lines.push(item);
        }
    }
    lines.sort_by(|a, b| a.1.timestamp.cmp(&b.1.timestamp));
    for (container, line) in &lines {
        printer.print(container, line);
    }
    Ok(ExitCode::SUCCESS)
}

/// Follows the logs of every selected container until they all end (used by attached `up`).
pub async fn follow(
    runtime: Arc<dyn Runtime>,
    observed: &Observed,
    services: &[String],
    timestamps: bool,
) {
    let printer = Printer::new(observed, timestamps, true);
    let options = LogOptions {
        follow: true,
        tail: None,
    };
    let containers = selected(observed, services);
    let mut merged = stream::select_all(open(runtime, &containers, &options).await);
    while let Some((container, line)) = merged.next().await {
        printer.print(&container, &line);
    }
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
            Ok(lines) => {
                let name = container.name.clone();
                streams.push(
                    lines
                        .filter_map(move |line| {
                            let name = name.clone();
                            async move { line.ok().map(|l| (name, l)) }
                        })
                        .boxed(),
                );
            }
            Err(err) => output::error_line(&format!("logs of {}: {err}", container.name)),
        }
    }
    streams
}

/// Prefixes padded to the longest name; one colour per service on a terminal.
struct Printer {
    width: usize,
    colours: std::collections::HashMap<String, &'static str>,
    timestamps: bool,
    prefix: bool,
}

const PALETTE: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

impl Printer {
    fn new(observed: &Observed, timestamps: bool, prefix: bool) -> Printer {
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
