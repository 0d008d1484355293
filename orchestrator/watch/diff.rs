//! What changed between two desired states, service by service, for the message printed
//! before a re-converge. It decides nothing: the plan does, from the same desired state.

use std::fmt;

use crate::desired::Desired;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceChange {
    Added {
        replicas: u32,
    },
    Removed,
    /// Its config hash changed: its replicas are replaced.
    Configuration,
    Scaled {
        from: u32,
        to: u32,
    },
    /// Only what needs no new container changed (`build`, `depends_on`, `develop`, …).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDiff {
    pub service: String,
    pub changes: Vec<ServiceChange>,
}

/// Every service that differs, in the new file's order, then the removed ones.
pub fn services(old: &Desired, new: &Desired) -> Vec<ServiceDiff> {
    let mut diffs = Vec::new();
    for (name, service) in &new.services {
        let changes = match old.services.get(name) {
            None => vec![ServiceChange::Added {
                replicas: service.replicas,
            }],
            Some(before) => {
                let mut changes = Vec::new();
                if before.config_hash != service.config_hash {
                    changes.push(ServiceChange::Configuration);
                }
                if before.replicas != service.replicas {
                    changes.push(ServiceChange::Scaled {
                        from: before.replicas,
                        to: service.replicas,
                    });
                }
                let other = before.build != service.build
                    || before.depends_on != service.depends_on
                    || before.pull_policy != service.pull_policy;
                if changes.is_empty() && other {
                    changes.push(ServiceChange::Other);
                }
                changes
            }
        };
        if !changes.is_empty() {
            diffs.push(ServiceDiff {
                service: name.clone(),
                changes,
            });
        }
    }
    for name in old.services.keys() {
        if !new.services.contains_key(name) {
            diffs.push(ServiceDiff {
                service: name.clone(),
                changes: vec![ServiceChange::Removed],
            });
        }
    }
    diffs
}

impl fmt::Display for ServiceChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceChange::Added { replicas: 1 } => write!(f, "new service"),
            ServiceChange::Added { replicas } => write!(f, "new service ({replicas} replicas)"),
            ServiceChange::Removed => write!(f, "removed from the project"),
            ServiceChange::Configuration => write!(f, "configuration changed"),
            ServiceChange::Scaled { from, to } => write!(f, "replicas {from} -> {to}"),
            ServiceChange::Other => write!(f, "changed (nothing that needs new containers)"),
        }
    }
}

impl fmt::Display for ServiceDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changes: Vec<String> = self.changes.iter().map(|c| c.to_string()).collect();
        write!(f, "{}: {}", self.service, changes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{self, BuildOptions};
    use crate::spec::{self, LoadOptions};

    fn desired(compose: &str) -> Desired {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
        let options = LoadOptions {
            project_name: Some("demo".into()),
            cwd: dir.path().to_path_buf(),
            ..LoadOptions::default()
        };
        desired::build(&spec::load(&options).unwrap(), &BuildOptions::default())
    }

    #[test]
    fn each_service_says_what_changed() {
        let old = desired(
            "services:\n  web: {image: b, environment: [A=1]}\n  db: {image: b}\n  old: {image: b}\n  w: {image: b}\n",
        );
        let new = desired(
            "services:\n  web: {image: b, environment: [A=2]}\n  db: {image: b}\n  new: {image: b}\n  w: {image: b, scale: 2}\n",
        );
        let lines: Vec<String> = services(&old, &new).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            [
                "web: configuration changed",
                "new: new service",
                "w: replicas 1 -> 2",
                "old: removed from the project"
            ]
        );
    }
}
