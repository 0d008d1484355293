//! The stack: what the swarm should hold for a project, mapped from the loaded compose model
//! (not from `desired`, whose specs are one container on one engine). Services are in
//! dependency order, so that a plan creates a dependency before what depends on it.

use std::collections::HashMap;

use bollard::models::{
    NetworkAttachmentConfig, NetworkCreateRequest, ServiceSpec, ServiceSpecMode, TaskSpec,
    TaskSpecContainerSpec,
};
use indexmap::IndexMap;

use super::condition::Condition;
use super::deploy::{self, DeployError};
use super::files::StackFiles;
use super::{container, mounts, names, unapplied};
use crate::graph::ServiceGraph;
use crate::spec::Project;
use crate::spec::model::{Network, Service};

/// What the swarm should hold for a project.
#[derive(Debug, Clone)]
pub struct Stack {
    pub project: String,
    /// The project's own networks (not the external ones), by swarm name.
    pub networks: IndexMap<String, NetworkCreateRequest>,
    /// The services, in dependency order (a dependency first), by swarm name.
    pub services: IndexMap<String, ServiceSpec>,
    /// Each service's dependencies (`depends_on`) with what it waits for, by swarm name.
    pub depends_on: IndexMap<String, Vec<(String, Condition)>>,
    /// The secrets and configs: the versions the stack owns, and every one's swarm name.
    pub files: StackFiles,
    /// The keys the swarm does not apply.
    pub warnings: Vec<String>,
}

/// Why a project cannot be deployed on a swarm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error(
        "service {0} has no image: a swarm's nodes run images from a registry; set `image:` \
         (with `build:`, a name with the registry, REGISTRY/NAME:TAG, which `up` builds and \
         pushes)"
    )]
    NoImage(String),
    #[error("{0}")]
    File(String),
}

impl Stack {
    pub fn new(project: &Project) -> Result<Stack, StackError> {
        let model = &project.model;
        let name = &project.name;
        let networks = model
            .networks
            .iter()
            .filter(|(_, network)| !network.external)
            .map(|(key, network)| {
                let engine_name = network_name(name, key, network);
                (
                    engine_name.clone(),
                    network_spec(name, engine_name, network),
                )
            })
            .collect();
        let files = StackFiles::new(project).map_err(StackError::File)?;
        let mut services = IndexMap::new();
        let mut depends_on = IndexMap::new();
        let mut warnings = super::files::warnings(project);
        for key in dependency_order(&model.services) {
            let service = &model.services[key.as_str()];
            warnings.extend(unapplied::warnings(&key, service, &project.key_spans));
            let spec = service_spec(project, &files, &key, service)?;
            services.insert(names::scoped(name, &key), spec);
            let dependencies = service
                .depends_on
                .iter()
                .filter(|(dependency, _)| model.services.contains_key(dependency.as_str()))
                .map(|(d, dependency)| (names::scoped(name, d), dependency.condition.into()));
            depends_on.insert(names::scoped(name, &key), dependencies.collect());
        }
        Ok(Stack {
            project: name.clone(),
            networks,
            services,
            depends_on,
            files,
            warnings,
        })
    }

    /// `up --scale KEY=N`: the service `key` runs `replicas` tasks for this `up` (see
    /// `deploy::scaled`). A service the file does not have is refused with the local target's
    /// words, a global one with why.
    pub fn scale(&mut self, key: &str, replicas: u32) -> Result<(), String> {
        let name = names::scoped(&self.project, key);
        let Some(spec) = self.services.get_mut(&name) else {
            return Err(format!(
                "--scale names service {key:?}, which is not in the compose file"
            ));
        };
        let mode = spec.mode.get_or_insert_with(|| ServiceSpecMode {
            replicated: Some(Default::default()),
            ..Default::default()
        });
        deploy::scaled(mode, replicas).map_err(|why| {
            format!("--scale {key}={replicas}: service {key:?} cannot be scaled: {why}")
        })
    }
}

