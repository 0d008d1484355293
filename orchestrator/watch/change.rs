//! What a burst of changed files asks for. A source file of the model makes the project load
//! again; a file that `develop.watch` rules act on gives each rule's service its work, merged
//! as compose does: a `rebuild` makes every other action of that service moot (the new image
//! has the files), otherwise the files are synced first, then the service restarts or runs
//! its `exec` commands.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::files::WatchSet;
use crate::engine::ExecRequest;
use crate::spec::model::WatchAction;

/// The files of a burst, sorted by what they may affect.
#[derive(Debug, Default, PartialEq)]
pub struct Burst {
    /// Files the model is read from.
    pub sources: Vec<PathBuf>,
    /// Everything else the burst names.
    pub others: Vec<PathBuf>,
}

pub fn split(paths: &BTreeSet<PathBuf>, set: &WatchSet) -> Burst {
    let (sources, others) = paths.iter().cloned().partition(|p| set.sources.contains(p));
    Burst { sources, others }
}

/// Files to copy into a service's replicas for one rule: those under `root` go to the same
/// place under `target`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncBatch {
    pub root: PathBuf,
    pub target: String,
    pub files: Vec<PathBuf>,
}

impl SyncBatch {
    /// Where `file` (under `root`) goes in the container.
    pub fn container_path(&self, file: &Path) -> String {
        let relative = file.strip_prefix(&self.root).unwrap_or(Path::new(""));
        let target = self.target.trim_end_matches('/');
        if relative.as_os_str().is_empty() {
            return target.to_string();
        }
        format!("{target}/{}", relative.to_string_lossy())
    }
}

/// What one service must do about the changed files.
#[derive(Debug, Default, PartialEq)]
pub struct ServiceWork {
    pub service: String,
    /// Build its image again and replace its replicas; nothing else is then done.
    pub rebuild: bool,
    pub syncs: Vec<SyncBatch>,
    /// Restart its replicas, after the syncs.
    pub restart: bool,
    /// Run in every replica, after the syncs.
    pub execs: Vec<ExecRequest>,
    /// The files that caused it, for the message.
    pub files: BTreeSet<PathBuf>,
}

/// The work each service's rules ask for, for files whose content changed, in the order the
/// services and their rules appear in the model.
pub fn work(set: &WatchSet, changed: &[PathBuf]) -> Vec<ServiceWork> {
    let mut services: IndexMap<String, ServiceWork> = IndexMap::new();
    for rule in &set.rules {
        let files: Vec<PathBuf> = changed
            .iter()
            .filter(|f| rule.filter.admits(f))
            .cloned()
            .collect();
        if files.is_empty() {
            continue;
        }
        let work = services
            .entry(rule.service.clone())
            .or_insert_with(|| ServiceWork {
                service: rule.service.clone(),
                ..ServiceWork::default()
            });
        work.files.extend(files.iter().cloned());
        let action = rule.rule.action;
        if action == WatchAction::Rebuild {
            work.rebuild = true;
        }
        if matches!(
            action,
            WatchAction::Sync | WatchAction::SyncRestart | WatchAction::SyncExec
        ) && let Some(target) = &rule.rule.target
        {
            work.syncs.push(SyncBatch {
                root: rule.root().to_path_buf(),
                target: target.clone(),
                files,
            });
        }
        if matches!(action, WatchAction::Restart | WatchAction::SyncRestart) {
            work.restart = true;
        }
        if action == WatchAction::SyncExec
            && let Some(exec) = &rule.rule.exec
        {
            work.execs.push(exec_request(exec));
        }
    }
    services
        .into_values()
        .map(|work| match work.rebuild {
            true => ServiceWork {
                service: work.service,
                rebuild: true,
                files: work.files,
                ..ServiceWork::default()
            },
            false => work,
        })
        .collect()
}

