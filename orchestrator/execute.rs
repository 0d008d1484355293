//! Runs a plan: operations as a DAG, each started once all it waits for has succeeded, with
//! at most `parallelism` engine calls at once. A failed operation skips everything that waits
//! for it; the others go on, so a re-run only has the failed part left to do.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::desired::{ContainerSpec, labels};
use crate::plan::{Action, Operation, Plan, WaitCondition};
use crate::runtime::{BuildRequest, ContainerState, Health, Runtime, RuntimeError};

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    pub project: String,
    pub parallelism: usize,
    /// How often a `WaitFor` looks at its containers again.
    pub poll: Duration,
}

impl ExecuteOptions {
    pub fn new(project: &str) -> ExecuteOptions {
        ExecuteOptions {
            project: project.to_string(),
            parallelism: 16,
            poll: Duration::from_millis(100),
        }
    }
}

/// What happens to each operation, for progress output.
#[derive(Debug, Clone)]
pub enum Event {
    Started(usize),
    Succeeded(usize),
    Failed(usize, String),
    /// Not run because an operation it waits for failed.
    Skipped(usize),
    /// A dependency that was not required failed: the plan goes on.
    Warning(usize, String),
}

/// One failed operation, described for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub operation: usize,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub failures: Vec<Failure>,
    pub skipped: Vec<usize>,
    /// Operations that changed something on the engine.
    pub mutations: usize,
}

impl Report {
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }
}

