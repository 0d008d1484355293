//! A container's logs: the engine's frames split into lines, each with the timestamp the
//! engine puts before it.

use bollard::Docker;
use bollard::query_parameters::{LogsOptions, LogsOptionsBuilder};
use futures_util::stream::{self, BoxStream, StreamExt};

use super::errors::{Op, map_error};
use crate::engine::timestamp::unix_seconds;
use crate::engine::{LogLine, LogOptions, Result};

pub(super) async fn stream(
    docker: &Docker,
    id: &str,
    options: &LogOptions,
) -> Result<BoxStream<'static, Result<LogLine>>> {
    // A missing container must fail here, not as the first item of the stream.
    super::containers::inspect(docker, id).await?;
    let query = query(options);
    let what = format!("container {id}");
    let frames = docker.logs(id, Some(query));
    let lines = frames.flat_map(move |frame| {
        let items: Vec<Result<LogLine>> = match frame {
            Ok(output) => frame_lines(output).into_iter().map(Ok).collect(),
            Err(e) => vec![Err(map_error(e, &what, Op::Other))],
        };
        stream::iter(items)
    });
    Ok(lines.boxed())
}

/// The engine's query for `options`, for a container's or a swarm task's output: both
/// streams, with the engine's timestamps (they order lines even when they are not printed).
pub(crate) fn query(options: &LogOptions) -> LogsOptions {
    let tail = options.tail.map_or("all".to_string(), |n| n.to_string());
    let since = options
        .since
        .and_then(|s| i32::try_from(s).ok())
        .unwrap_or(0);
    LogsOptionsBuilder::new()
        .follow(options.follow)
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .tail(&tail)
        .since(since)
        .build()
}

/// The lines of one frame of a container's or a swarm task's output.
pub(crate) fn frame_lines(output: bollard::container::LogOutput) -> Vec<LogLine> {
    use bollard::container::LogOutput;
    let (stderr, bytes) = match output {
        LogOutput::StdErr { message } => (true, message),
        LogOutput::StdOut { message }
        | LogOutput::Console { message }
        | LogOutput::StdIn { message } => (false, message),
    };
    log_lines(&String::from_utf8_lossy(&bytes), stderr)
}

/// The lines of one log frame: the engine puts its timestamp before each.
fn log_lines(text: &str, stderr: bool) -> Vec<LogLine> {
    let mut out = Vec::new();
    let mut frame_timestamp = String::new();
    let text = text.strip_suffix('\n').unwrap_or(text);
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (timestamp, line) = match raw.split_once(' ') {
            Some((first, rest)) if looks_like_timestamp(first) => (first.to_string(), rest),
            None if looks_like_timestamp(raw) => (raw.to_string(), ""),
            _ => (frame_timestamp.clone(), raw),
        };
        frame_timestamp = timestamp.clone();
        out.push(LogLine {
            timestamp,
            stderr,
            text: line.to_string(),
        });
    }
    out
}

fn looks_like_timestamp(text: &str) -> bool {
    text.len() >= 20
        && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && text.as_bytes()[4] == b'-'
        && text.as_bytes()[10] == b'T'
        && unix_seconds(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_frames_are_split_into_timestamped_lines() {
        let lines = log_lines("2024-02-29T12:34:56.000000001Z hello world\n", false);
        assert_eq!(
            lines,
            vec![LogLine {
                timestamp: "2024-02-29T12:34:56.000000001Z".into(),
                stderr: false,
                text: "hello world".into(),
            }]
        );
        let lines = log_lines(
            "2024-02-29T12:34:56Z a\r\n2024-02-29T12:34:57Z b\r\ncontinued\n",
            true,
        );
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].text, "b");
        assert_eq!(lines[2].timestamp, "2024-02-29T12:34:57Z");
        assert_eq!(lines[2].text, "continued");
        assert!(lines.iter().all(|l| l.stderr));
        let lines = log_lines("2024-02-29T12:34:56Z \n", false);
        assert_eq!(lines[0].text, "");
    }
}
