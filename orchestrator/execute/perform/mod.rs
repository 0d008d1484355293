//! The container backend's side of a run: one method per engine call, as compose v2's plan
//! executor has, and the container facts its waits look at. The only part of a run that talks
//! to the engine.

mod build;
mod crash_point;
mod resolve;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::build::build_request;
use self::crash_point::Moment;
use self::resolve::Gateways;
use super::judge::ContainerFacts;
use super::performer::{Call, CallKind, Performer, PostStartChain};
use super::report::{OperationError, Outcome};
use crate::desired::{ContainerSpec, DesiredNetwork, DesiredVolume, Hook, HookStage};
use crate::engine::labels;
use crate::engine::{ContainerEngine, EngineContainer, EngineError, ExecOutput};
use crate::plan::{ContainerRef, EngineCall, Plan};
use crate::spec::model::Build;

/// Makes the engine calls of one plan on a Docker-compatible engine.
pub struct ContainerPerformer {
    engine: Arc<dyn ContainerEngine>,
    project: String,
    /// The containers the plan removes: stopping one of those only needs its process ended.
    removed: HashSet<String>,
    gateways: Gateways,
}

impl ContainerPerformer {
    pub fn new(engine: Arc<dyn ContainerEngine>, project: &str, plan: &Plan) -> ContainerPerformer {
        let removed = plan
            .operations
            .iter()
            .filter_map(|op| match op.action.engine_call()? {
                EngineCall::RemoveContainer { container, .. } => {
                    Some(container.target().to_string())
                }
                _ => None,
            });
        ContainerPerformer {
            engine,
            project: project.to_string(),
            removed: removed.collect(),
            gateways: Gateways::default(),
        }
    }
}

impl Call for EngineCall {
    fn kind(&self) -> CallKind {
        match self {
            EngineCall::CreateContainer { .. } => CallKind::CreatesContainer,
            EngineCall::StartContainer { .. } => CallKind::StartsContainer,
            EngineCall::BuildImage { .. } | EngineCall::PullImage { .. } => {
                CallKind::EndsWithClient
            }
            _ => CallKind::Other,
        }
    }

    fn post_start_chain(&self) -> Option<PostStartChain<'_>> {
        match self {
            EngineCall::StartContainer { container, .. } => {
                Some(PostStartChain::Start(&container.name))
            }
            EngineCall::RunHook {
                stage: HookStage::PostStart,
                container,
                ..
            } => Some(PostStartChain::Hook(&container.name)),
            _ => None,
        }
    }
}

impl Performer for ContainerPerformer {
    type Call = EngineCall;

    async fn perform(&self, call: &EngineCall) -> Result<Outcome, OperationError> {
        crash_point::reached(Moment::Before, call);
        let outcome = self.call(call).await;
        crash_point::reached(Moment::After, call);
        outcome
    }

    async fn service_facts(&self, service: &str) -> Result<Vec<ContainerFacts>, String> {
        let containers = self
            .engine
            .containers(&self.project)
            .await
            .map_err(|e| e.to_string())?;
        Ok(containers
            .into_iter()
            .filter(|c| {
                labels::container_identity(&c.labels)
                    .is_some_and(|i| i.service == service && !i.is_one_off())
            })
            .map(facts)
            .collect())
    }

    async fn container_facts(&self, container: &ContainerRef) -> Result<ContainerFacts, String> {
        self.engine
            .container(container.target())
            .await
            .map(facts)
            .map_err(|e| e.to_string())
    }
}

