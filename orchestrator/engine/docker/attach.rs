//! Attaching to a container: its streams as an `Attachment`, its TTY's size; and the attached
//! output frames of a container or an exec as `Output` chunks.

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{AttachContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder};
use futures_util::stream::{BoxStream, Stream, StreamExt};

use super::errors::{Op, container_error, map_error};
use crate::engine::{Attachment, Output, Result};

/// An inspect first, for whether the container has a TTY.
pub(super) async fn attach(
    docker: &Docker,
    id: &str,
    stdin: bool,
    detach_keys: Option<&str>,
) -> Result<Attachment> {
    let tty = super::containers::inspect(docker, id)
        .await?
        .config
        .and_then(|c| c.tty)
        .unwrap_or(false);
    let mut options = AttachContainerOptionsBuilder::new()
        .stream(true)
        .stdin(stdin)
        .stdout(true)
        .stderr(true);
    if let Some(keys) = detach_keys {
        options = options.detach_keys(keys);
    }
    let options = options.build();
    let what = format!("container {id}");
    let attached = docker
        .attach_container(id, Some(options))
        .await
        .map_err(|e| map_error(e, &what, Op::Other))?;
    Ok(Attachment {
        input: attached.input,
        output: attached_output(attached.output, what),
        tty,
    })
}

pub(super) async fn resize(docker: &Docker, id: &str, size: (u16, u16)) -> Result<()> {
    let options = ResizeContainerTTYOptionsBuilder::new()
        .h(i32::from(size.0))
        .w(i32::from(size.1))
        .build();
    docker
        .resize_container_tty(id, options)
        .await
        .map_err(|e| container_error(id, e))
}

/// An attached process's output frames as [`Output`] chunks (a TTY's console is standard
/// output).
pub(super) fn attached_output(
    frames: std::pin::Pin<
        Box<
            dyn Stream<Item = std::result::Result<bollard::container::LogOutput, BollardError>>
                + Send,
        >,
    >,
    what: String,
) -> BoxStream<'static, Result<Output>> {
    use bollard::container::LogOutput;
    frames
        .map(move |frame| match frame {
            Ok(LogOutput::StdErr { message }) => Ok(Output::Stderr(message.to_vec())),
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            ) => Ok(Output::Stdout(message.to_vec())),
            Err(e) => Err(map_error(e, &what, Op::Other)),
        })
        .boxed()
}
