//! An executed operation told as one line for the user, as compose prints them
//! (` ✔ Container shop-web-1  Started`). The same words whether the plan ran in this process or
//! in a detached supervisor that sends them over its control socket.

use crate::execute::Event;
use crate::plan::{Action, ControlStep, EngineCall, Operation};

/// The line for an operation's event; `None` for events nobody needs to read (a start; a
/// hook that ran or was skipped, as compose prints no line for a hook; a hook's output, which
/// only an attached `up` shows, among the logs).
pub fn line(op: &Operation, event: &Event) -> Option<String> {
    let (subject, done_word) = describe(&op.action);
    let hook = matches!(op.action, Action::Engine(EngineCall::RunHook { .. }));
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
    let call = match action {
        Action::Engine(call) => call,
        Action::Control(ControlStep::WaitFor { service, .. }) => {
            return (format!("Service {service}"), "Ready");
        }
        Action::Control(other) => return (other.to_string(), "Done"),
    };
    match call {
        EngineCall::CreateNetwork(n) => (format!("Network {}", n.name), "Created"),
        EngineCall::RemoveNetwork { name } => (format!("Network {name}"), "Removed"),
        EngineCall::CreateVolume(v) => (format!("Volume {}", v.name), "Created"),
        EngineCall::RemoveVolume { name } => (format!("Volume {name}"), "Removed"),
        EngineCall::PullImage { image, .. } => (format!("Image {image}"), "Pulled"),
        EngineCall::BuildImage { image, .. } => (format!("Image {image}"), "Built"),
        EngineCall::RemoveImage { image, .. } => (format!("Image {image}"), "Removed"),
        EngineCall::CreateContainer { name, .. } => (format!("Container {name}"), "Created"),
        EngineCall::StartContainer { container, .. } => {
            (format!("Container {}", container.name), "Started")
        }
        EngineCall::StopContainer { container, .. } => {
            (format!("Container {}", container.name), "Stopped")
        }
        EngineCall::RemoveContainer { container, .. } => {
            (format!("Container {}", container.name), "Removed")
        }
        EngineCall::RenameContainer { to, .. } => (format!("Container {to}"), "Recreated"),
        EngineCall::RunHook { container, .. } => (format!("Container {}", container.name), "Done"),
    }
}
