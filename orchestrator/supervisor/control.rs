//! The control socket of a detached supervisor, in its state directory: `wharf up -d` sends its
//! request there and reads the progress back. One JSON object per line each way; the socket is
//! owner-only, like the directory it lives in.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::request::UpRequest;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Converge on this project (a reloaded compose file, new flags) and keep it converged.
    Up(Box<UpRequest>),
    /// Start or stop watching the project's files (`up -d --watch`, `watch --stop`).
    Watch(bool),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// A plan is about to run, with this many operations (for the progress count).
    Plan { operations: usize },
    /// One finished operation, as `outcome::line` tells it.
    Line(String),
    /// A warning of the loader or of the plan.
    Warning(String),
    /// The end of the request: `error` says why it failed.
    Done { error: Option<String> },
}

/// A request taken from the socket, with where its replies go.
pub struct Command {
    pub request: Request,
    pub replies: mpsc::UnboundedSender<Reply>,
}

/// Binds the socket at `path`, replacing one a dead supervisor left behind.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accepts connections until the supervisor ends, handing each request to its loop.
pub async fn serve(listener: UnixListener, commands: mpsc::Sender<Command>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, commands.clone()));
            }
            Err(err) => {
                eprintln!("supervisor: control socket: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(stream: UnixStream, commands: mpsc::Sender<Command>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    if BufReader::new(read).read_line(&mut line).await.is_err() {
        return;
    }
    let (replies, mut receiver) = mpsc::unbounded_channel();
    match serde_json::from_str::<Request>(&line) {
        Ok(request) => {
            let _ = commands.send(Command { request, replies }).await;
        }
        Err(err) => {
            let _ = replies.send(Reply::Done {
                error: Some(format!(
                    "a request this supervisor does not understand: {err}"
                )),
            });
            drop(replies);
        }
    }
    while let Some(reply) = receiver.recv().await {
        let mut text = serde_json::to_string(&reply).expect("replies serialize");
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Sends a request to the supervisor listening at `path` and hands each reply to `on_reply`
/// until the last. An `Err` means the supervisor went away before it answered in full.
pub async fn send(
    path: &Path,
    request: &Request,
    mut on_reply: impl FnMut(Reply),
) -> io::Result<Option<String>> {
    let stream = UnixStream::connect(path).await?;
    let (read, mut write) = stream.into_split();
    let mut text = serde_json::to_string(request).map_err(io::Error::other)?;
    text.push('\n');
    write.write_all(text.as_bytes()).await.map_err(unread)?;
    let mut lines = BufReader::new(read).lines();
    let mut replied = false;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(err) if !replied => return Err(unread(err)),
            Err(err) => return Err(err),
        };
        replied = true;
        match serde_json::from_str::<Reply>(&line).map_err(io::Error::other)? {
            Reply::Done { error } => return Ok(error),
            reply => on_reply(reply),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the supervisor closed the connection before the end of the request",
    ))
}

/// A reset (or a broken pipe) before any reply: the supervisor closed the connection without
/// reading the request, because it was going away (a connection still in the backlog of a
/// listener that closes is reset). Nothing was done, so it is reported as a supervisor that
/// does not listen, which the caller waits for as it waits for a keeper to start one again.
fn unread(err: io::Error) -> io::Error {
    match err.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("the supervisor went away before it read the request ({err})"),
        ),
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_and_its_replies_cross_the_socket_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let listener = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (commands, mut receiver) = mpsc::channel(1);
        tokio::spawn(serve(listener, commands));
        tokio::spawn(async move {
            let command = receiver.recv().await.unwrap();
            let Request::Up(request) = command.request else {
                panic!("an up request");
            };
            assert_eq!(request.services, ["web"]);
            command
                .replies
                .send(Reply::Line(" ✔ Container p-web-1  Started".into()))
                .unwrap();
            command
                .replies
                .send(Reply::Done {
                    error: Some("boom".into()),
                })
                .unwrap();
        });
        let request = Request::Up(Box::new(UpRequest {
            services: vec!["web".into()],
            ..UpRequest::default()
        }));
        let mut seen = Vec::new();
        let outcome = send(&path, &request, |reply| seen.push(reply))
            .await
            .unwrap();
        assert_eq!(outcome.as_deref(), Some("boom"));
        assert_eq!(seen, [Reply::Line(" ✔ Container p-web-1  Started".into())]);
    }

    #[tokio::test]
    async fn a_supervisor_that_goes_away_before_it_reads_the_request_is_taken_as_not_listening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        // A supervisor that dies with the request unread: the kernel resets the connection.
        let going_away = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            std::io::Read::read_exact(&mut stream, &mut [0u8; 1]).unwrap();
        });
        let err = send(&path, &Request::Up(Box::default()), |_| {})
            .await
            .unwrap_err();
        going_away.join().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert!(
            err.to_string()
                .starts_with("the supervisor went away before it read the request"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_supervisor_that_goes_away_mid_request_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let listener = bind(&path).unwrap();
        let (commands, mut receiver) = mpsc::channel(1);
        tokio::spawn(serve(listener, commands));
        tokio::spawn(async move {
            let command = receiver.recv().await.unwrap();
            command.replies.send(Reply::Line("half".into())).unwrap();
        });
        let request = Request::Up(Box::default());
        let err = send(&path, &request, |_| {}).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        std::fs::write(&path, "left behind").unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async { bind(&path).unwrap() });
    }
}
