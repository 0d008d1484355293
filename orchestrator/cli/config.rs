//! `wharf config`: the canonical model, as `docker compose config` prints it.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::error::CliError;
use super::{GlobalArgs, load_project};
use crate::graph::ServiceGraph;
use crate::spec::{Project, compose_json};

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Format the output
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the profile names, one per line
    #[arg(long)]
    pub profiles: bool,
    /// Print the image names, one per line
    #[arg(long)]
    pub images: bool,
    /// Save to file (default to stdout)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

pub fn run(global: &GlobalArgs, args: &ConfigArgs) -> Result<ExitCode, CliError> {
    let project = load_project(global)?;
    if args.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    let text = render(&project, args).map_err(CliError::Message)?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|err| CliError::Message(format!("cannot write {}: {err}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn lines<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.map(|i| format!("{i}\n")).collect()
}

fn render(project: &Project, args: &ConfigArgs) -> Result<String, String> {
    // compose's `config` prints the labels read from `label_file`, not the files
    // (`WithDiscardEnvFile`); `up` keeps them, in the config hash too.
    let mut model = project.model.clone();
    for service in model.services.values_mut() {
        service.label_file.clear();
    }
    let model = &model;
    if args.services {
        // In start order, as compose lists them.
        let graph = ServiceGraph::new(
            model
                .services
                .iter()
                .map(|(name, s)| (name.as_str(), s.depends_on.keys().map(String::as_str))),
        )
        .map_err(|e| e.to_string())?;
        let ordered: Vec<String> = graph.start_levels().into_iter().flatten().collect();
        return Ok(lines(ordered.iter().map(String::as_str)));
    }
    if args.volumes {
        return Ok(lines(model.volumes.keys().map(String::as_str)));
    }
    if args.profiles {
        return Ok(lines(project.all_profiles.iter().map(String::as_str)));
    }
    if args.images {
        let images: Vec<String> = model
            .services
            .iter()
            .map(|(name, s)| {
                s.image
                    .clone()
                    .unwrap_or_else(|| format!("{}-{name}", project.name))
            })
            .collect();
        return Ok(lines(images.iter().map(String::as_str)));
    }
    // `$` is written `$$` so that the output is itself a compose file that loads to the same
    // model, as `docker compose config` does.
    let text = match args.format {
        // Byte for byte what compose v2 prints, without a final newline as compose prints it.
        Format::Json => return Ok(compose_json::project(model).replace('$', "$$")),
        Format::Yaml => {
            // Long strings stay on one line and lists are indented, as compose prints them.
            let mut options = serde_saphyr::SerializerOptions::default();
            options.prefer_block_scalars = false;
            options.compact_list_indent = false;
            serde_saphyr::to_string_with_options(model, options).map_err(|e| e.to_string())
        }
    }?;
    let mut text = text.replace('$', "$$");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}