pub async fn run(
    plan: &Plan,
    runtime: Arc<dyn Runtime>,
    options: &ExecuteOptions,
    progress: &(dyn Fn(&Operation, &Event) + Sync),
) -> Report {
    let count = plan.operations.len();
    let mut waiting: Vec<usize> = plan.operations.iter().map(|op| op.after.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
    for op in &plan.operations {
        for &dep in &op.after {
            dependents[dep].push(op.id);
        }
    }
    let mut ready: Vec<usize> = (0..count).filter(|&i| waiting[i] == 0).collect();
    ready.reverse();
    let mut done = vec![false; count];
    let mut report = Report::default();
    let mut tasks: JoinSet<(usize, Result<Outcome, String>)> = JoinSet::new();
    let parallelism = options.parallelism.max(1);

    loop {
        while tasks.len() < parallelism
            && let Some(id) = ready.pop()
        {
            let op = plan.operations[id].clone();
            progress(&op, &Event::Started(id));
            let runtime = runtime.clone();
            let options = options.clone();
            tasks.spawn(async move { (id, perform(&op, runtime.as_ref(), &options).await) });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (id, result) = joined.expect("an operation task panicked");
        let op = &plan.operations[id];
        done[id] = true;
        match result {
            Ok(outcome) => {
                if outcome == Outcome::Changed {
                    report.mutations += 1;
                }
                if let Outcome::Tolerated(message) = &outcome {
                    progress(op, &Event::Warning(id, message.clone()));
                } else {
                    progress(op, &Event::Succeeded(id));
                }
                for &next in &dependents[id] {
                    waiting[next] -= 1;
                    if waiting[next] == 0 && !done[next] {
                        ready.push(next);
                    }
                }
            }
            Err(message) => {
                progress(op, &Event::Failed(id, message.clone()));
                report.failures.push(Failure {
                    operation: id,
                    message,
                });
                skip_dependents(id, &dependents, &mut done, &mut report, plan, progress);
            }
        }
    }
    report
}

fn skip_dependents(
    failed: usize,
    dependents: &[Vec<usize>],
    done: &mut [bool],
    report: &mut Report,
    plan: &Plan,
    progress: &(dyn Fn(&Operation, &Event) + Sync),
) {
    let mut stack = dependents[failed].clone();
    while let Some(id) = stack.pop() {
        if done[id] {
            continue;
        }
        done[id] = true;
        report.skipped.push(id);
        progress(&plan.operations[id], &Event::Skipped(id));
        stack.extend(dependents[id].iter().copied());
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Changed,
    Unchanged,
    /// A failure the plan allows (a dependency with `required: false`).
    Tolerated(String),
}

/// One operation: one engine call (or a wait), with an error that names what failed.
async fn perform(
    op: &Operation,
    runtime: &dyn Runtime,
    options: &ExecuteOptions,
) -> Result<Outcome, String> {
    let describe = |err: RuntimeError| format!("{}: {err}", op.action);
    match &op.action {
        Action::CreateNetwork(network) => match runtime.create_network(network).await {
            Err(RuntimeError::Conflict(_)) => Ok(Outcome::Unchanged),
            other => other.map(|()| Outcome::Changed).map_err(describe),
        },
        Action::RemoveNetwork { name } => gone_is_fine(runtime.remove_network(name).await).map_err(describe),
        Action::CreateVolume(volume) => match runtime.create_volume(volume).await {
            Err(RuntimeError::Conflict(_)) => Ok(Outcome::Unchanged),
            other => other.map(|()| Outcome::Changed).map_err(describe),
        },
        Action::RemoveVolume { name } => gone_is_fine(runtime.remove_volume(name).await).map_err(describe),
        Action::PullImage { service, image } => runtime
            .pull_image(image)
            .await
            .map(|()| Outcome::Changed)
            .map_err(|err| {
                format!("service {service:?}: image {image} is not available locally and cannot be pulled: {err}")
            }),
        Action::BuildImage { service, image, build } => {
            let request = BuildRequest {
                context: build.context.clone().unwrap_or_else(|| ".".into()).into(),
                dockerfile: build.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into()),
                dockerfile_inline: build.dockerfile_inline.clone(),
                tag: image.clone(),
                args: build
                    .args
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
                    .collect(),
                target: build.target.clone(),
                labels: build.labels.clone().into_iter().collect(),
                no_cache: build.no_cache,
                pull: build.pull,
            };
            runtime
                .build_image(&request)
                .await
                .map(|_| Outcome::Changed)
                .map_err(|err| format!("service {service:?}: building {image} failed: {err}"))
        }
        Action::CreateContainer { service, name, spec, .. } => {
            let mut spec = spec.as_ref().clone();
            for mode in [&mut spec.network_mode, &mut spec.pid, &mut spec.ipc] {
                resolve_namespace(mode, service, runtime, &options.project).await?;
            }
            resolve_dns_gateway(&mut spec, service, runtime).await?;
            runtime
                .create_container(name, &spec)
                .await
                .map(|_| Outcome::Changed)
                .map_err(describe)
        }
        Action::StartContainer { container, .. } => runtime
            .start_container(container.target())
            .await
            .map(|()| Outcome::Changed)
            .map_err(describe),
        Action::StopContainer { container, timeout, .. } => {
            gone_is_fine(runtime.stop_container(container.target(), *timeout).await).map_err(describe)
        }
        Action::RemoveContainer { container, volumes, .. } => {
            gone_is_fine(runtime.remove_container(container.target(), *volumes).await).map_err(describe)
        }
        Action::RenameContainer { container, to, .. } => runtime
            .rename_container(container.target(), to)
            .await
            .map(|()| Outcome::Changed)
            .map_err(describe),
        Action::WaitFor { service, condition, required } => {
            match wait_for(runtime, options, service, *condition).await {
                Ok(()) => Ok(Outcome::Unchanged),
                Err(message) if !required => Ok(Outcome::Tolerated(message)),
                Err(message) => Err(message),
            }
        }
    }
}

/// `service:x` in `network_mode`, `pid` or `ipc` becomes `container:<id of x's first replica>`.
async fn resolve_namespace(
    mode: &mut Option<String>,
    service: &str,
    runtime: &dyn Runtime,
    project: &str,
) -> Result<(), String> {
    let Some(target) = mode.as_deref().and_then(|m| m.strip_prefix("service:")) else {
        return Ok(());
    };
    let id = first_container(runtime, project, target)
        .await
        .map_err(|e| format!("service {service:?}: looking up {target:?}: {e}"))?
        .ok_or_else(|| {
            format!("service {service:?} joins a namespace of {target:?}, which has no container")
        })?;
    *mode = Some(format!("container:{id}"));
    Ok(())
}

/// wharf's DNS goes first in `dns`: the gateway of the network `dns_gateway_of` names.
async fn resolve_dns_gateway(
    spec: &mut ContainerSpec,
    service: &str,
    runtime: &dyn Runtime,
) -> Result<(), String> {
    let Some(network) = spec.dns_gateway_of.take() else {
        return Ok(());
    };
    let networks = runtime
        .networks()
        .await
        .map_err(|e| format!("service {service:?}: looking up network {network:?}: {e}"))?;
    let gateway = networks
        .iter()
        .find(|n| n.name == network)
        .and_then(|n| n.gateway_v4())
        .ok_or_else(|| {
            format!("service {service:?}: network {network:?} has no IPv4 gateway for wharf's DNS")
        })?;
    spec.dns.insert(0, gateway.to_string());
    Ok(())
}

/// Removing or stopping what is already gone is success: the goal is reached.
fn gone_is_fine(result: Result<(), RuntimeError>) -> Result<Outcome, RuntimeError> {
    match result {
        Ok(()) => Ok(Outcome::Changed),
        Err(RuntimeError::NotFound(_)) => Ok(Outcome::Unchanged),
        Err(err) => Err(err),
    }
}

async fn first_container(
    runtime: &dyn Runtime,
    project: &str,
    service: &str,
) -> Result<Option<String>, RuntimeError> {
    let containers = runtime.containers(project).await?;
    Ok(containers
        .into_iter()
        .filter(|c| c.labels.get(labels::SERVICE).map(String::as_str) == Some(service))
        .min_by_key(|c| {
            c.labels
                .get(labels::NUMBER)
                .and_then(|n| n.parse::<u32>().ok())
        })
        .map(|c| c.id))
}

/// Waits until every container of `service` meets `condition`; fails as soon as one cannot.
async fn wait_for(
    runtime: &dyn Runtime,
    options: &ExecuteOptions,
    service: &str,
    condition: WaitCondition,
) -> Result<(), String> {
    loop {
        let containers: Vec<_> = runtime
            .containers(&options.project)
            .await
            .map_err(|e| format!("waiting for {service}: {e}"))?
            .into_iter()
            .filter(|c| c.labels.get(labels::SERVICE).map(String::as_str) == Some(service))
            .filter(|c| {
                c.labels
                    .get(labels::ONEOFF)
                    .is_none_or(|v| !v.eq_ignore_ascii_case("true"))
            })
            .collect();
        if containers.is_empty() {
            return Err(format!("dependency {service:?} has no container"));
        }
        let mut met = true;
        for c in &containers {
            match condition {
                WaitCondition::Started => {
                    if c.state == ContainerState::Created {
                        met = false;
                    }
                }
                WaitCondition::Running => match c.state {
                    ContainerState::Running => {}
                    ContainerState::Exited | ContainerState::Dead => {
                        return Err(format!(
                            "container {} exited ({})",
                            c.name,
                            c.exit_code.unwrap_or(-1)
                        ));
                    }
                    _ => met = false,
                },
                WaitCondition::Healthy => match (c.state, c.health) {
                    (_, Some(Health::Unhealthy)) => {
                        return Err(format!(
                            "dependency failed to start: container {} is unhealthy",
                            c.name
                        ));
                    }
                    (ContainerState::Exited | ContainerState::Dead, _) => {
                        return Err(format!(
                            "dependency failed to start: container {} exited ({})",
                            c.name,
                            c.exit_code.unwrap_or(-1)
                        ));
                    }
                    (_, None) => {
                        return Err(format!(
                            "dependency {service:?} is required to be healthy, but container {} has no healthcheck",
                            c.name
                        ));
                    }
                    (_, Some(Health::Healthy)) => {}
                    (_, Some(Health::Starting)) => met = false,
                },
                WaitCondition::CompletedSuccessfully => match c.state {
                    ContainerState::Exited | ContainerState::Dead => {
                        let code = c.exit_code.unwrap_or(-1);
                        if code != 0 {
                            return Err(format!(
                                "service {service:?} didn't complete successfully: container {} exited with code {code}",
                                c.name
                            ));
                        }
                    }
                    _ => met = false,
                },
            }
        }
        if met {
            return Ok(());
        }
        tokio::time::sleep(options.poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::labels;
    use crate::plan::Cause;
    use crate::runtime::memory::MemoryRuntime;

    fn wait_plan(condition: WaitCondition) -> Plan {
        let mut plan = Plan::default();
        plan.push(
            Action::WaitFor {
                service: "job".into(),
                condition,
                required: true,
            },
            Cause::Requested,
            Vec::new(),
        );
        plan
    }

    async fn run_with(
        state: ContainerState,
        exit: Option<i64>,
        condition: WaitCondition,
    ) -> Report {
        let engine = MemoryRuntime::new();
        engine.add_image("busybox");
        let labels = [
            (labels::PROJECT, "p"),
            (labels::SERVICE, "job"),
            (labels::NUMBER, "1"),
        ];
        engine.add_container("p-job-1", "busybox", &labels, state);
        engine.set_state("p-job-1", state, exit);
        run(
            &wait_plan(condition),
            Arc::new(engine),
            &ExecuteOptions::new("p"),
            &|_, _| {},
        )
        .await
    }

    #[tokio::test]
    async fn running_fails_on_an_exited_container_where_started_does_not() {
        let exited = run_with(ContainerState::Exited, Some(4), WaitCondition::Running).await;
        assert_eq!(exited.failures.len(), 1);
        assert!(
            exited.failures[0].message.contains("exited (4)"),
            "{:?}",
            exited.failures
        );
        let started = run_with(ContainerState::Exited, Some(4), WaitCondition::Started).await;
        assert!(started.is_success());
        let running = run_with(ContainerState::Running, None, WaitCondition::Running).await;
        assert!(running.is_success());
    }

    #[tokio::test]
    async fn completed_successfully_needs_exit_code_zero() {
        let failed = run_with(
            ContainerState::Exited,
            Some(3),
            WaitCondition::CompletedSuccessfully,
        )
        .await;
        assert!(failed.failures[0].message.contains("code 3"));
        let ok = run_with(
            ContainerState::Exited,
            Some(0),
            WaitCondition::CompletedSuccessfully,
        )
        .await;
        assert!(ok.is_success());
    }

    #[tokio::test]
    async fn a_failure_skips_what_waits_for_it_and_the_rest_goes_on() {
        let engine = Arc::new(MemoryRuntime::new());
        let mut plan = wait_plan(WaitCondition::Running);
        let net = |name: &str| crate::desired::DesiredNetwork {
            key: name.into(),
            name: name.into(),
            external: false,
            driver: None,
            driver_opts: Default::default(),
            internal: false,
            attachable: false,
            enable_ipv6: false,
            ipam: None,
            labels: Default::default(),
        };
        let after = plan.push(Action::CreateNetwork(net("after")), Cause::Missing, vec![0]);
        plan.push(
            Action::CreateNetwork(net("independent")),
            Cause::Missing,
            Vec::new(),
        );
        let report = run(&plan, engine.clone(), &ExecuteOptions::new("p"), &|_, _| {}).await;
        assert_eq!(report.failures.len(), 1, "no container: the wait fails");
        assert_eq!(report.skipped, [after]);
        assert_eq!(engine.network_names(), ["independent"]);
    }
}