/// The services' keys, dependencies first (by start level, by name within one).
fn dependency_order(services: &IndexMap<String, Service>) -> Vec<String> {
    let edges = services.iter().map(|(name, service)| {
        let deps = service.depends_on.keys().map(String::as_str);
        (name.as_str(), deps.filter(|d| services.contains_key(*d)))
    });
    match ServiceGraph::new(edges) {
        Ok(graph) => graph.start_levels().into_iter().flatten().collect(),
        // The loader refuses a cycle: this is not reached with a loaded project.
        Err(_) => services.keys().cloned().collect(),
    }
}

/// A network's swarm name: the loader's (`<project>_<key>`, or `name:`), as `stack deploy`.
fn network_name(project: &str, key: &str, network: &Network) -> String {
    network
        .name
        .clone()
        .unwrap_or_else(|| names::scoped(project, key))
}

/// An overlay network (unless the file names another driver) of the stack.
fn network_spec(project: &str, name: String, network: &Network) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name,
        driver: Some(network.driver.clone().unwrap_or_else(|| "overlay".into())),
        internal: Some(network.internal),
        attachable: Some(network.attachable),
        options: (!network.driver_opts.is_empty())
            .then(|| network.driver_opts.clone().into_iter().collect()),
        labels: Some(names::with_namespace(project, &network.labels)),
        ..Default::default()
    }
}

fn service_spec(
    project: &Project,
    files: &StackFiles,
    key: &str,
    service: &Service,
) -> Result<ServiceSpec, StackError> {
    let name = &project.name;
    let image = service
        .image
        .clone()
        .ok_or_else(|| StackError::NoImage(key.to_string()))?;
    let deploy_labels = service.deploy.as_ref().map(|d| d.labels.clone());
    let mut labels = names::with_namespace(name, &deploy_labels.unwrap_or_default());
    labels.insert(names::IMAGE.to_string(), image.clone());
    let container = TaskSpecContainerSpec {
        mounts: mounts::mounts(project, service),
        secrets: files.secrets(service),
        configs: files.configs(service),
        ..container::container_spec(name, service, &image)
    };
    if let Some(check) = &container.health_check {
        let json = serde_json::to_string(check).expect("a health check is JSON");
        labels.insert(names::HEALTHCHECK.to_string(), json);
    }
    Ok(ServiceSpec {
        name: Some(names::scoped(name, key)),
        labels: Some(labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            resources: deploy::resources(service),
            restart_policy: deploy::restart_policy(service),
            placement: deploy::placement(service),
            networks: Some(attachments(project, key, service)),
            log_driver: container::log_driver(service),
            ..Default::default()
        }),
        mode: Some(deploy::mode(key, service)?),
        update_config: deploy::update_config(service),
        rollback_config: deploy::rollback_config(key, service)?,
        endpoint_spec: Some(deploy::endpoint(key, service)?),
        networks: None,
    })
}