impl ContainerPerformer {
    /// Makes one engine call (the crash points of tests/crash.rs are around it).
    async fn call(&self, call: &EngineCall) -> Result<Outcome, OperationError> {
        let failed = |err: EngineError| failed(call, err);
        match call {
            EngineCall::CreateNetwork(network) => {
                self.create_network(network).await.map_err(failed)
            }
            EngineCall::RemoveNetwork { name } => self.remove_network(name).await.map_err(failed),
            EngineCall::CreateVolume(volume) => self.create_volume(volume).await.map_err(failed),
            EngineCall::RemoveVolume { name } => self.remove_volume(name).await.map_err(failed),
            EngineCall::RemoveImage { image, .. } => self.remove_image(image).await.map_err(failed),
            EngineCall::PullImage {
                service,
                image,
                platform,
            } => self.pull_image(service, image, platform.as_deref()).await,
            EngineCall::BuildImage {
                service,
                image,
                build,
            } => self.build_image(service, image, build).await,
            EngineCall::CreateContainer {
                service,
                name,
                spec,
                ..
            } => self.create_container(call, service, name, spec).await,
            EngineCall::StartContainer { container, .. } => {
                self.start_container(container).await.map_err(failed)
            }
            EngineCall::StopContainer {
                container, timeout, ..
            } => self
                .stop_container(container, *timeout)
                .await
                .map_err(failed),
            EngineCall::RemoveContainer {
                container, volumes, ..
            } => self
                .remove_container(container, *volumes)
                .await
                .map_err(failed),
            EngineCall::RenameContainer { container, to, .. } => {
                self.rename_container(container, to).await.map_err(failed)
            }
            EngineCall::RunHook {
                service,
                container,
                stage,
                hook,
                ..
            } => self.run_hook(call, service, container, *stage, hook).await,
        }
    }

    /// A network that exists already is what was asked for.
    async fn create_network(&self, network: &DesiredNetwork) -> Result<Outcome, EngineError> {
        match self.engine.create_network(network).await {
            Err(EngineError::Conflict(_)) => Ok(Outcome::Unchanged),
            other => other.map(|()| Outcome::Changed),
        }
    }

    async fn remove_network(&self, name: &str) -> Result<Outcome, EngineError> {
        gone_is_fine(self.engine.remove_network(name).await)
    }

    /// A volume that exists already is what was asked for.
    async fn create_volume(&self, volume: &DesiredVolume) -> Result<Outcome, EngineError> {
        match self.engine.create_volume(volume).await {
            Err(EngineError::Conflict(_)) => Ok(Outcome::Unchanged),
            other => other.map(|()| Outcome::Changed),
        }
    }

    async fn remove_volume(&self, name: &str) -> Result<Outcome, EngineError> {
        gone_is_fine(self.engine.remove_volume(name).await)
    }

    async fn remove_image(&self, image: &str) -> Result<Outcome, EngineError> {
        gone_is_fine(self.engine.delete_image(image).await)
    }

    async fn pull_image(
        &self,
        service: &str,
        image: &str,
        platform: Option<&str>,
    ) -> Result<Outcome, OperationError> {
        self.engine
            .pull_image(image, platform)
            .await
            .map(|()| Outcome::Changed)
            .map_err(|err| {
                format!("service {service:?}: image {image} is not available locally and cannot be pulled: {err}").into()
            })
    }

    async fn build_image(
        &self,
        service: &str,
        image: &str,
        build: &Build,
    ) -> Result<Outcome, OperationError> {
        let failed = |err: String| format!("service {service:?}: building {image} failed: {err}");
        let request = build_request(service, image, build, &self.project).map_err(failed)?;
        self.engine
            .build_image(&request)
            .await
            .map(|_| Outcome::Changed)
            .map_err(|err| failed(err.to_string()).into())
    }

