//! `wharf logs`: the output of the project's containers, prefixed with the container's name in
//! a colour of its service, interleaved in time (see `container_logs.rs`).

use std::process::ExitCode;

use clap::Args;
use futures_util::StreamExt;

use super::GlobalArgs;
use super::container_logs::{
    LogFormat, Printer, Window, follow_window, in_time_order, now_nanos, open, parse_time, selected,
};
use super::error::CliError;
use super::session::Session;
use crate::engine::LogOptions;
use crate::supervisor::watcher::EngineEvents;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Index of the container if the service has several replicas
    #[arg(long, value_name = "N")]
    pub index: Option<u32>,
    /// Number of lines to show from the end of the logs for each container (default: all)
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<String>,
    /// Show logs since a timestamp (2013-01-02T13:23:37Z) or a time ago (42m for 42 minutes)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Show logs before a timestamp (2013-01-02T13:23:37Z) or a time ago (42m for 42 minutes)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Produce monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// Don't print the prefix
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Services to show (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &LogsArgs) -> Result<ExitCode, CliError> {
    let fail = CliError::Message;
    let tail = tail(args)?;
    let now = now_nanos();
    let window = window(args, now)?;
    if args.index.is_some() && args.services.len() != 1 {
        return Err(fail("--index requires one service to be selected".into()));
    }
    let session = Session::open(global).await?;
    let mut observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    // Prefixes are padded to the longest name shown.
    let named = &args.services;
    observed
        .services
        .retain(|name, _| named.is_empty() || named.contains(name));
    if let Some(index) = args.index {
        let service = &args.services[0];
        let replicas = observed.services.entry(service.clone()).or_default();
        replicas.retain(|c| c.number() == index);
        if replicas.is_empty() {
            return Err(fail(format!(
                "service {service:?} is not running container #{index}"
            )));
        }
    }
    let runtime = session.runtime.clone();
    let format = LogFormat {
        timestamps: args.timestamps,
        no_color: args.no_color,
        no_prefix: args.no_log_prefix,
    };
    let printer = Printer::new(&observed, &args.services, &format);
    // An end in the past leaves nothing to follow.
    let follow = args.follow && window.until.is_none_or(|until| until > now);
    if follow {
        // Subscribed before the first streams open: a start in between is not missed.
        let events = EngineEvents::watch(runtime.clone(), &observed.project).await;
        let events = events.subscribe();
        let services = &args.services;
        follow_window(runtime, &observed, services, &printer, tail, window, events).await;
        return Ok(ExitCode::SUCCESS);
    }
    let options = LogOptions {
        follow: false,
        tail,
        since: window.since_seconds(),
    };
    let containers = selected(&observed, &args.services);
    // Without --follow, every line is read first and printed in time order.
    let mut lines = Vec::new();
    for mut s in open(runtime, &containers, &options).await {
        while let Some((container, Some(line))) = s.next().await {
            if window.keeps(&line) {
                lines.push((container, line));
            }
        }
    }
    in_time_order(&mut lines);
    for (container, line) in &lines {
        printer.print(container, line);
    }
    Ok(ExitCode::SUCCESS)
}

/// `--tail`: a number of lines, or none for `all`.
pub fn tail(args: &LogsArgs) -> Result<Option<u64>, CliError> {
    match args.tail.as_deref() {
        None | Some("all") => Ok(None),
        Some(n) => n.parse().map(Some).map_err(|_| {
            CliError::Message(format!("invalid --tail {n:?}: write a number or `all`"))
        }),
    }
}

/// `--since` and `--until`, read at `now` (Unix nanoseconds).
pub fn window(args: &LogsArgs, now: i64) -> Result<Window, CliError> {
    let time = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| parse_time(t, now))
            .transpose()
            .map_err(|e| CliError::Message(format!("invalid value for {flag:?}: {e}")))
    };
    Ok(Window {
        since: time("since", &args.since)?,
        until: time("until", &args.until)?,
    })
}
