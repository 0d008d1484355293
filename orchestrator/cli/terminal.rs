//! A process in the engine attached to this terminal (`exec`, `run`, `attach`): its output to
//! standard output and error, standard input to it, the terminal in raw mode while it has a
//! TTY (restored on every way out), and the TTY's size following the terminal's.

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::engine::{Attachment, ContainerEngine, EngineError, Output};

/// Whose pseudo-terminal follows the local terminal's size.
pub enum Tty {
    Exec(String),
    Container(String),
}

/// Copies the process's output here and this process's standard input there (when `stdin`)
/// until the process closes its output. When it has a TTY (`target`'s), the local terminal is
/// in raw mode meanwhile and its size is passed on (at once, and on every `SIGWINCH`).
pub async fn pump(
    runtime: Arc<dyn ContainerEngine>,
    attachment: Attachment,
    stdin: bool,
    target: Tty,
) -> Result<(), EngineError> {
    let Attachment {
        mut input,
        output,
        tty,
    } = attachment;
    let tty = tty.then_some(target);
    let _raw = tty.as_ref().map(|_| RawMode::enable());
    let mut stdin = stdin.then(read_stdin);
    let resize = async {
        let Some(tty) = &tty else {
            return std::future::pending().await;
        };
        let Ok(mut changes) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return std::future::pending().await;
        };
        loop {
            if let Some(size) = size() {
                // A resize that fails (the process just ended) changes nothing that matters.
                let _ = match tty {
                    Tty::Exec(id) => runtime.resize_exec(id, size).await,
                    Tty::Container(id) => runtime.resize_container(id, size).await,
                };
            }
            changes.recv().await;
        }
    };
    tokio::pin!(resize);
    let mut output = output;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(chunk)) => write_out(&chunk),
                Some(Err(err)) => return Err(err),
                None => return Ok(()),
            },
            data = async { stdin.as_mut()?.recv().await }, if stdin.is_some() => match data {
                Some(data) => {
                    // The process may have closed its input: its output still counts.
                    if input.write_all(&data).await.is_err() {
                        stdin = None;
                    }
                }
                None => {
                    stdin = None;
                    let _ = input.shutdown().await;
                }
            },
            () = &mut resize => {}
        }
    }
}

fn write_out(chunk: &Output) {
    let _ = match chunk {
        Output::Stdout(bytes) => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Output::Stderr(bytes) => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
}

/// Standard input, read on a thread of its own (a blocking read must not hold up the end of
/// the command: the thread simply ends with the process). The channel closes at end of file.
fn read_stdin() -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buffer = vec![0u8; 8192];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if sender.blocking_send(buffer[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    receiver
}

/// Whether a command's process gets a TTY by default: when standard input is a terminal.
pub fn wants_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// The local terminal's size as `(rows, columns)`, `None` without a terminal.
fn size() -> Option<(u16, u16)> {
    [libc::STDOUT_FILENO, libc::STDIN_FILENO]
        .into_iter()
        .find_map(|fd| {
            // SAFETY: TIOCGWINSZ writes a `winsize` into the one passed, nothing else.
            let mut size: libc::winsize = unsafe { std::mem::zeroed() };
            let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
            (ok && size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
        })
}

/// Standard input in raw mode (no echo, no line editing, no signals from keys: the process's
/// TTY does all that) until dropped, which restores the settings it found. Nothing happens when
/// standard input is not a terminal.
struct RawMode(Option<libc::termios>);

impl RawMode {
    fn enable() -> RawMode {
        if !std::io::stdin().is_terminal() {
            return RawMode(None);
        }
        // SAFETY: tcgetattr fills the `termios` passed; tcsetattr reads it.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return RawMode(None);
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return RawMode(None);
            }
            RawMode(Some(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the settings read in `enable`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}

/// An exit code as the process's exit status (the low 8 bits, as a shell sees it).
pub fn exit_status(code: i64) -> std::process::ExitCode {
    std::process::ExitCode::from(code.rem_euclid(256) as u8)
}
