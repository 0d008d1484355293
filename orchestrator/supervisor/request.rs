//! What `wharf up` asks for, in a form that crosses the control socket and is kept in the state
//! directory: the load options (files, environment, working directory) and the flags. The
//! attached `up`, the detached supervisor and a supervisor restarted by its keeper all turn it
//! into a desired state and plan options by the same code.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::desired::{self, BuildOptions, Desired, Discovery};
use crate::plan::{self, BuildPolicy, Plan, ReconcileOptions};
use crate::spec::{self, Diagnostic, LoadOptions, Project};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpRequest {
    pub load: LoadOptions,
    /// `--scale SERVICE=NUM`.
    pub scale: Vec<(String, u32)>,
    /// Service arguments; empty is every service.
    pub services: Vec<String>,
    pub no_deps: bool,
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub remove_orphans: bool,
    /// `--build`: build images even when they exist.
    pub build: bool,
    /// `--no-build`.
    pub no_build: bool,
    /// `-t`, in seconds.
    pub timeout: Option<u64>,
    /// `-V`: recreated containers get new anonymous volumes.
    pub renew_anon_volumes: bool,
    /// `up -d --watch`: the supervisor also watches the project's files.
    #[serde(default)]
    pub watch: bool,
    /// `--pull`: the pull policy of every service, instead of each one's `pull_policy`.
    #[serde(default)]
    pub pull: Option<PullPolicy>,
    /// `COMPOSE_IGNORE_ORPHANS`.
    #[serde(default)]
    pub ignore_orphans: bool,
}

/// `up --pull`: the pull policy every service takes for one `up`, as compose's; `policy`
/// leaves each service its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
    Build,
    Policy,
}

impl PullPolicy {
    /// The policy that replaces every service's, if any.
    pub fn policy(self) -> Option<PullPolicy> {
        (self != PullPolicy::Policy).then_some(self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::Missing => "missing",
            PullPolicy::Never => "never",
            PullPolicy::Build => "build",
            PullPolicy::Policy => "policy",
        }
    }
}

/// A request turned into what the engine should have.
pub struct Prepared {
    pub project: Project,
    pub desired: Desired,
    /// Builds and pulls of missing images, before the plan.
    pub images: Plan,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The compose files do not load.
    #[error("{}", .0.plain())]
    Load(Diagnostic),
    /// The flags contradict the files.
    #[error(transparent)]
    Flags(#[from] FlagError),
}

/// A flag of the request that the compose files contradict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("--scale names service {0:?}, which is not in the compose file")]
    ScaleOfUnknownService(String),
    #[error(
        "--scale {service}={count}: service {service:?} sets container_name, which only one container can have"
    )]
    ScaleOfNamedContainer { service: String, count: u32 },
}

impl UpRequest {
    /// Loads the project and builds its desired state, service names answered by wharf's DNS;
    /// no I/O beyond reading the files.
    pub fn prepare(&self) -> Result<Prepared, PrepareError> {
        let project = self.check()?;
        let mut desired = self.desired(&project, Discovery::WharfDns);
        if let Some(policy) = &self.pull {
            for service in desired.services.values_mut() {
                service.pull_policy = policy.as_str().to_string();
            }
        }
        let images = if self.no_build {
            Plan::default()
        } else {
            plan::lifecycle::prepare_images(&desired, &self.services, self.build)
        };
        Ok(Prepared {
            project,
            desired,
            images,
        })
    }

    /// The project loaded, and this request's flags checked against it: what
    /// [`prepare`](Self::prepare) refuses, without building anything.
    pub fn check(&self) -> Result<Project, PrepareError> {
        let project = spec::load(&self.load).map_err(PrepareError::Load)?;
        self.check_scale(&project)?;
        Ok(project)
    }

    /// The desired state of `project` under this request's `--scale`.
    pub fn desired(&self, project: &Project, discovery: Discovery) -> Desired {
        let scale: IndexMap<String, u32> = self.scale.iter().cloned().collect();
        desired::build(project, &BuildOptions { scale, discovery })
    }