/// The service's networks by swarm name, sorted, each with the service's key as an alias
/// first, then the file's aliases (as `stack deploy`).
fn attachments(project: &Project, key: &str, service: &Service) -> Vec<NetworkAttachmentConfig> {
    let networks: HashMap<&str, String> = project
        .model
        .networks
        .iter()
        .map(|(k, n)| (k.as_str(), network_name(&project.name, k, n)))
        .collect();
    let mut attachments: Vec<NetworkAttachmentConfig> = service
        .networks
        .iter()
        .map(|(network, attachment)| {
            let target = networks
                .get(network.as_str())
                .cloned()
                .unwrap_or_else(|| network.clone());
            let mut aliases = vec![key.to_string()];
            aliases.extend(attachment.iter().flat_map(|a| a.aliases.iter().cloned()));
            NetworkAttachmentConfig {
                target: Some(target),
                aliases: Some(aliases),
                driver_opts: None,
            }
        })
        .collect();
    attachments.sort_by(|a, b| a.target.cmp(&b.target));
    attachments
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::spec::{LoadOptions, load};

    /// A project named `shop` from a compose file's text.
    pub fn project(yaml: &str) -> Project {
        let dir = tempfile::tempdir().expect("a temporary directory");
        load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(yaml.to_string()),
            project_name: Some("shop".into()),
            cwd: dir.path().to_path_buf(),
            ..LoadOptions::default()
        })
        .unwrap_or_else(|d| panic!("the compose file loads: {d:?}"))
    }

    /// The service `s` of a file whose only service is written `yaml`.
    pub fn service(yaml: &str) -> Service {
        let indented: String = yaml.lines().map(|l| format!("    {l}\n")).collect();
        let project = project(&format!("services:\n  s:\n{indented}"));
        project.model.services["s"].clone()
    }

    #[test]
    fn names_and_labels_are_those_of_stack_deploy() {
        let stack = Stack::new(&project(
            "services:\n  web:\n    image: busybox\n    deploy: {labels: [role=front]}\n",
        ))
        .unwrap();
        let spec = &stack.services["shop_web"];
        let labels = spec.labels.as_ref().unwrap();
        assert_eq!(labels[names::NAMESPACE], "shop");
        assert_eq!(labels[names::IMAGE], "busybox");
        assert_eq!(labels["role"], "front");
        let network = &stack.networks["shop_default"];
        assert_eq!(network.driver.as_deref(), Some("overlay"));
        assert_eq!(network.labels.as_ref().unwrap()[names::NAMESPACE], "shop");
        let attached = first_network(spec);
        assert_eq!(attached.target.as_deref(), Some("shop_default"));
        assert_eq!(attached.aliases, Some(vec!["web".to_string()]));
    }

    /// The first network a service's tasks attach to.
    fn first_network(spec: &ServiceSpec) -> &NetworkAttachmentConfig {
        &spec
            .task_template
            .as_ref()
            .unwrap()
            .networks
            .as_ref()
            .unwrap()[0]
    }

    #[test]
    fn services_come_after_their_dependencies() {
        let stack = Stack::new(&project(
            "services:\n  a:\n    image: b\n    depends_on: [z]\n  z:\n    image: b\n",
        ))
        .unwrap();
        let order: Vec<&String> = stack.services.keys().collect();
        assert_eq!(order, ["shop_z", "shop_a"]);
    }

    #[test]
    fn scale_sets_the_replicas_or_a_jobs_completions_and_refuses_a_global_service() {
        let mut stack = Stack::new(&project(
            "services:\n  web: {image: b}\n  job: {image: b, deploy: {mode: replicated-job}}\n  agent: {image: b, deploy: {mode: global}}\n",
        ))
        .unwrap();
        stack.scale("web", 3).unwrap();
        let web = stack.services["shop_web"].mode.as_ref().unwrap();
        assert_eq!(web.replicated.as_ref().unwrap().replicas, Some(3));
        stack.scale("job", 4).unwrap();
        let job = stack.services["shop_job"].mode.as_ref().unwrap();
        let job = job.replicated_job.as_ref().unwrap();
        assert_eq!(
            (job.total_completions, job.max_concurrent),
            (Some(4), Some(4))
        );
        let global = stack.scale("agent", 2).unwrap_err();
        assert!(global.contains("deploy.mode is global"), "{global}");
        let unknown = stack.scale("wbe", 2).unwrap_err();
        assert_eq!(
            unknown,
            "--scale names service \"wbe\", which is not in the compose file"
        );
    }

    #[test]
    fn a_service_without_an_image_is_refused_with_the_fix() {
        let err = Stack::new(&project("services:\n  web:\n    build: .\n")).unwrap_err();
        assert_eq!(err, StackError::NoImage("web".into()));
        assert!(err.to_string().contains("REGISTRY/NAME:TAG"));
    }

    #[test]
    fn external_networks_are_attached_but_not_the_stacks() {
        let stack = Stack::new(&project(
            "services:\n  web:\n    image: b\n    networks: [edge]\nnetworks:\n  edge:\n    external: true\n",
        ))
        .unwrap();
        assert!(stack.networks.is_empty());
        let spec = &stack.services["shop_web"];
        let attached = first_network(spec);
        assert_eq!(attached.target.as_deref(), Some("edge"));
    }
}
