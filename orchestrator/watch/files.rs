//! What watch mode watches for one loaded project: every file the model was read from, and
//! the paths of the services' `develop.watch` rules; and the directories to subscribe to for
//! them. Directories, not files: editors save by writing a new file and renaming it over the
//! old one, which ends a subscription to the file itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::filter::RuleFilter;
use crate::engine::dockerignore::DockerIgnore;
use crate::spec::Project;
use crate::spec::model::{Service, WatchRule};

#[derive(Debug, Clone, Default)]
pub struct WatchSet {
    /// Compose files, their `extends` and `include` targets, `.env`, `--env-file`s and
    /// `env_file`s: a change to one may change the model. The project directory's `.env` is
    /// always here, so that creating it is seen too.
    pub sources: BTreeSet<PathBuf>,
    pub rules: Vec<ServiceRule>,
}

/// One `develop.watch` rule of one service, with its path filter.
#[derive(Debug, Clone)]
pub struct ServiceRule {
    pub service: String,
    /// The rule as the model has it; its `path` is absolute.
    pub rule: WatchRule,
    pub filter: RuleFilter,
}

impl ServiceRule {
    pub fn root(&self) -> &Path {
        Path::new(&self.rule.path)
    }

    /// Every file at or under `path` that the rule acts on; directories it filters out
    /// entirely (`.git`, an ignored `node_modules`) are not entered.
    pub fn files_under(&self, path: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![path.to_path_buf()];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                if self.filter.skips_directory(&path) {
                    continue;
                }
                let entries = std::fs::read_dir(&path).into_iter().flatten().flatten();
                pending.extend(entries.map(|entry| entry.path()));
            } else if self.filter.admits(&path) {
                files.push(path);
            }
        }
        files.sort();
        files
    }
}

/// A directory to subscribe to, and whether everything below it counts too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subscription {
    pub dir: PathBuf,
    pub recursive: bool,
}

impl WatchSet {
    pub fn of(project: &Project) -> WatchSet {
        let mut sources: BTreeSet<PathBuf> = project.source_files.iter().cloned().collect();
        sources.insert(project.working_dir.join(".env"));
        let rules = project
            .model
            .services
            .iter()
            .flat_map(|(name, service)| service_rules(name, service))
            .collect();
        WatchSet { sources, rules }
    }

    /// The same set without its `develop.watch` rules: for a target that does not apply them.
    pub fn sources_only(self) -> WatchSet {
        WatchSet {
            rules: Vec::new(),
            ..self
        }
    }

    /// Each source file's directory, and each rule's path (its directory when the path is a
    /// file): the smallest set that covers them, a directory inside a recursive one left out.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        let sources = self.sources.iter().filter_map(|file| {
            Some(Subscription {
                dir: file.parent()?.to_path_buf(),
                recursive: false,
            })
        });
        let rules = self.rules.iter().map(|rule| {
            let root = rule.root();
            match root.is_dir() {
                true => Subscription {
                    dir: root.to_path_buf(),
                    recursive: true,
                },
                false => Subscription {
                    dir: root.parent().unwrap_or(root).to_path_buf(),
                    recursive: false,
                },
            }
        });
        minimal(sources.chain(rules).collect())
    }
}

fn service_rules(name: &str, service: &Service) -> Vec<ServiceRule> {
    let context = service.build.as_ref().and_then(|build| {
        let dir = PathBuf::from(build.context.as_deref()?);
        let text = std::fs::read_to_string(dir.join(".dockerignore")).unwrap_or_default();
        dir.is_dir().then(|| (dir, DockerIgnore::parse(&text)))
    });
    let rules = service.develop.iter().flat_map(|develop| &develop.watch);
    rules
        .map(|rule| ServiceRule {
            service: name.to_string(),
            filter: RuleFilter::new(
                Path::new(&rule.path),
                &rule.ignore,
                &rule.include,
                context.clone(),
            ),
            rule: rule.clone(),
        })
        .collect()
}

/// Without duplicates and without directories that a recursive subscription already covers;
/// a directory wanted both ways is subscribed to recursively.
fn minimal(mut wanted: Vec<Subscription>) -> Vec<Subscription> {
    // Recursive ones first, outermost first, so that each is checked against those kept.
    wanted.sort_by(|a, b| b.recursive.cmp(&a.recursive).then(a.dir.cmp(&b.dir)));
    let mut kept: Vec<Subscription> = Vec::new();
    for subscription in wanted {
        let covered = kept.iter().any(|k| {
            (k.recursive && subscription.dir.starts_with(&k.dir)) || k.dir == subscription.dir
        });
        if !covered {
            kept.push(subscription);
        }
    }
    kept.sort();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(dir: &str, recursive: bool) -> Subscription {
        Subscription {
            dir: PathBuf::from(dir),
            recursive,
        }
    }

    #[test]
    fn every_file_the_model_was_read_from_is_watched() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "compose.yaml",
            "include: [db/compose.yaml]\nservices:\n  web:\n    extends: {file: base.yaml, service: base}\n    env_file: [app.env]\n",
        );
        write("db/compose.yaml", "services:\n  db:\n    image: db\n");
        write("base.yaml", "services:\n  base:\n    image: web\n");
        write("app.env", "A=1\n");
        write("prod.env", "B=2\n");
        let options = crate::spec::LoadOptions {
            project_name: Some("demo".into()),
            env_files: vec![dir.path().join("prod.env")],
            cwd: dir.path().to_path_buf(),
            ..crate::spec::LoadOptions::default()
        };
        let set = WatchSet::of(&crate::spec::load(&options).unwrap());
        let root = dir.path().canonicalize().unwrap();
        let watched: Vec<String> = set
            .sources
            .iter()
            .map(|p| {
                let p = p.canonicalize().unwrap_or_else(|_| p.clone());
                p.strip_prefix(&root).unwrap().display().to_string()
            })
            .collect();
        assert_eq!(
            watched,
            [
                ".env",
                "app.env",
                "base.yaml",
                "compose.yaml",
                "db/compose.yaml",
                "prod.env"
            ]
        );
        // `.env` does not exist yet: its directory is watched, so that creating it is seen.
        let dirs: Vec<_> = set.subscriptions().into_iter().map(|s| s.dir).collect();
        assert!(
            dirs.iter().any(|d| d.canonicalize().unwrap() == root),
            "{dirs:?}"
        );
    }

    #[test]
    fn nested_and_repeated_directories_are_subscribed_once() {
        let wanted = vec![
            sub("/p", false),
            sub("/p/src", true),
            sub("/p/src/lib", true),
            sub("/p/src", false),
            sub("/p/env", false),
            sub("/p", false),
            sub("/q", true),
            sub("/q", false),
        ];
        assert_eq!(
            minimal(wanted),
            vec![
                sub("/p", false),
                sub("/p/env", false),
                sub("/p/src", true),
                sub("/q", true)
            ]
        );
    }
}
