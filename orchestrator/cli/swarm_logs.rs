//! `logs` with `--target swarm`: the output of the stack's tasks under compose's replica names
//! (`web-1  | `), read through the manager, merged in the engine's time; with `-f`, printed as
//! they come until Ctrl-C or until the services are removed.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::select_all;

use super::container_logs::{LogFormat, Printer, Window, in_time_order, now_nanos};
use super::error::CliError;
use super::logs::{LogsArgs, tail, window};
use crate::backend::swarm::SwarmBackend;
use crate::backend::swarm::logs::{Tagged, TaskLog, shown};
use crate::engine::LogLine;
use crate::engine::LogOptions;

/// How often a follow looks whether the services it shows are still there.
const GONE_POLL: Duration = Duration::from_secs(2);

pub async fn run(
    backend: &SwarmBackend,
    project: &str,
    args: &LogsArgs,
) -> Result<ExitCode, CliError> {
    if args.index.is_some() {
        return Err(CliError::message(
            "`logs --index` is not available with --target swarm yet",
        ));
    }
    let now = now_nanos();
    let window = window(args, now)?;
    let rows = backend
        .tasks(project)
        .await
        .map_err(super::swarm::swarm_error)?;
    let unknown = |s: &&String| !rows.iter().any(|row| &row.service == *s);
    if let Some(service) = args.services.iter().find(unknown) {
        return Err(CliError::message(format!(
            "no such service: {service} (the stack {project} has no task of it)"
        )));
    }
    let tasks = shown(&rows, &args.services);
    let printer = printer(&tasks, args);
    let options = LogOptions {
        follow: args.follow && window.until.is_none_or(|until| until > now),
        tail: tail(args)?,
        since: window.since_seconds(),
    };
    let streams = backend.logs(&tasks, &options).await;
    if options.follow {
        let services = &args.services;
        follow(backend, project, services, tasks, streams, &printer, window).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines = Vec::new();
    for stream in streams {
        lines.extend(stream.collect::<Vec<_>>().await);
    }
    for (task, line) in merged(lines, window) {
        printer.print(&task, &line);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every task's lines within the window, in the engine's time order (a task's lines that
/// share a time keep their order).
fn merged(mut lines: Vec<(String, LogLine)>, window: Window) -> Vec<(String, LogLine)> {
    lines.retain(|(_, line)| window.keeps(line));
    in_time_order(&mut lines);
    lines
}

/// Prints the lines as they come, and those of the tasks that start meanwhile (one that
/// replaces a task keeps its name: `web-1`), until Ctrl-C or until none of the services shown
/// is left on the swarm (a removed service's streams do not always end).
async fn follow(
    backend: &SwarmBackend,
    project: &str,
    services: &[String],
    opened: Vec<TaskLog>,
    streams: Vec<Tagged>,
    printer: &Printer,
    window: Window,
) -> Result<(), CliError> {
    let mut opened: HashSet<String> = opened.into_iter().map(|task| task.id).collect();
    let mut lines = select_all(streams);
    let mut poll = tokio::time::interval(GONE_POLL);
    loop {
        tokio::select! {
            Some((task, line)) = lines.next(), if !lines.is_empty() => {
                if window.keeps(&line) {
                    printer.print(&task, &line);
                }
            }
            _ = poll.tick() => {
                let rows = backend.tasks(project).await.map_err(super::swarm::swarm_error)?;
                if !rows.iter().any(|row| services.is_empty() || services.contains(&row.service)) {
                    return Ok(());
                }
                let started: Vec<TaskLog> = shown(&rows, services)
                    .into_iter()
                    .filter(|task| opened.insert(task.id.clone()))
                    .collect();
                let whole = LogOptions {
                    follow: true,
                    ..LogOptions::default()
                };
                lines.extend(backend.logs(&started, &whole).await);
            }
        }
    }
}

/// compose's printer, over the tasks' replica names; a service's tasks share a colour.
fn printer(tasks: &[TaskLog], args: &LogsArgs) -> Printer {
    let mut services: Vec<&str> = tasks.iter().map(|t| t.service.as_str()).collect();
    services.sort();
    services.dedup();
    let names = tasks
        .iter()
        .map(|task| {
            let colour = services.binary_search(&task.service.as_str()).unwrap_or(0);
            (task.name.clone(), task.name.clone(), colour)
        })
        .collect();
    let format = LogFormat {
        timestamps: args.timestamps,
        no_color: args.no_color,
        no_prefix: args.no_log_prefix,
    };
    Printer::named(names, &format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(task: &str, timestamp: &str, text: &str) -> (String, LogLine) {
        let line = LogLine {
            timestamp: timestamp.into(),
            stderr: false,
            text: text.into(),
        };
        (task.to_string(), line)
    }

    #[test]
    fn the_tasks_lines_are_merged_in_the_engines_time_within_the_window() {
        // One task's lines, then the other's, as the streams are read one after the other.
        let lines = vec![
            line("web-1", "2026-12-06T13:00:00.1Z", "1"),
            line("web-1", "2026-12-06T13:00:00.3Z", "3"),
            line("web-1", "2026-12-06T13:00:00.3Z", "4"),
            line("web-2", "2026-12-06T13:00:00.05Z", "0"),
            line("web-2", "2026-12-06T13:00:00.2Z", "2"),
            line("web-2", "2026-12-06T13:00:09Z", "late"),
        ];
        let window = Window {
            since: None,
            until: super::super::container_logs::parse_time("2026-12-06T13:00:01Z", 0).ok(),
        };
        let merged = merged(lines, window);
        let shown: Vec<(&str, &str)> = merged
            .iter()
            .map(|(task, l)| (task.as_str(), l.text.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("web-2", "0"),
                ("web-1", "1"),
                ("web-2", "2"),
                ("web-1", "3"),
                ("web-1", "4")
            ]
        );
    }
}
