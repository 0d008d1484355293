//! Which files under a `develop.watch` rule's path the rule acts on, as compose decides it:
//! never `.git/` nor an editor's temporary files; not what the service's `.dockerignore`
//! leaves out of its build context; not what the rule's `ignore` patterns match; and, when the
//! rule has `include` patterns, only what they match. Patterns use `.dockerignore`'s syntax
//! and are relative to the rule's path (`.dockerignore`'s to the build context).

use std::path::{Path, PathBuf};

use crate::engine::dockerignore::DockerIgnore;

#[derive(Debug, Clone)]
pub struct RuleFilter {
    /// The rule's `path`.
    root: PathBuf,
    ignore: DockerIgnore,
    /// `None`: every file is included.
    include: Option<DockerIgnore>,
    /// The service's build context and its `.dockerignore`.
    context: Option<(PathBuf, DockerIgnore)>,
}

impl RuleFilter {
    pub fn new(
        root: &Path,
        ignore: &[String],
        include: &[String],
        context: Option<(PathBuf, DockerIgnore)>,
    ) -> RuleFilter {
        RuleFilter {
            root: root.to_path_buf(),
            ignore: DockerIgnore::parse(&ignore.join("\n")),
            include: (!include.is_empty()).then(|| DockerIgnore::parse(&include.join("\n"))),
            context,
        }
    }

    /// Whether the rule acts on `path` (absolute). Paths outside the rule's path are not its.
    pub fn admits(&self, path: &Path) -> bool {
        let Some(relative) = relative_to(&self.root, path) else {
            return false;
        };
        if is_noise(path) || self.ignore.excluded(&relative) {
            return false;
        }
        if let Some(include) = &self.include
            && !include.excluded(&relative)
        {
            return false;
        }
        match &self.context {
            Some((context, dockerignore)) => match relative_to(context, path) {
                Some(in_context) => !dockerignore.excluded(&in_context),
                None => true,
            },
            None => true,
        }
    }

    /// Whether a directory under the rule's path cannot hold any file the rule acts on, so a
    /// walk need not enter it (`.git`, an ignored `node_modules`).
    pub fn skips_directory(&self, dir: &Path) -> bool {
        if is_noise(dir) {
            return true;
        }
        match relative_to(&self.root, dir) {
            Some(relative) if !relative.is_empty() => {
                self.ignore.excluded(&relative) && !self.ignore.may_include_under(&relative)
            }
            _ => false,
        }
    }
}

/// `path` relative to `root`, `/`-separated; a rule whose path is the file itself sees the
/// file's name.
fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    if relative.as_os_str().is_empty() {
        return Some(path.file_name()?.to_string_lossy().into_owned());
    }
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    Some(parts.join("/"))
}

/// `.git` directories and the files editors write beside the one being saved: vim's swap files
/// and its `4913` write test, backups ending in `~`, emacs' lock and auto-save files,
/// JetBrains' safe-write files, kate's swap files. Saving through them must not trigger twice.
fn is_noise(path: &Path) -> bool {
    if path.components().any(|c| c.as_os_str() == ".git") {
        return true;
    }
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    name == "4913"
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name.ends_with(".kate-swp")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(ignore: &[&str], include: &[&str], dockerignore: Option<&str>) -> RuleFilter {
        let owned = |patterns: &[&str]| patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        RuleFilter::new(
            Path::new("/p/src"),
            &owned(ignore),
            &owned(include),
            dockerignore.map(|text| (PathBuf::from("/p"), DockerIgnore::parse(text))),
        )
    }

    #[test]
    fn editor_files_and_git_are_never_acted_on() {
        let all = filter(&[], &[], None);
        assert!(all.admits(Path::new("/p/src/app.py")));
        for noise in [
            "/p/src/.app.py.swp",
            "/p/src/.app.py.swx",
            "/p/src/4913",
            "/p/src/app.py~",
            "/p/src/.#app.py",
            "/p/src/#app.py#",
            "/p/src/app.py___jb_tmp___",
            "/p/src/.git/index",
            "/p/src/.git",
        ] {
            assert!(!all.admits(Path::new(noise)), "{noise}");
        }
    }

    #[test]
    fn only_paths_under_the_rule_count() {
        let all = filter(&[], &[], None);
        assert!(!all.admits(Path::new("/p/other/app.py")));
        assert!(!all.admits(Path::new("/p/srcx/app.py")));
    }

    #[test]
    fn ignore_patterns_are_relative_to_the_rule_path() {
        let rule = filter(&["node_modules/", "*.log"], &[], None);
        assert!(!rule.admits(Path::new("/p/src/node_modules/x/index.js")));
        assert!(!rule.admits(Path::new("/p/src/debug.log")));
        assert!(rule.admits(Path::new("/p/src/lib/debug.log")));
        assert!(rule.admits(Path::new("/p/src/main.js")));
        assert!(rule.skips_directory(Path::new("/p/src/node_modules")));
        assert!(!rule.skips_directory(Path::new("/p/src/lib")));
    }

    #[test]
    fn include_patterns_keep_only_what_they_match() {
        let rule = filter(&["secret.txt"], &["*.txt", "static/"], None);
        assert!(rule.admits(Path::new("/p/src/a.txt")));
        assert!(rule.admits(Path::new("/p/src/static/logo.png")));
        assert!(!rule.admits(Path::new("/p/src/a.py")));
        assert!(
            !rule.admits(Path::new("/p/src/secret.txt")),
            "ignore still wins"
        );
    }

    #[test]
    fn dockerignore_is_relative_to_the_build_context() {
        let rule = filter(&[], &[], Some("src/generated\nsrc/*.md"));
        assert!(!rule.admits(Path::new("/p/src/generated/api.py")));
        assert!(!rule.admits(Path::new("/p/src/README.md")));
        assert!(rule.admits(Path::new("/p/src/api.py")));
    }

    #[test]
    fn a_rule_on_a_single_file_matches_its_name() {
        let rule = RuleFilter::new(Path::new("/p/app.conf"), &["*.conf".into()], &[], None);
        assert!(!rule.admits(Path::new("/p/app.conf")));
        let rule = RuleFilter::new(Path::new("/p/app.conf"), &[], &[], None);
        assert!(rule.admits(Path::new("/p/app.conf")));
    }
}
