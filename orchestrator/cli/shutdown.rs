//! When the verbs that run until stopped (`up`, `watch`, `events`, `stats`, `supervise`) stop.

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when it is first
/// awaited, so a signal that arrives in between is not lost (nor fatal).
pub fn signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal as handler};
    let mut term = handler(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut interrupt = handler(SignalKind::interrupt()).expect("a SIGINT handler");
    async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    }
}