    fn check_scale(&self, project: &Project) -> Result<(), FlagError> {
        for (service, count) in &self.scale {
            let Some(definition) = project.model.services.get(service) else {
                return Err(FlagError::ScaleOfUnknownService(service.clone()));
            };
            if *count > 1 && definition.container_name.is_some() {
                return Err(FlagError::ScaleOfNamedContainer {
                    service: service.clone(),
                    count: *count,
                });
            }
        }
        Ok(())
    }

    pub fn reconcile_options(&self) -> ReconcileOptions {
        ReconcileOptions {
            services: self.services.clone(),
            no_deps: self.no_deps,
            force_recreate: self.force_recreate,
            no_recreate: self.no_recreate,
            remove_orphans: self.remove_orphans,
            ignore_orphans: self.ignore_orphans,
            build: if self.no_build {
                BuildPolicy::Never
            } else {
                BuildPolicy::IfMissing
            },
            timeout: self.timeout.map(std::time::Duration::from_secs),
            renew_anon_volumes: self.renew_anon_volumes,
            supervision: None,
        }
    }

    /// What the supervisor keeps converging on after this request: the same project, scale and
    /// services, without the one-shot flags (a restarted supervisor must not force a recreate).
    /// Service arguments add up: after `up -d web` then `up -d db` both are supervised.
    pub fn standing(&self, previous: Option<&UpRequest>) -> UpRequest {
        let services = match previous {
            // Everything was asked for already, or is now.
            Some(previous) if previous.services.is_empty() => Vec::new(),
            _ if self.services.is_empty() => Vec::new(),
            Some(previous) => {
                let mut union = previous.services.clone();
                union.extend(
                    self.services
                        .iter()
                        .filter(|s| !previous.services.contains(s))
                        .cloned(),
                );
                union
            }
            None => self.services.clone(),
        };
        UpRequest {
            load: self.load.clone(),
            scale: self.scale.clone(),
            services,
            no_deps: self.no_deps,
            no_build: self.no_build,
            // Watching goes on until `watch --stop` or `down`, whatever later `up`s say.
            watch: self.watch || previous.is_some_and(|p| p.watch),
            ignore_orphans: self.ignore_orphans,
            ..UpRequest::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(services: &[&str]) -> UpRequest {
        UpRequest {
            services: services.iter().map(|s| s.to_string()).collect(),
            force_recreate: true,
            build: true,
            remove_orphans: true,
            timeout: Some(3),
            ..UpRequest::default()
        }
    }

    #[test]
    fn a_scale_the_file_contradicts_is_a_flag_error_before_anything_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let scaled = |scale: (&str, u32)| UpRequest {
            load: LoadOptions {
                files: vec!["-".into()],
                project_name: Some("p".into()),
                cwd: dir.path().to_path_buf(),
                stdin: Some("services:\n  db:\n    image: x\n    container_name: the-db\n".into()),
                ..LoadOptions::default()
            },
            scale: vec![(scale.0.to_string(), scale.1)],
            ..UpRequest::default()
        };
        let error = |scale| match scaled(scale).prepare() {
            Err(PrepareError::Flags(flag)) => flag,
            other => panic!("{:?}", other.err()),
        };
        assert_eq!(
            error(("dbb", 2)).to_string(),
            "--scale names service \"dbb\", which is not in the compose file"
        );
        assert_eq!(
            error(("db", 2)).to_string(),
            "--scale db=2: service \"db\" sets container_name, which only one container can have"
        );
        assert!(scaled(("db", 1)).prepare().is_ok());
    }

    #[test]
    fn the_standing_request_drops_one_shot_flags() {
        let standing = request(&["web"]).standing(None);
        assert_eq!(standing.services, ["web"]);
        assert!(!standing.force_recreate && !standing.build && !standing.remove_orphans);
        assert_eq!(standing.timeout, None);
    }

    #[test]
    fn service_arguments_add_up_and_all_wins() {
        let first = request(&["web"]).standing(None);
        assert_eq!(
            request(&["db", "web"]).standing(Some(&first)).services,
            ["web", "db"]
        );
        assert!(request(&[]).standing(Some(&first)).services.is_empty());
        let all = request(&[]).standing(None);
        assert!(request(&["db"]).standing(Some(&all)).services.is_empty());
    }
}
