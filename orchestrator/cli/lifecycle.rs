//! `wharf start`, `stop`, `restart` and `build`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::engine::{self, connect, target};
use super::{GlobalArgs, load_project};
use crate::desired;
use crate::plan::lifecycle;

#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Services to act on (default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Shutdown timeout in seconds
    #[arg(short, long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Services to act on (default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

pub async fn run(
    global: &GlobalArgs,
    verb: Verb,
    services: &[String],
    timeout: Option<u64>,
) -> ExitCode {
    let target = match target(global) {
        Ok(target) => target,
        Err(code) => return code,
    };
    let runtime = match connect().await {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let graph = target.desired().map(|d| &d.graph);
    let timeout = timeout.map(Duration::from_secs);
    if matches!(verb, Verb::Stop | Verb::Restart) {
        let observed =
            match engine::observe(runtime.as_ref(), target.name(), target.desired()).await {
                Ok(observed) => observed,
                Err(code) => return code,
            };
        let plan = lifecycle::stop(graph, &observed, services, timeout);
        let code = engine::execute(&plan, runtime.clone(), target.name()).await;
        if code != ExitCode::SUCCESS || matches!(verb, Verb::Stop) {
            return code;
        }
    }
    let observed = match engine::observe(runtime.as_ref(), target.name(), target.desired()).await {
        Ok(observed) => observed,
        Err(code) => return code,
    };
    let plan = lifecycle::start(graph, &observed, services);
    engine::execute(&plan, runtime, target.name()).await
}

pub async fn build(global: &GlobalArgs, args: &ServicesArgs) -> ExitCode {
    let project = match load_project(global) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let desired = desired::build(&project, &Default::default());
    let runtime = match connect().await {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let plan = lifecycle::build(&desired, &args.services, |_| true);
    engine::execute(&plan, runtime, &project.name).await
}
