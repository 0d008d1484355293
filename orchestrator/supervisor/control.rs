//! The control socket of a detached supervisor, in its state directory: `wharf up -d` sends its
//! request there and reads the progress back. One JSON object per line each way; the socket is
//! owner-only, like the directory it lives in.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
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
                tracing::error!(%err, "supervisor: control socket");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// The longest request line the supervisor reads: a request carries the environment and, for
/// `-f -`, the compose file, far below this; a longer line is refused, not buffered.
pub const MAX_REQUEST: u64 = 16 << 20;

/// Why a connection's request is refused; the client is told in these words.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("refused: the peer's credentials cannot be read: {0}")]
    Credentials(std::io::Error),
    #[error("refused: this supervisor serves uid {own} only, and the request came from uid {peer}")]
    OtherUser { own: u32, peer: u32 },
    #[error("the request could not be read: {0}")]
    Unreadable(std::io::Error),
    #[error("a request longer than {MAX_REQUEST} bytes")]
    TooLong,
    #[error("a request that is not UTF-8")]
    NotUtf8,
    #[error("a request this supervisor does not understand: {0}")]
    NotUnderstood(serde_json::Error),
}

/// One request line, as the supervisor reads it from its socket.
pub fn parse_request(line: &str) -> Result<Request, Refusal> {
    serde_json::from_str::<Request>(line).map_err(Refusal::NotUnderstood)
}

/// Only processes of the supervisor's own user may ask it anything: the socket's mode says so,
/// and the peer's credentials (`SO_PEERCRED`) are checked too, which also holds against root's
/// processes running as another user and against a socket whose mode was widened.
fn check_peer(stream: &UnixStream) -> Result<(), Refusal> {
    let peer = stream.peer_cred().map_err(Refusal::Credentials)?;
    // SAFETY: geteuid(2) cannot fail and has no side effect.
    let own = unsafe { libc::geteuid() };
    if peer.uid() == own {
        Ok(())
    } else {
        Err(Refusal::OtherUser {
            own,
            peer: peer.uid(),
        })
    }
}

async fn connection(stream: UnixStream, commands: mpsc::Sender<Command>) {
    let allowed = check_peer(&stream);
    let (read, mut write) = stream.into_split();
    let (replies, mut receiver) = mpsc::unbounded_channel();
    let request = match allowed {
        Ok(()) => read_request(read).await,
        Err(refused) => Err(refused),
    };
    match request {
        Ok(request) => {
            let _ = commands.send(Command { request, replies }).await;
        }
        Err(err) => {
            let error = Some(err.to_string());
            let _ = replies.send(Reply::Done { error });
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

/// Reads and parses the one request line of a connection, at most [`MAX_REQUEST`] bytes.
async fn read_request(read: tokio::net::unix::OwnedReadHalf) -> Result<Request, Refusal> {
    let mut line = Vec::new();
    BufReader::new(read.take(MAX_REQUEST))
        .read_until(b'\n', &mut line)
        .await
        .map_err(Refusal::Unreadable)?;
    if !line.ends_with(b"\n") && line.len() as u64 == MAX_REQUEST {
        return Err(Refusal::TooLong);
    }
    let line = String::from_utf8(line).map_err(|_| Refusal::NotUtf8)?;
    parse_request(&line)
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

    /// Connects to `path` from a thread running as uid and gid 65534 (nobody), sends `line`,
    /// and returns the reply line, or the error of the connection. Linux keeps credentials per
    /// thread, and the raw system calls change this thread's only (glibc's wrappers would
    /// change the whole process's).
    fn as_nobody(path: &Path, line: &str) -> io::Result<String> {
        let (path, line) = (path.to_path_buf(), line.to_string());
        std::thread::spawn(move || {
            // SAFETY: setresgid/setresuid on this thread only, which ends with this closure.
            let switched = unsafe {
                libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) == 0
                    && libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) == 0
            };
            assert!(switched, "cannot become uid 65534");
            let mut stream = std::os::unix::net::UnixStream::connect(&path)?;
            // A request let through would wait for the loop's replies: fail instead of hanging.
            stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
            // A refused peer may find the socket closed before its request is written: the
            // refusal is in the socket's buffer all the same.
            match std::io::Write::write_all(&mut stream, line.as_bytes()) {
                Err(err) if err.kind() != io::ErrorKind::BrokenPipe => return Err(err),
                _ => {}
            }
            let mut reply = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stream), &mut reply)?;
            Ok(reply)
        })
        .join()
        .unwrap()
    }

    /// Whether this test process may act as another user (root, as under CI); a test that
    /// needs it fails under CI without it, and says it checked nothing elsewhere.
    fn may_switch_user() -> bool {
        // SAFETY: geteuid(2) cannot fail and has no side effect.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the tests as root to check another uid"
            );
            eprintln!("NOT RUN: only root can act as another uid");
        }
        root
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_from_another_user_is_refused() {
        if !may_switch_user() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let listener = bind(&path).unwrap();
        let (commands, mut receiver) = mpsc::channel(1);
        tokio::spawn(serve(listener, commands));
        let line = serde_json::to_string(&Request::Watch(true)).unwrap() + "\n";
        // As the supervisor leaves it (a 0600 socket in a 0700 directory): not even a
        // connection.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let denied = tokio::task::spawn_blocking({
            let (path, line) = (path.clone(), line.clone());
            move || as_nobody(&path, &line)
        })
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(denied.kind(), io::ErrorKind::PermissionDenied, "{denied}");
        // With the modes widened by mistake, the peer's uid still refuses it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let reply = tokio::task::spawn_blocking(move || as_nobody(&path, &line))
            .await
            .unwrap()
            .unwrap();
        let Reply::Done { error: Some(error) } = serde_json::from_str(&reply).unwrap() else {
            panic!("a refusal: {reply}");
        };
        assert!(
            error.starts_with("refused: this supervisor serves uid 0 only"),
            "{error}"
        );
        assert!(error.ends_with("from uid 65534"), "{error}");
        assert!(
            receiver.try_recv().is_err(),
            "the request never reached the loop"
        );
    }

    #[tokio::test]
    async fn garbage_and_an_endless_line_are_refused_without_reaching_the_loop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let listener = bind(&path).unwrap();
        let (commands, mut receiver) = mpsc::channel(1);
        tokio::spawn(serve(listener, commands));
        let exchange = |bytes: Vec<u8>| {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let mut stream = std::os::unix::net::UnixStream::connect(&path).unwrap();
                // The supervisor may answer before it read everything: then the write fails.
                let _ = std::io::Write::write_all(&mut stream, &bytes);
                let mut reply = String::new();
                std::io::BufRead::read_line(&mut std::io::BufReader::new(stream), &mut reply)
                    .unwrap();
                reply
            })
        };
        let endless = vec![b' '; MAX_REQUEST as usize + 10];
        for bytes in [b"{\"up\": 12}\n".to_vec(), vec![0xff, 0xfe, b'\n'], endless] {
            let reply = exchange(bytes).await.unwrap();
            let Reply::Done { error: Some(_) } = serde_json::from_str(&reply).unwrap() else {
                panic!("an error: {reply}");
            };
        }
        assert!(receiver.try_recv().is_err());
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