    /// Creates a container from its spec, with what only the engine knows now resolved:
    /// `service:` namespaces, links and `volumes_from` to services, the DNS gateway, and the ID
    /// of the image it runs.
    async fn create_container(
        &self,
        call: &EngineCall,
        service: &str,
        name: &str,
        spec: &ContainerSpec,
    ) -> Result<Outcome, OperationError> {
        let engine = self.engine.as_ref();
        let mut spec = spec.clone();
        for mode in [&mut spec.network_mode, &mut spec.pid, &mut spec.ipc] {
            resolve::namespace(mode, service, engine, &self.project).await?;
        }
        resolve::links_and_volumes(&mut spec, service, engine, &self.project).await?;
        resolve::dns_gateway(&mut spec, service, engine, &self.gateways).await?;
        // The ID of the image the container runs, as compose labels it: `docker compose up`
        // recreates a container whose label differs from its image's ID. Compose leaves it
        // off one-off containers, which it never recreates.
        if let Some(identity) = spec.identity.as_mut().filter(|i| !i.is_one_off()) {
            let image_id = engine.image_id(&spec.image).await;
            identity.image_id = image_id.map_err(|err| failed(call, err))?;
        }
        engine
            .create_container(name, &spec)
            .await
            .map(|_| Outcome::Changed)
            .map_err(|err| failed(call, err))
    }

    async fn start_container(&self, container: &ContainerRef) -> Result<Outcome, EngineError> {
        let started = self.engine.start_container(container.target()).await;
        started.map(|()| Outcome::Changed)
    }

    /// A container the plan also removes is only ended: the engine's own stop returns after
    /// cleaning up after the exit, which only the removal needs, and the removal waits for it
    /// in the engine.
    async fn stop_container(
        &self,
        container: &ContainerRef,
        timeout: Option<Duration>,
    ) -> Result<Outcome, EngineError> {
        let target = container.target();
        let stopped = match self.removed.contains(target) {
            true => self.engine.end_container(target, timeout).await,
            false => self.engine.stop_container(target, timeout).await,
        };
        gone_is_fine(stopped)
    }

    async fn remove_container(
        &self,
        container: &ContainerRef,
        volumes: bool,
    ) -> Result<Outcome, EngineError> {
        gone_is_fine(
            self.engine
                .remove_container(container.target(), volumes)
                .await,
        )
    }

    async fn rename_container(
        &self,
        container: &ContainerRef,
        to: &str,
    ) -> Result<Outcome, EngineError> {
        let renamed = self.engine.rename_container(container.target(), to).await;
        renamed.map(|()| Outcome::Changed)
    }

    async fn run_hook(
        &self,
        call: &EngineCall,
        service: &str,
        container: &ContainerRef,
        stage: HookStage,
        hook: &Hook,
    ) -> Result<Outcome, OperationError> {
        match self
            .engine
            .exec(container.target(), &hook.exec_request())
            .await
        {
            Ok(ExecOutput {
                exit_code: Some(code),
                ..
            }) if code != 0 => {
                // compose v2's words.
                Err(format!("{service} hook exited with status {code}").into())
            }
            Ok(ExecOutput { output, .. }) => Ok(Outcome::Printed(output)),
            // A `pre_stop` that finds its container stopped or gone has nothing to do
            // before the stop, as compose ignores it.
            Err(EngineError::NotFound(_) | EngineError::Conflict(_))
                if stage == HookStage::PreStop =>
            {
                Ok(Outcome::Unchanged)
            }
            Err(err) => Err(failed(call, err)),
        }
    }
}

/// An engine call that failed, named. A container gone or a name taken means the engine
/// changed under the plan: the failure is stale.
fn failed(call: &EngineCall, err: EngineError) -> OperationError {
    OperationError {
        stale: matches!(err, EngineError::NotFound(_) | EngineError::Conflict(_)),
        message: format!("{call}: {err}"),
    }
}

/// Removing or stopping what is already gone is success: the goal is reached.
fn gone_is_fine(result: Result<(), EngineError>) -> Result<Outcome, EngineError> {
    match result {
        Ok(()) => Ok(Outcome::Changed),
        Err(EngineError::NotFound(_)) => Ok(Outcome::Unchanged),
        Err(err) => Err(err),
    }
}

fn facts(c: EngineContainer) -> ContainerFacts {
    ContainerFacts {
        name: c.name,
        state: c.state,
        health: c.health,
        exit_code: c.exit_code,
    }
}
