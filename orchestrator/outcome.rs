//! An executed operation told as one line for the user, as compose prints them
//! (` ✔ Container shop-web-1  Started`). The same words whether the plan ran in this process or
//! in a detached supervisor that sends them over its control socket.

use crate::execute::Event;
use crate::plan::{Action, Operation};

/// The line for an operation's event; `None` for events nobody needs to read (a start; a
/// hook that ran or was skipped, as compose prints no line for a hook; a hook's output, which
/// only an attached `up` shows, among the logs).
pub fn line(op: &Operation, event: &Event) -> Option<String> {
    let (subject, done_word) = describe(&op.action);
    let hook = matches!(op.action, Action::RunHook { .. });
    Some(match event {
        Event::Started(_) | Event::Output(..) => return None,
        Event::Succeeded(_) | Event::Skipped(_) if hook => return None,
        Event::Succeeded(_) => format!(" ✔ {subject}  {done_word}"),
        Event::Failed(_, message) => format!(" ✘ {subject}  Error: {message}"),
        Event::Skipped(_) => format!(" - {subject}  Skipped"),
        Event::Warning(_, message) => format!(" ! {subject}  {message}"),
    })
}

/// `("Container shop-web-1", "Started")`.
fn describe(action: &Action) -> (String, &'static str) {
    match action {
        Action::CreateNetwork(n) => (format!("Network {}", n.name), "Created"),
        Action::RemoveNetwork { name } => (format!("Network {name}"), "Removed"),
        Action::CreateVolume(v) => (format!("Volume {}", v.name), "Created"),
        Action::RemoveVolume { name } => (format!("Volume {name}"), "Removed"),
        Action::PullImage { image, .. } => (format!("Image {image}"), "Pulled"),
        Action::BuildImage { image, .. } => (format!("Image {image}"), "Built"),
        Action::RemoveImage { image, .. } => (format!("Image {image}"), "Removed"),
        Action::CreateContainer { name, .. } => (format!("Container {name}"), "Created"),
        Action::StartContainer { container, .. } => {
            (format!("Container {}", container.name), "Started")
        }
        Action::StopContainer { container, .. } => {
            (format!("Container {}", container.name), "Stopped")
        }
        Action::RemoveContainer { container, .. } => {
            (format!("Container {}", container.name), "Removed")
        }
        Action::RenameContainer { to, .. } => (format!("Container {to}"), "Recreated"),
        Action::RunHook { container, .. } => (format!("Container {}", container.name), "Done"),
        Action::WaitFor { service, .. } => (format!("Service {service}"), "Ready"),
        other => (other.to_string(), "Done"),
    }
}
