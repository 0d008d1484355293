//! The loader: compose files, `.env` and flags in; one canonical, validated `Project` out.
//!
//! Per file: read → parse (node tree with spans) → interpolate → absolute paths → `include` →
//! `extends`. Then the files merge in order, profiles select the services, the tree becomes the
//! typed `Model`, and `normalize` and `validate` finish it. Nothing here touches the engine.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use super::de::from_node;
use super::diagnostic::{Diagnostic, SourceFile, Span};
use super::discover::{self, Source};
use super::model::Model;
use super::yaml::{self, Node, Value};
use super::{dotenv, extends, include, interpolate, merge, name, normalize, profiles, validate};

/// A boolean as Go's `strconv.ParseBool` reads it, as compose reads its `COMPOSE_*` switches.
pub fn go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Everything that decides what the project is, as the CLI gathered it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LoadOptions {
    /// `-f` values; `-` is standard input.
    pub files: Vec<String>,
    pub project_directory: Option<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--env-file`, in order; they replace the project's `.env`.
    pub env_files: Vec<PathBuf>,
    /// `--profile`.
    pub profiles: Vec<String>,
    /// The process environment.
    pub environment: IndexMap<String, String>,
    pub cwd: PathBuf,
    /// What `-f -` reads.
    pub stdin: Option<String>,
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub working_dir: PathBuf,
    /// The project's compose files, in merge order.
    pub compose_files: Vec<PathBuf>,
    /// Every file the model was made from: compose files, their `extends` and `include`
    /// targets, `.env` and `env_file`s (what `watch` watches).
    pub source_files: Vec<PathBuf>,
    pub model: Model,
    /// Profiles named by any service, enabled or not.
    pub all_profiles: Vec<String>,
    /// Services that no active profile enables.
    pub disabled_services: Vec<String>,
    /// The environment used for interpolation: `.env` overridden by the process.
    pub environment: IndexMap<String, String>,
    /// The sha256 of each secret's and config's `file`, by path.
    pub file_digests: IndexMap<String, String>,
    pub warnings: Vec<Diagnostic>,
    /// Where each service key was written (`services.web.privileged`, and the keys under
    /// `deploy`), for the warnings of a later stage (the swarm target's unapplied keys).
    pub key_spans: IndexMap<String, Span>,
    /// The docker CLI's credentials (a `config.json`), read when a service has
    /// `use_api_socket`, which passes them on to it.
    pub api_socket_credentials: Option<String>,
}

/// The span of every key of every service, and of the keys under its `deploy`.
fn service_key_spans(root: &Node) -> IndexMap<String, Span> {
    let mut spans = IndexMap::new();
    let services = root.get("services").and_then(Node::as_map);
    for (name, service) in services.into_iter().flatten() {
        for (key, entry) in service.node.as_map().into_iter().flatten() {
            let path = format!("services.{name}.{key}");
            for (inner, deploy) in entry
                .node
                .as_map()
                .filter(|_| key == "deploy")
                .into_iter()
                .flatten()
            {
                spans.insert(format!("{path}.{inner}"), deploy.key_span.clone());
            }
            spans.insert(path, entry.key_span.clone());
        }
    }
    spans
}

pub fn load(options: &LoadOptions) -> Result<Project, Diagnostic> {
    // `.env` is read before the files are known: it may set COMPOSE_FILE.
    let env_dir = env_directory(options);
    let mut context = Context::new(options, &env_dir)?;
    let discovered = discover::discover(&discover::Request {
        files: &options.files,
        project_directory: options.project_directory.as_deref(),
        compose_file: context.env.get("COMPOSE_FILE").map(String::as_str),
        path_separator: context
            .env
            .get("COMPOSE_PATH_SEPARATOR")
            .map(String::as_str),
        cwd: &options.cwd,
    })?;
    let project_dir = discovered.project_dir.clone();
    context.warnings.extend(discovered.warnings);

    let mut parsed = Vec::new();
    let mut compose_files = Vec::new();
    for source in &discovered.files {
        let path = match source {
            Source::Path(p) => p.clone(),
            Source::Stdin => project_dir.join("-"),
        };
        compose_files.push(path.clone());
        if let Some(node) = context.parse(source)? {
            parsed.push((path, node));
        }
    }

    // The name is settled before interpolation, so that files can use ${COMPOSE_PROJECT_NAME}.
    let name = project_name(options, &mut context, &parsed, &project_dir)?;
    context
        .env
        .entry("COMPOSE_PROJECT_NAME".to_string())
        .or_insert_with(|| name.clone());

    let mut root: Option<Node> = None;
    for (path, mut node) in parsed {
        context.prepare(&mut node, &project_dir)?;
        include::apply(&mut node, &mut context, &path)?;
        extends::apply(&mut node, &mut context, &path)?;
        root = Some(match root {
            None => merge::strip_tags(node),
            Some(base) => {
                let span = base.span.clone();
                merge::merge(base, node, &mut Vec::new())
                    .unwrap_or_else(|| Node::map(Default::default(), span))
            }
        });
    }
    let Some(mut root) = root else {
        let file = compose_files.first().cloned().unwrap_or_default();
        return Err(Diagnostic::new(format!("{} is empty", file.display()))
            .with_help("a compose file needs at least a `services:` section"));
    };
    check_root(&root)?;
    super::removed::check(&root)?;
    super::legacy::rewrite(&mut root, &mut context.warnings);

    let active = profiles::active(&options.profiles, &context.env);
    let selection = profiles::select(&mut root, &active);
    let mut model: Model = from_node(&root)?;
    collect_extensions(&root, &mut model);
    if model.version.is_some() {
        let span = root
            .as_map()
            .and_then(|m| m.get("version"))
            .map(|e| e.key_span.clone());
        context.warnings.push(Diagnostic {
            message: "the attribute `version` is obsolete, it will be ignored".to_string(),
            span,
            help: Some("remove it to avoid potential confusion".to_string()),
        });
    }
    model.name = name.clone();

    normalize::normalize(&mut model, &mut context, &root, &project_dir)?;
    validate::validate(&model, &root, &selection)?;
    normalize::without_unused_resources(&mut model);
    super::unapplied::warn(&root, &mut context.warnings);
    let key_spans = service_key_spans(&root);

    let mut source_files = compose_files.clone();
    source_files.append(&mut context.source_files);
    source_files.dedup();
    let api_socket_credentials = model
        .services
        .values()
        .any(|s| s.use_api_socket)
        .then(|| super::docker_config::cli_credentials(&options.environment));
    Ok(Project {
        name,
        working_dir: project_dir,
        compose_files,
        source_files,
        file_digests: super::file_digests::file_digests(&model),
        model,
        disabled_services: selection.disabled.keys().cloned().collect(),
        all_profiles: selection.all_profiles,
        environment: context.env,
        warnings: context.warnings,
        key_spans,
        api_socket_credentials,
    })
}

/// Where `.env` is looked for: the project directory when it is known before the files are.
fn env_directory(options: &LoadOptions) -> PathBuf {
    if let Some(dir) = &options.project_directory {
        return discover::absolute(&options.cwd, dir);
    }
    match options.files.first() {
        Some(first) if first != "-" => discover::absolute(&options.cwd, Path::new(first))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| options.cwd.clone()),
        _ => options.cwd.clone(),
    }
}

/// The project's name when the command line (`-p`) or the process's environment
/// (`COMPOSE_PROJECT_NAME`, which `.env` cannot override) gives it: known before any file is read.
pub fn given_name(options: &LoadOptions) -> Option<Result<String, Diagnostic>> {
    if let Some(n) = &options.project_name {
        return Some(name::explicit(n, "-p"));
    }
    let variable = options.environment.get("COMPOSE_PROJECT_NAME");
    let n = variable.filter(|n| !n.is_empty())?;
    Some(name::explicit(n, "COMPOSE_PROJECT_NAME"))
}

/// `-p`, then `COMPOSE_PROJECT_NAME`, then the last file's `name:` (interpolated), then the
/// project directory.
fn project_name(
    options: &LoadOptions,
    context: &mut Context,
    parsed: &[(PathBuf, Node)],
    project_dir: &Path,
) -> Result<String, Diagnostic> {
    if let Some(given) = given_name(options) {
        return given;
    }
    if let Some(n) = context
        .env
        .get("COMPOSE_PROJECT_NAME")
        .filter(|n| !n.is_empty())
    {
        return name::explicit(n, "COMPOSE_PROJECT_NAME");
    }
    let mut from_file = None;
    for (_, node) in parsed {
        if let Some(value) = node.get("name") {
            let mut value = value.clone();
            context.interpolate(&mut value)?;
            from_file = value.scalar_text().map(str::to_string);
        }
    }
    name::derived(from_file.as_deref().filter(|n| !n.is_empty()), project_dir)
}

/// The top level must be a mapping; `services` a mapping of mappings.
fn check_root(root: &Node) -> Result<(), Diagnostic> {
    if root.as_map().is_none() {
        return Err(Diagnostic::at(
            &root.span,
            format!("a compose file must be a mapping, found {}", root.kind()),
        )
        .with_help("start the file with `services:`"));
    }
    Ok(())
}

/// `x-*` keys at the top level and in services, networks, volumes, secrets and configs, which
/// compose keeps in its output.
fn collect_extensions(root: &Node, model: &mut Model) {
    model.extensions = extensions_of(root);
    for (name, service) in model.services.iter_mut() {
        if let Some(node) = root.get("services").and_then(|s| s.get(name)) {
            service.extensions = extensions_of(node);
        }
    }
    for (name, network) in model.networks.iter_mut() {
        if let Some(node) = root.get("networks").and_then(|s| s.get(name)) {
            network.extensions = extensions_of(node);
        }
    }
    for (name, volume) in model.volumes.iter_mut() {
        if let Some(node) = root.get("volumes").and_then(|s| s.get(name)) {
            volume.extensions = extensions_of(node);
        }
    }
    for (kind, objects) in [
        ("secrets", &mut model.secrets),
        ("configs", &mut model.configs),
    ] {
        for (name, object) in objects.iter_mut() {
            if let Some(node) = root.get(kind).and_then(|s| s.get(name)) {
                object.extensions = extensions_of(node);
            }
        }
    }
}

fn extensions_of(node: &Node) -> IndexMap<String, serde_json::Value> {
    node.as_map()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("x-"))
                .map(|(k, e)| (k.clone(), e.node.to_json()))
                .collect()
        })
        .unwrap_or_default()
}

/// State shared by every file of one load: the environment, warnings, and what was read.
pub struct Context {
    pub env: IndexMap<String, String>,
    pub home: Option<PathBuf>,
    pub warnings: Vec<Diagnostic>,
    pub source_files: Vec<PathBuf>,
    stdin: Option<String>,
    unset_warned: HashSet<String>,
}

impl Context {
    fn new(options: &LoadOptions, env_dir: &Path) -> Result<Context, Diagnostic> {
        let mut context = Context {
            env: IndexMap::new(),
            home: options.environment.get("HOME").map(PathBuf::from),
            warnings: Vec::new(),
            source_files: Vec::new(),
            stdin: options.stdin.clone(),
            unset_warned: HashSet::new(),
        };
        // `--env-file`, else `COMPOSE_ENV_FILES` (comma-separated), else `.env` unless
        // `COMPOSE_DISABLE_ENV_FILE` is true.
        let from_variable: Vec<PathBuf> = options
            .environment
            .get("COMPOSE_ENV_FILES")
            .map(|v| {
                v.split(',')
                    .filter(|f| !f.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let disabled = options
            .environment
            .get("COMPOSE_DISABLE_ENV_FILE")
            .is_some_and(|v| go_bool(v) == Some(true));
        let named = match options.env_files.is_empty() {
            true => &from_variable,
            false => &options.env_files,
        };
        let env_files: Vec<(PathBuf, bool)> = match (named.is_empty(), disabled) {
            (true, true) => Vec::new(),
            (true, false) => vec![(env_dir.join(".env"), false)],
            (false, _) => named
                .iter()
                .map(|f| (discover::absolute(&options.cwd, f), true))
                .collect(),
        };
        let mut env = IndexMap::new();
        for (path, required) in env_files {
            let lookup = |name: &str| {
                options
                    .environment
                    .get(name)
                    .or_else(|| env.get(name))
                    .cloned()
            };
            if let Some(values) = context.read_env_file(&path, required, false, &lookup)? {
                env.extend(values);
            }
        }
        env.extend(options.environment.clone());
        context.env = env;
        Ok(context)
    }

    /// Reads a dotenv file; `None` when it is missing and not required. `KEY` lines with no
    /// value take the value `lookup` gives, and are left out when it gives none.
    pub fn read_env_file(
        &mut self,
        path: &Path,
        required: bool,
        raw: bool,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<IndexMap<String, String>>, Diagnostic> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(_) if !required && !path.exists() => return Ok(None),
            Err(err) => {
                return Err(Diagnostic::new(format!(
                    "cannot read env file {}: {err}",
                    path.display()
                ))
                .with_help("check the path, or mark the env_file entry `required: false`"));
            }
        };
        self.source_files.push(path.to_path_buf());
        let file = Arc::new(SourceFile {
            path: path.to_path_buf(),
            text: text.clone(),
        });
        let parse = if raw {
            dotenv::parse_raw
        } else {
            dotenv::parse
        };
        let entries = parse(&text, lookup).map_err(|err| {
            let span = line_column_span(&file, err.line, err.column);
            let diagnostic = Diagnostic::at(&span, err.message);
            match err.help {
                Some(help) => diagnostic.with_help(help),
                None => diagnostic,
            }
        })?;
        Ok(Some(
            entries
                .into_iter()
                .filter_map(|(k, v)| {
                    let value = v.or_else(|| lookup(&k))?;
                    Some((k, value))
                })
                .collect(),
        ))
    }

    /// Reads and parses one compose file.
    pub fn parse(&mut self, source: &Source) -> Result<Option<Node>, Diagnostic> {
        let (path, text) = match source {
            Source::Stdin => (PathBuf::from("-"), self.stdin.clone().unwrap_or_default()),
            Source::Path(path) => match std::fs::read_to_string(path) {
                Ok(text) => (path.clone(), text),
                Err(err) => {
                    return Err(Diagnostic::new(format!(
                        "cannot read compose file {}: {err}",
                        path.display()
                    )));
                }
            },
        };
        yaml::parse(Arc::new(SourceFile { path, text }))
    }

    /// Interpolates a parsed file and makes its paths absolute against `base`.
    pub fn prepare(&mut self, node: &mut Node, base: &Path) -> Result<(), Diagnostic> {
        self.interpolate(node)?;
        super::paths::resolve(node, base, self.home.as_deref());
        Ok(())
    }

    /// Reads, parses and prepares one compose file.
    pub fn read(&mut self, source: &Source, base: &Path) -> Result<Option<Node>, Diagnostic> {
        let Some(mut node) = self.parse(source)? else {
            return Ok(None);
        };
        self.prepare(&mut node, base)?;
        Ok(Some(node))
    }

    /// Substitutes variables in every value (never in keys).
    pub fn interpolate(&mut self, node: &mut Node) -> Result<(), Diagnostic> {
        match &mut node.value {
            Value::Map(m) => m
                .values_mut()
                .try_for_each(|e| self.interpolate(&mut e.node)),
            Value::Seq(items) => items.iter_mut().try_for_each(|n| self.interpolate(n)),
            Value::Scalar { text, plain } => {
                if !text.contains('$') {
                    return Ok(());
                }
                // Like compose, a substituted value is a string (`${UNSET}` is "", not null);
                // typed keys still parse it (`replicas: ${N}`).
                *plain = false;
                let env = &self.env;
                let lookup = |name: &str| env.get(name).cloned();
                match interpolate::substitute(text, &lookup) {
                    Ok(done) => {
                        *text = done.value;
                        for name in done.unset {
                            if self.unset_warned.insert(name.clone()) {
                                self.warnings.push(Diagnostic::at(
                                    &node.span,
                                    format!(
                                        "the {name:?} variable is not set, defaulting to a blank string"
                                    ),
                                ));
                            }
                        }
                        Ok(())
                    }
                    Err(err) => {
                        let span = value_span(&node.span, text, err.offset, err.len);
                        let diagnostic = Diagnostic::at(&span, err.message);
                        Err(match err.help {
                            Some(help) => diagnostic.with_help(help),
                            None => diagnostic,
                        })
                    }
                }
            }
        }
    }
}

/// The span of `value[offset..offset+len]` in the source, when the scalar is written on one
/// line as it reads (plain or quoted without escapes); otherwise the scalar's own span.
fn value_span(span: &Span, value: &str, offset: usize, len: usize) -> Span {
    let source = &span.file.text;
    let at = span.offset.min(source.len());
    let rest = &source[at..];
    if rest.starts_with(value) {
        return span.narrow(offset, len);
    }
    if rest.starts_with(['"', '\'']) && rest[1..].starts_with(value) {
        return span.narrow(offset + 1, len);
    }
    span.clone()
}

/// A span at a 1-based line and column of a file.
pub fn line_column_span(file: &Arc<SourceFile>, line: usize, column: usize) -> Span {
    let offset = file
        .text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let offset = file.text[offset.min(file.text.len())..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map(|(i, _)| offset + i)
        .unwrap_or(file.text.len());
    Span {
        file: file.clone(),
        line,
        column,
        offset,
        len: 0,
    }
}
