//! `wharf images`: the images the project's containers use, one line per container.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::each::containers;
use super::error::CliError;
use super::output::Format;
use super::session::Session;
use super::table::{age, docker_table, human_size};
use crate::engine::ImageDetails;
use crate::engine::listing::human_duration;
use crate::observe::ObservedContainer;

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Format the output
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Services to show (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &ImagesArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    let mut all = containers(&observed, &args.services, |_| true);
    all.extend(
        observed
            .oneoff
            .iter()
            .filter(|c| args.services.is_empty() || args.services.contains(c.service())),
    );
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let details = futures_util::future::join_all(
        all.iter()
            .map(|c| session.runtime.image_details(&c.image_id)),
    )
    .await;
    let mut lines: Vec<(&ObservedContainer, ImageDetails)> = Vec::new();
    for (container, image) in all.into_iter().zip(details) {
        match image {
            Ok(image) => lines.push((container, image)),
            // An image removed since the container was made has nothing to show.
            Err(crate::engine::EngineError::NotFound(_)) => {}
            Err(err) => {
                return Err(CliError::from(err));
            }
        }
    }
    if args.quiet {
        let mut ids: Vec<&str> = Vec::new();
        for (_, image) in &lines {
            let id = image.id.trim_start_matches("sha256:");
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        for id in ids {
            println!("{id}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        Format::Json => println!("{}", json(&lines)),
        Format::Table => print!("{}", table(&lines)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The repository and tag the container was made from: its own reference when the image
/// still carries it, else the image's first tag, else `<none>`.
fn repository_and_tag(container: &ObservedContainer, image: &ImageDetails) -> (String, String) {
    let reference = &container.engine.image;
    let tagged = image
        .repo_tags
        .iter()
        .find(|t| *t == reference || **t == format!("{reference}:latest"))
        .or(image.repo_tags.first());
    match tagged.and_then(|t| split_tag(t)) {
        Some((repository, tag)) => (repository.to_string(), tag.to_string()),
        None => ("<none>".into(), "<none>".into()),
    }
}

/// `registry:5000/app:1` → `("registry:5000/app", "1")`.
fn split_tag(reference: &str) -> Option<(&str, &str)> {
    let (repository, tag) = reference.rsplit_once(':')?;
    (!tag.contains('/')).then_some((repository, tag))
}

fn table(lines: &[(&ObservedContainer, ImageDetails)]) -> String {
    let header = [
        "CONTAINER",
        "REPOSITORY",
        "TAG",
        "PLATFORM",
        "IMAGE ID",
        "SIZE",
        "CREATED",
    ];
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for (container, image) in lines {
        let (repository, tag) = repository_and_tag(container, image);
        let id: String = image
            .id
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect();
        rows.push(vec![
            container.name.clone(),
            repository,
            tag,
            image.platform.clone(),
            id,
            human_size(u64::try_from(image.size).unwrap_or(0)),
            format!("{} ago", human_duration(age(image.created))),
        ]);
    }
    docker_table(&rows)
}

fn json(lines: &[(&ObservedContainer, ImageDetails)]) -> String {
    let items: Vec<serde_json::Value> = lines
        .iter()
        .map(|(container, image)| {
            let (repository, tag) = repository_and_tag(container, image);
            let last_tag_time = match image.last_tag_time.as_str() {
                "" => "0001-01-01T00:00:00Z",
                time => time,
            };
            serde_json::json!({
                "ID": image.id,
                "ContainerName": container.name,
                "Repository": repository,
                "Tag": tag,
                "Platform": image.platform,
                "Size": image.size,
                "LastTagTime": last_tag_time,
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn the_tag_is_after_the_last_colon_of_the_name() {
        assert_eq!(split_tag("busybox:latest"), Some(("busybox", "latest")));
        assert_eq!(
            split_tag("registry:5000/app:1"),
            Some(("registry:5000/app", "1"))
        );
        assert_eq!(split_tag("registry:5000/app"), None);
    }
}
