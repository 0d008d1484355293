//! `wharf graph` (compose's `alpha viz`): the project's services and their `depends_on` edges
//! as a Graphviz DOT graph, or as SVG through Graphviz's `dot`. When the engine has containers
//! of the project, each service also shows its running replicas and their states.

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};

use clap::Args;

use super::error::CliError;
use super::session::connect;
use super::{GlobalArgs, load_project};
use crate::desired::{self, Desired};
use crate::engine::ContainerState;
use crate::observe::Observed;

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format: dot (Graphviz's language) or svg (needs Graphviz's `dot`)
    #[arg(long, value_enum, default_value = "dot")]
    pub output: GraphOutput,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GraphOutput {
    Dot,
    Svg,
}

pub async fn run(global: &GlobalArgs, args: &GraphArgs) -> Result<ExitCode, CliError> {
    let project = load_project(global)?;
    let desired = desired::build(&project, &Default::default());
    // The state is a bonus: without an engine, the graph is the file's.
    let observed = match connect().await {
        Ok(runtime) => runtime
            .containers(&project.name)
            .await
            .ok()
            .map(|containers| Observed::from_containers(&project.name, containers)),
        Err(_) => None,
    };
    let text = dot(
        &desired,
        observed
            .as_ref()
            .filter(|o| o.services.values().any(|c| !c.is_empty())),
    );
    match args.output {
        GraphOutput::Dot => print!("{text}"),
        GraphOutput::Svg => print!("{}", svg(&text)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs Graphviz's `dot -Tsvg` on the graph.
fn svg(text: &str) -> Result<String, CliError> {
    let fail = CliError::Message;
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|err| {
            fail(format!(
                "cannot run Graphviz's `dot` ({err}): install Graphviz (`apt-get install graphviz`), or use `--output dot`"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|err| fail(format!("cannot send the graph to `dot`: {err}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|err| fail(format!("`dot` failed: {err}")))?;
    if !out.status.success() {
        return Err(fail(format!("`dot` failed with {}", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The DOT text: one node per service (its image, its replicas and, with `observed`, how many
/// run and in which states), one edge from each service to each dependency, labelled with the
/// condition. Services and edges are in name order, so the text is stable.
pub fn dot(desired: &Desired, observed: Option<&Observed>) -> String {
    let mut out = format!("digraph {} {{\n", quote(&desired.project));
    out.push_str("  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    let mut names: Vec<&String> = desired.services.keys().collect();
    names.sort();
    for name in &names {
        let service = &desired.services[*name];
        let mut label = vec![name.to_string(), service.image.clone()];
        label.push(format!("replicas: {}", service.replicas));
        if let Some(observed) = observed {
            let containers = observed.services.get(*name).map_or(&[][..], Vec::as_slice);
            let running = containers.iter().filter(|c| c.is_up()).count();
            let mut states: Vec<String> = containers.iter().map(|c| state_name(c.state)).collect();
            states.sort();
            states.dedup();
            let states = match states.is_empty() {
                true => "no containers".to_string(),
                false => states.join(", "),
            };
            label.push(format!(
                "running: {running}/{} ({states})",
                service.replicas
            ));
        }
        out.push_str(&format!(
            "  {} [label={}];\n",
            quote(name),
            quote(&label.join("\n"))
        ));
    }
    for name in &names {
        let mut dependencies: Vec<(&String, String)> = desired.services[*name]
            .depends_on
            .iter()
            .map(|(dependency, d)| {
                let condition = serde_json::to_value(d.condition)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                (dependency, condition)
            })
            .collect();
        dependencies.sort();
        for (dependency, condition) in dependencies {
            out.push_str(&format!(
                "  {} -> {} [label={}];\n",
                quote(name),
                quote(dependency),
                quote(&condition)
            ));
        }
    }
    out.push_str("}\n");
    out
}

fn state_name(state: ContainerState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A DOT string: quoted, with `"` and `\` escaped and new lines as `\n`.
fn quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::dot;
    use crate::desired;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::{ContainerEngine, ContainerState};
    use crate::observe::Observed;
    use crate::spec::{LoadOptions, load};

    const SHOP: &str = r#"
services:
  web:
    image: web:1
    depends_on:
      api: {condition: service_healthy}
  api:
    image: api:1
    deploy: {replicas: 2}
    depends_on: [db]
  db:
    image: postgres:16
"#;

    fn desired() -> desired::Desired {
        let project = load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(SHOP.to_string()),
            project_name: Some("shop".into()),
            cwd: std::env::temp_dir(),
            ..LoadOptions::default()
        })
        .unwrap();
        desired::build(&project, &Default::default())
    }

    #[test]
    fn the_graph_is_dot_text_in_name_order() {
        assert_eq!(
            dot(&desired(), None),
            r#"digraph "shop" {
  rankdir=LR;
  node [shape=box, style=rounded];
  "api" [label="api\napi:1\nreplicas: 2"];
  "db" [label="db\npostgres:16\nreplicas: 1"];
  "web" [label="web\nweb:1\nreplicas: 1"];
  "api" -> "db" [label="service_started"];
  "web" -> "api" [label="service_healthy"];
}
"#
        );
    }

    #[test]
    fn a_project_that_is_up_shows_its_replicas_states() {
        let engine = MemoryEngine::new();
        let labels = |service: &'static str, number: &'static str| {
            [
                ("com.docker.compose.project", "shop"),
                ("com.docker.compose.service", service),
                ("com.docker.compose.container-number", number),
            ]
        };
        engine.add_container(
            "shop-api-1",
            "api:1",
            &labels("api", "1"),
            ContainerState::Running,
        );
        engine.add_container(
            "shop-api-2",
            "api:1",
            &labels("api", "2"),
            ContainerState::Exited,
        );
        let containers = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(engine.containers("shop"))
            .unwrap();
        let observed = Observed::from_containers("shop", containers);
        let text = dot(&desired(), Some(&observed));
        assert!(
            text.contains(
                r#""api" [label="api\napi:1\nreplicas: 2\nrunning: 1/2 (exited, running)"];"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#""db" [label="db\npostgres:16\nreplicas: 1\nrunning: 0/1 (no containers)"];"#
            ),
            "{text}"
        );
    }
}
