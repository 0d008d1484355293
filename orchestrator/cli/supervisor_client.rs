//! The project's supervisor as the verbs reach it: the `up` lock, held by whatever starts or
//! stops a supervisor, and requests to its control socket.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::error::CliError;
use crate::supervisor::control::{self, Reply};
use crate::supervisor::state::StateDir;

/// The project's `up` lock, held by whatever starts or stops its supervisor.
pub fn lock(state: &StateDir) -> Result<std::fs::File, CliError> {
    let name = state
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().to_string());
    tokio::task::block_in_place(|| {
        state.lock_up(|| {
            eprintln!(
                "waiting for another `wharf up` of {} to finish",
                name.as_deref().unwrap_or("this project")
            )
        })
    })
    .map_err(|err| CliError::Message(format!("cannot take the project's lock: {err}")))
}
/// How long `up` waits for a supervisor its keeper is starting again.
const SOCKET_WAIT: Duration = Duration::from_secs(10);
/// How often it looks for the socket meanwhile. A cold `up` waits here for the supervisor it
/// has just started, which binds within a few milliseconds: a try is one failed connect(2), so
/// a short poll costs nothing, where a long one adds up to its length to every cold `up`.
const SOCKET_POLL: Duration = Duration::from_millis(1);

pub async fn send_when_listening(
    state: &StateDir,
    request: &control::Request,
    mut on_reply: impl FnMut(Reply),
) -> std::io::Result<Option<String>> {
    let deadline = tokio::time::Instant::now() + SOCKET_WAIT;
    loop {
        match control::send(&state.socket_path(), request, &mut on_reply).await {
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(SOCKET_POLL).await;
            }
            outcome => return outcome,
        }
    }
}

/// A request on its way to the supervisor, its replies kept until the caller shows them.
pub struct Sent {
    replies: mpsc::UnboundedReceiver<Reply>,
    outcome: JoinHandle<std::io::Result<Option<String>>>,
}

/// Sends `request` as [`send_when_listening`] does, while the caller goes on.
pub fn send_ahead(state: &StateDir, request: control::Request) -> Sent {
    let (replied, replies) = mpsc::unbounded_channel();
    let state = state.clone();
    let outcome = tokio::spawn(async move {
        send_when_listening(&state, &request, |reply| {
            let _ = replied.send(reply);
        })
        .await
    });
    Sent { replies, outcome }
}

impl Sent {
    /// Hands the replies to `on_reply` as they come; the outcome, as [`send_when_listening`]'s.
    pub async fn replies(
        mut self,
        mut on_reply: impl FnMut(Reply),
    ) -> std::io::Result<Option<String>> {
        while let Some(reply) = self.replies.recv().await {
            on_reply(reply);
        }
        self.outcome.await.map_err(std::io::Error::other)?
    }
}
