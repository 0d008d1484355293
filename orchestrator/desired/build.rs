//! `Project` → `Desired`.

use indexmap::IndexMap;

use super::container::container_spec;
use super::hash::{network_hash, volume_hash};
use super::{
    Desired, DesiredNetwork, DesiredService, DesiredVolume, Hooks, ResourceIdentity, UpdatePolicy,
    config_hash,
};
use crate::graph::ServiceGraph;
use crate::restart::RestartPolicy;
use crate::spec::Project;
use crate::spec::model::{Build, Network, Service, Volume};

/// What the command line changes about the desired state.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `up --scale svc=N`, over the file's replicas.
    pub scale: IndexMap<String, u32>,
    /// Who answers service names: Docker's aliases, or wharf's DNS.
    pub discovery: Discovery,
}

/// How containers find a service by its name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Discovery {
    /// The service name is a Docker network alias, as compose registers it: what works
    /// when no wharf DNS runs for the project.
    #[default]
    DockerAliases,
    /// wharf's DNS answers service names; each container's first DNS server is the gateway
    /// of its first network, where that DNS listens.
    WharfDns,
}

/// The project's mark on a network or volume, with its compose config hash; an external one
/// is not ours and gets none.
fn resource_identity(
    external: bool,
    project: &str,
    hash: impl FnOnce() -> String,
) -> Option<ResourceIdentity> {
    (!external).then(|| ResourceIdentity {
        project: project.into(),
        config_hash: hash(),
    })
}

/// The build for the service's platform when the build names none: the image is then made
/// for the platform the container is created for (the loader has checked that a service's
/// `platform` is among the `build.platforms` it names).
fn built_for(mut build: Build, platform: Option<&str>) -> Build {
    if let Some(platform) = platform
        && build.platforms.is_empty()
    {
        build.platforms.push(platform.to_string());
    }
    build
}

pub fn build(project: &Project, options: &BuildOptions) -> Desired {
    let project = &*super::api_socket::applied(project);
    let model = &project.model;
    let name = project.name.as_str();
    let networks = model
        .networks
        .iter()
        .map(|(key, n)| {
            let engine_name = n.name.clone().unwrap_or_else(|| format!("{name}_{key}"));
            let hashed = Network {
                name: Some(engine_name.clone()),
                ..n.clone()
            };
            let identity = resource_identity(n.external, name, || network_hash(&hashed));
            let network = DesiredNetwork {
                key: key.clone(),
                name: engine_name,
                external: n.external,
                driver: n.driver.clone(),
                driver_opts: n.driver_opts.clone(),
                internal: n.internal,
                attachable: n.attachable,
                enable_ipv4: n.enable_ipv4,
                enable_ipv6: n.enable_ipv6.unwrap_or(false),
                ipam: n.ipam.clone(),
                identity,
                labels: n.labels.clone(),
            };
            (key.clone(), network)
        })
        .collect();
    let volumes = model
        .volumes
        .iter()
        .map(|(key, v)| {
            let engine_name = v.name.clone().unwrap_or_else(|| format!("{name}_{key}"));
            let hashed = Volume {
                name: Some(engine_name.clone()),
                ..v.clone()
            };
            let identity = resource_identity(v.external, name, || volume_hash(&hashed));
            let volume = DesiredVolume {
                key: key.clone(),
                name: engine_name,
                external: v.external,
                driver: v.driver.clone(),
                driver_opts: v.driver_opts.clone(),
                identity,
                labels: v.labels.clone(),
            };
            (key.clone(), volume)
        })
        .collect();
    // A service with a `provider` is run by a compose plugin, not in a container: wharf leaves
    // it out, with the loader's warning, as it leaves out a disabled service.
    let run = |service: &Service| service.provider.is_none();
    let provided = model
        .services
        .iter()
        .filter(|(_, s)| !run(s))
        .map(|(n, _)| n.clone());
    let mut desired = Desired {
        project: name.to_string(),
        working_dir: project.working_dir.clone(),
        networks,
        volumes,
        services: IndexMap::new(),
        disabled: project
            .disabled_services
            .iter()
            .cloned()
            .chain(provided)
            .collect(),
        graph: ServiceGraph::new(model.services.iter().filter(|(_, s)| run(s)).map(|(n, s)| {
            (
                n.as_str(),
                s.depends_on
                    .keys()
                    .filter(|d| model.services.get(*d).is_some_and(run))
                    .map(String::as_str),
            )
        }))
        .expect("the loader checked the graph"),
    };
    for (service_name, service) in model.services.iter().filter(|(_, s)| run(s)) {
        let image = service
            .image
            .clone()
            .unwrap_or_else(|| format!("{name}-{service_name}"));
        let replicas = options
            .scale
            .get(service_name)
            .copied()
            .unwrap_or_else(|| service.replicas());
        let hash = config_hash(service);
        let container = container_spec(
            project,
            &desired,
            service_name,
            service,
            &image,
            &hash,
            options.discovery,
        );
        desired.services.insert(
            service_name.clone(),
            DesiredService {
                name: service_name.clone(),
                replicas,
                config_hash: hash,
                image,
                build: service
                    .build
                    .clone()
                    .map(|b| built_for(b, container.platform.as_deref())),
                pull_policy: service
                    .pull_policy
                    .clone()
                    .unwrap_or_else(|| "missing".into()),
                depends_on: service.depends_on.clone(),
                container_name: service.container_name.clone(),
                restart: RestartPolicy::from_service(service),
                update: UpdatePolicy::from_service(service),
                hooks: Hooks::from_model(&service.post_start, &service.pre_stop),
                attach: service.attach != Some(false),
                container,
            },
        );
    }
    desired
}
