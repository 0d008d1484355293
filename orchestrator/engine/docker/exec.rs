//! Execs: a command run to its end with its output, or started with its streams attached (or
//! detached), its exit code, its TTY's size.

use bollard::Docker;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::stream::StreamExt;

use super::attach::attached_output;
use super::errors::{Op, container_error, map_error};
use super::fields::non_empty;
use crate::engine::{Attachment, ExecOutput, ExecRequest, Output, Result, StartedExec, Streams};

/// Create, start attached (reading the output to its end), then inspect for the exit code.
pub(super) async fn run(docker: &Docker, id: &str, request: &ExecRequest) -> Result<ExecOutput> {
    let output_only = Streams {
        tty: false,
        stdin: false,
    };
    let started = start(docker, id, request, output_only, false).await?;
    let mut output = String::new();
    if let Some(Attachment {
        output: mut chunks, ..
    }) = started.attachment
    {
        while let Some(chunk) = chunks.next().await {
            let (Output::Stdout(bytes) | Output::Stderr(bytes)) = chunk?;
            output.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    let inspected = docker
        .inspect_exec(&started.id)
        .await
        .map_err(|e| container_error(id, e))?;
    Ok(ExecOutput {
        exit_code: inspected.exit_code,
        output,
    })
}

/// Create and start, with the streams attached unless `detach`.
pub(super) async fn start(
    docker: &Docker,
    id: &str,
    request: &ExecRequest,
    streams: Streams,
    detach: bool,
) -> Result<StartedExec> {
    let attach = !detach;
    let config = ExecConfig {
        attach_stdin: Some(attach && streams.stdin),
        attach_stdout: Some(attach),
        attach_stderr: Some(attach),
        tty: Some(streams.tty),
        cmd: Some(request.command.clone()),
        user: request.user.clone(),
        working_dir: request.working_dir.clone(),
        env: non_empty(&request.environment),
        privileged: Some(request.privileged),
        ..ExecConfig::default()
    };
    let what = format!("container {id}");
    let created = docker
        .create_exec(id, config)
        .await
        .map_err(|e| map_error(e, &what, Op::Other))?;
    let options = StartExecOptions {
        detach,
        tty: streams.tty,
        output_capacity: None,
    };
    let started = docker
        .start_exec(&created.id, Some(options))
        .await
        .map_err(|e| map_error(e, &what, Op::Other))?;
    let attachment = match started {
        StartExecResults::Attached { output, input } => Some(Attachment {
            input,
            output: attached_output(output, what),
            tty: streams.tty,
        }),
        StartExecResults::Detached => None,
    };
    Ok(StartedExec {
        id: created.id,
        attachment,
    })
}

pub(super) async fn exit_code(docker: &Docker, exec_id: &str) -> Result<Option<i64>> {
    let inspected = docker
        .inspect_exec(exec_id)
        .await
        .map_err(|e| map_error(e, &format!("exec {exec_id}"), Op::Other))?;
    Ok(if inspected.running == Some(true) {
        None
    } else {
        inspected.exit_code
    })
}

pub(super) async fn resize(docker: &Docker, exec_id: &str, size: (u16, u16)) -> Result<()> {
    let options = ResizeExecOptions {
        height: size.0,
        width: size.1,
    };
    docker
        .resize_exec(exec_id, options)
        .await
        .map_err(|e| map_error(e, &format!("exec {exec_id}"), Op::Other))
}