/// A rule's `exec` (`command` as a list or a shell-like string, `user`, `privileged`,
/// `working_dir`, `environment` as a list or a map).
fn exec_request(exec: &serde_json::Value) -> ExecRequest {
    let text = |key: &str| exec.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let command = match exec.get("command") {
        Some(serde_json::Value::String(line)) => {
            shell_words::split(line).unwrap_or_else(|_| vec![line.clone()])
        }
        Some(serde_json::Value::Array(items)) => items.iter().map(scalar).collect(),
        _ => Vec::new(),
    };
    let environment = match exec.get("environment") {
        Some(serde_json::Value::Array(items)) => items.iter().map(scalar).collect(),
        // A `KEY` without a value (the loader writes it `null`) is left out, as compose's
        // `Environment.ToMapping()` leaves it out.
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| format!("{key}={}", scalar(value)))
            .collect(),
        _ => Vec::new(),
    };
    ExecRequest {
        command,
        user: text("user"),
        working_dir: text("working_dir"),
        environment,
        privileged: exec
            .get("privileged")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    }
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::WatchRule;
    use crate::watch::files::ServiceRule;
    use crate::watch::filter::RuleFilter;

    fn rule(service: &str, path: &str, action: WatchAction, target: Option<&str>) -> ServiceRule {
        let rule = WatchRule {
            path: path.to_string(),
            action,
            target: target.map(str::to_string),
            exec: None,
            include: Vec::new(),
            ignore: vec!["*.tmp".to_string()],
            initial_sync: false,
        };
        ServiceRule {
            service: service.to_string(),
            filter: RuleFilter::new(Path::new(path), &rule.ignore, &rule.include, None),
            rule,
        }
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn model_files_are_told_apart() {
        let set = WatchSet {
            sources: paths(&["/p/compose.yaml", "/p/.env"]).into_iter().collect(),
            rules: Vec::new(),
        };
        let burst = paths(&["/p/.env", "/p/app.py", "/p/compose.yaml"]);
        assert_eq!(
            split(&burst.into_iter().collect(), &set),
            Burst {
                sources: paths(&["/p/.env", "/p/compose.yaml"]),
                others: paths(&["/p/app.py"]),
            }
        );
    }

    #[test]
    fn sync_rules_copy_only_their_files_to_their_target() {
        let set = WatchSet {
            rules: vec![
                rule("web", "/p/web", WatchAction::Sync, Some("/app")),
                rule("api", "/p/api", WatchAction::SyncRestart, Some("/srv")),
            ],
            ..WatchSet::default()
        };
        let changed = paths(&[
            "/p/web/a.html",
            "/p/web/b.tmp",
            "/p/web/.a.html.swp",
            "/p/x",
        ]);
        let work = work(&set, &changed);
        assert_eq!(work.len(), 1);
        assert_eq!(work[0].service, "web");
        assert!(!work[0].restart && !work[0].rebuild);
        let batch = &work[0].syncs[0];
        assert_eq!(batch.files, paths(&["/p/web/a.html"]));
        assert_eq!(
            batch.container_path(Path::new("/p/web/a.html")),
            "/app/a.html"
        );
    }

    #[test]
    fn sync_restart_syncs_then_restarts_and_rebuild_wins_over_everything() {
        let set = WatchSet {
            rules: vec![
                rule("api", "/p/api/src", WatchAction::SyncRestart, Some("/srv/")),
                rule("web", "/p/web/src", WatchAction::Sync, Some("/app")),
                rule("web", "/p/web", WatchAction::Rebuild, None),
            ],
            ..WatchSet::default()
        };
        let work = work(&set, &paths(&["/p/api/src/m.py", "/p/web/src/i.js"]));
        assert_eq!(work[0].service, "api");
        assert!(work[0].restart);
        assert_eq!(
            work[0].syncs[0].container_path(Path::new("/p/api/src/m.py")),
            "/srv/m.py"
        );
        assert_eq!(work[1].service, "web");
        assert!(work[1].rebuild);
        assert!(work[1].syncs.is_empty() && !work[1].restart);
    }

    #[test]
    fn a_rule_on_one_file_syncs_it_to_its_target() {
        let set = WatchSet {
            rules: vec![rule(
                "web",
                "/p/nginx.conf",
                WatchAction::Sync,
                Some("/etc/nginx/nginx.conf"),
            )],
            ..WatchSet::default()
        };
        let work = work(&set, &paths(&["/p/nginx.conf"]));
        let batch = &work[0].syncs[0];
        assert_eq!(
            batch.container_path(Path::new("/p/nginx.conf")),
            "/etc/nginx/nginx.conf"
        );
    }

    #[test]
    fn exec_commands_read_both_syntaxes() {
        let exec = serde_json::json!({
            "command": "sh -c 'echo reloaded > /tmp/x'",
            "user": "root",
            "environment": {"A": "1", "B": null},
        });
        assert_eq!(
            exec_request(&exec),
            ExecRequest {
                command: vec!["sh".into(), "-c".into(), "echo reloaded > /tmp/x".into()],
                user: Some("root".into()),
                working_dir: None,
                environment: vec!["A=1".into()],
                privileged: false,
            }
        );
        let exec = serde_json::json!({"command": ["kill", "-HUP", "1"], "environment": ["C=3"]});
        assert_eq!(exec_request(&exec).command, ["kill", "-HUP", "1"]);
        assert_eq!(exec_request(&exec).environment, ["C=3"]);
    }
}
