//! `wharf ls`: every compose project on the engine (wharf's and compose's alike: they carry
//! the same labels), with the states of its containers and its compose files.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;

use super::error::CliError;
use super::output::Format;
use super::table::docker_table;
use crate::engine::EngineContainer;
use crate::engine::labels;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show all stopped Compose projects
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided (`name=TEXT`)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Format the output
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only display project names
    #[arg(short, long)]
    pub quiet: bool,
}

/// One project as `ls` shows it.
#[derive(Debug, PartialEq)]
struct Listed {
    name: String,
    status: String,
    config_files: String,
}

pub async fn run(args: &LsArgs) -> Result<ExitCode, CliError> {
    let names = name_filters(&args.filter)?;
    let runtime = super::session::connect().await?;
    let containers = runtime.compose_containers(args.all).await?;
    let projects: Vec<Listed> = projects(&containers)
        .into_iter()
        .filter(|p| names.is_empty() || names.iter().any(|name| name.matches(&p.name)))
        .collect();
    if args.quiet {
        for project in &projects {
            println!("{}", project.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        Format::Json => {
            let items: Vec<serde_json::Value> = projects
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "Name": p.name,
                        "Status": p.status,
                        "ConfigFiles": p.config_files,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(items));
        }
        Format::Table => {
            let mut rows = vec![vec![
                "NAME".to_string(),
                "STATUS".to_string(),
                "CONFIG FILES".to_string(),
            ]];
            rows.extend(
                projects
                    .into_iter()
                    .map(|p| vec![p.name, p.status, p.config_files]),
            );
            print!("{}", docker_table(&rows));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `name=` filters; any other filter is an error, as compose has no other.
fn name_filters(filters: &[String]) -> Result<Vec<NameFilter>, CliError> {
    filters
        .iter()
        .map(|filter| match filter.split_once('=') {
            Some(("name", value)) => Ok(NameFilter::new(value)),
            Some((key, _)) => {
                Err(CliError::Message(format!("invalid filter '{key}'")))
            }
            None => {
                Err(CliError::Message(format!(
                    "invalid argument {filter:?} for \"--filter\" flag: bad format of filter (expected name=value)"
                )))
            }
        })
        .collect()
}

/// A `name=` filter as the docker CLI's filters match a value: the name itself, or a regular
/// expression found in it (`name=^shop`); one that does not compile matches only itself.
struct NameFilter {
    value: String,
    pattern: Option<regex::Regex>,
}

impl NameFilter {
    fn new(value: &str) -> NameFilter {
        NameFilter {
            value: value.to_string(),
            pattern: regex::Regex::new(value).ok(),
        }
    }

    fn matches(&self, name: &str) -> bool {
        name == self.value || self.pattern.as_ref().is_some_and(|p| p.is_match(name))
    }
}

/// The projects of `containers`, by name: each state counted (`exited(1), running(2)`, states
/// in byte order) and the compose files their containers name, each once.
fn projects(containers: &[EngineContainer]) -> Vec<Listed> {
    let mut by_project: BTreeMap<&str, Vec<&EngineContainer>> = BTreeMap::new();
    for container in containers {
        if let Some(project) = labels::project(&container.labels) {
            by_project.entry(project).or_default().push(container);
        }
    }
    by_project
        .into_iter()
        .map(|(name, containers)| {
            let mut states: BTreeMap<String, usize> = BTreeMap::new();
            let mut files: Vec<&str> = Vec::new();
            for container in &containers {
                let state = serde_json::to_value(container.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                *states.entry(state).or_default() += 1;
                for file in labels::config_files(&container.labels) {
                    if !files.contains(&file) {
                        files.push(file);
                    }
                }
            }
            let status: Vec<String> = states
                .into_iter()
                .map(|(state, count)| format!("{state}({count})"))
                .collect();
            Listed {
                name: name.to_string(),
                status: status.join(", "),
                config_files: files.join(","),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ContainerState;

    fn container(project: &str, state: ContainerState, files: &str) -> EngineContainer {
        EngineContainer {
            id: String::new(),
            name: String::new(),
            image: String::new(),
            image_id: String::new(),
            state,
            health: None,
            exit_code: None,
            created: 0,
            labels: [
                (labels::PROJECT.to_string(), project.to_string()),
                (labels::CONFIG_FILES.to_string(), files.to_string()),
            ]
            .into(),
            ports: Vec::new(),
            addresses: Default::default(),
            addresses_v6: Default::default(),
            volumes: Vec::new(),
            listing: Default::default(),
        }
    }

    #[test]
    fn projects_count_their_states_in_order_and_name_their_files_once() {
        let listed = projects(&[
            container("shop", ContainerState::Running, "/a/compose.yaml"),
            container("blog", ContainerState::Exited, "/b/compose.yaml,/b/x.yaml"),
            container("shop", ContainerState::Exited, "/a/compose.yaml"),
            container("shop", ContainerState::Running, "/a/compose.yaml"),
        ]);
        assert_eq!(
            listed,
            [
                Listed {
                    name: "blog".into(),
                    status: "exited(1)".into(),
                    config_files: "/b/compose.yaml,/b/x.yaml".into(),
                },
                Listed {
                    name: "shop".into(),
                    status: "exited(1), running(2)".into(),
                    config_files: "/a/compose.yaml".into(),
                },
            ]
        );
    }
}
