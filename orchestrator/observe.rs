//! What the engine has for a project, rebuilt from labels alone: no state file.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::desired::{ContainerIdentity, Desired, ResourceIdentity};
use crate::engine::labels;
use crate::engine::{self, ContainerEngine, EngineContainer, EngineNetwork, EngineVolume};

/// What a container is doing, as every backend reports it (a task of a cluster maps onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

/// What a container's health check says, when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub project: String,
    /// The project's containers, by service, lowest replica number first.
    pub services: IndexMap<String, Vec<ObservedContainer>>,
    /// One-off containers (`run`) of the project; never touched by `up`.
    pub oneoff: Vec<ObservedContainer>,
    /// Networks by engine name: the project's (by label) and any the desired state names.
    pub networks: IndexMap<String, ObservedResource<EngineNetwork>>,
    pub volumes: IndexMap<String, ObservedResource<EngineVolume>>,
    /// Image reference → local image ID, for the images the desired state runs.
    pub images: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedContainer {
    pub id: String,
    pub name: String,
    /// Who it is in the project, read back from the engine's labels.
    pub identity: ContainerIdentity,
    pub image_id: String,
    pub state: ContainerState,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    pub engine: EngineContainer,
}

/// A network or volume the engine has, with the project's mark on it read back from its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedResource<T> {
    /// `None` when no project made it (an external one, or one made by hand).
    pub identity: Option<ResourceIdentity>,
    pub engine: T,
}

impl<T> ObservedResource<T> {
    /// Whether `project` made it.
    pub fn is_owned_by(&self, project: &str) -> bool {
        self.identity.as_ref().is_some_and(|i| i.project == project)
    }
}

impl ObservedContainer {
    /// Running or restarting: up, as `ps` lists it without `--all`. (The DNS answers only for
    /// a running one: `dns::table`'s `is_serving`.)
    pub fn is_up(&self) -> bool {
        matches!(
            self.state,
            ContainerState::Running | ContainerState::Restarting
        )
    }

    pub fn service(&self) -> &String {
        &self.identity.service
    }

    /// The replica number; 0 when the labels give none.
    pub fn number(&self) -> u32 {
        self.identity.number.unwrap_or(0)
    }

    /// Reads the compose labels of a container; `None` when it is not a compose container.
    pub fn from_engine(engine: EngineContainer) -> Option<ObservedContainer> {
        Some(ObservedContainer {
            id: engine.id.clone(),
            name: engine.name.clone(),
            identity: labels::container_identity(&engine.labels)?,
            image_id: engine.image_id.clone(),
            state: engine.state,
            health: engine.health,
            exit_code: engine.exit_code,
            engine,
        })
    }

    pub fn is_oneoff(&self) -> bool {
        self.identity.is_one_off()
    }
}

impl Observed {
    pub fn containers(&self) -> impl Iterator<Item = &ObservedContainer> {
        self.services.values().flatten()
    }

    /// Groups a project's containers by service.
    pub fn from_containers(project: &str, containers: Vec<EngineContainer>) -> Observed {
        let mut observed = Observed {
            project: project.to_string(),
            ..Observed::default()
        };
        for container in containers
            .into_iter()
            .filter_map(ObservedContainer::from_engine)
        {
            if container.is_oneoff() {
                observed.oneoff.push(container);
            } else {
                observed
                    .services
                    .entry(container.service().to_string())
                    .or_default()
                    .push(container);
            }
        }
        for replicas in observed.services.values_mut() {
            replicas.sort_by_key(|c| (c.number(), c.engine.created));
        }
        observed
    }
}

/// Lists what the engine has for `project`; with a desired state, also the networks, volumes
/// and images it names (which may exist without our labels).
pub async fn observe(
    runtime: &dyn ContainerEngine,
    project: &str,
    desired: Option<&Desired>,
) -> engine::Result<Observed> {
    // Every read at once: the supervisor observes on each trigger, and a restart waits for it.
    let (listing, image_ids) =
        tokio::try_join!(Listing::read(runtime, project), image_ids(runtime, desired))?;
    Ok(listing.observed(project, desired, image_ids))
}

/// [`observe`], from the engine's listings read a moment before: only the images are read now.
pub async fn observe_listed(
    runtime: &dyn ContainerEngine,
    listing: Listing,
    project: &str,
    desired: Option<&Desired>,
) -> engine::Result<Observed> {
    let image_ids = image_ids(runtime, desired).await?;
    Ok(listing.observed(project, desired, image_ids))
}

/// The engine's listings an observation starts from: they do not depend on the desired state,
/// so they can be read while the compose files are still being loaded.
pub struct Listing {
    containers: Vec<EngineContainer>,
    networks: Vec<EngineNetwork>,
    volumes: Vec<EngineVolume>,
}

impl Listing {
    /// The project's containers and every network and volume, read at once.
    pub async fn read(runtime: &dyn ContainerEngine, project: &str) -> engine::Result<Listing> {
        let (containers, networks, volumes) = tokio::try_join!(
            runtime.containers(project),
            runtime.networks(),
            runtime.volumes()
        )?;
        Ok(Listing {
            containers,
            networks,
            volumes,
        })
    }

    /// The networks and volumes kept are the project's and those `desired` names.
    fn observed(
        self,
        project: &str,
        desired: Option<&Desired>,
        image_ids: Vec<Option<(String, String)>>,
    ) -> Observed {
        let mut observed = Observed::from_containers(project, self.containers);
        let networks = desired.map(|d| d.networks.values().map(|n| n.name.as_str()).collect());
        observed.networks = kept(self.networks, project, networks, |n| (&n.name, &n.labels));
        let volumes = desired.map(|d| d.volumes.values().map(|v| v.name.as_str()).collect());
        observed.volumes = kept(self.volumes, project, volumes, |v| (&v.name, &v.labels));
        observed.images = image_ids.into_iter().flatten().collect();
        observed
    }
}

/// The networks (or volumes) `project` made, and those named in `wanted`, by engine name.
fn kept<T>(
    listed: Vec<T>,
    project: &str,
    wanted: Option<Vec<&str>>,
    name_and_labels: impl Fn(&T) -> (&String, &HashMap<String, String>),
) -> IndexMap<String, ObservedResource<T>> {
    let wanted = wanted.unwrap_or_default();
    listed
        .into_iter()
        .map(|engine| ObservedResource {
            identity: labels::resource_identity(name_and_labels(&engine).1),
            engine,
        })
        .filter(|r| {
            r.is_owned_by(project) || wanted.contains(&name_and_labels(&r.engine).0.as_str())
        })
        .map(|r| (name_and_labels(&r.engine).0.clone(), r))
        .collect()
}

/// Image reference → local image ID for every image `desired` runs that the engine has.
async fn image_ids(
    runtime: &dyn ContainerEngine,
    desired: Option<&Desired>,
) -> engine::Result<Vec<Option<(String, String)>>> {
    let mut images: Vec<&str> = desired
        .map(|d| d.services.values().map(|s| s.image.as_str()).collect())
        .unwrap_or_default();
    images.sort_unstable();
    images.dedup();
    futures_util::future::try_join_all(images.iter().map(|image| async move {
        Ok(runtime
            .image_id(image)
            .await?
            .map(|id| (image.to_string(), id)))
    }))
    .await
}
