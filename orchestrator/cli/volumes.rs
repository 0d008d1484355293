//! `wharf volumes`: the project's volumes, as `docker compose volumes` lists them.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::error::CliError;
use super::output::Format;
use super::session::Session;
use super::table::tabwriter;
use crate::engine::EngineVolume;
use crate::observe::Observed;

#[derive(Debug, Args)]
pub struct VolumesArgs {
    /// Format the output
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Services whose volumes to show (default: every volume of the project)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &VolumesArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    session.check_services(&args.services, &observed)?;
    let volumes = listed(&observed, &args.services);
    if args.quiet {
        for volume in volumes {
            println!("{}", volume.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        Format::Table => {
            let mut rows = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
            rows.extend(
                volumes
                    .iter()
                    .map(|v| vec![v.driver.clone(), v.name.clone()]),
            );
            // The docker CLI's volume table: columns of at least 10, 3 apart.
            print!("{}", tabwriter(&rows, 10, 3));
        }
        Format::Json => {
            for volume in volumes {
                println!("{}", json(volume));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The volumes labelled as the project's (external ones are not), by name; with services,
/// only those their containers mount. A service without containers, or unknown, has none: as
/// compose, no error.
fn listed<'a>(observed: &'a Observed, services: &[String]) -> Vec<&'a EngineVolume> {
    let mounted = |name: &str| {
        services.is_empty()
            || observed
                .services
                .iter()
                .filter(|(service, _)| services.contains(service))
                .flat_map(|(_, containers)| containers)
                .any(|c| c.engine.volumes.iter().any(|m| m.name == name))
    };
    let mut volumes: Vec<&EngineVolume> = observed
        .volumes
        .values()
        .filter(|v| v.is_owned_by(&observed.project) && mounted(&v.engine.name))
        .map(|v| &v.engine)
        .collect();
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    volumes
}

/// One volume as `docker volume ls --format json` writes it, which compose reuses.
fn json(volume: &EngineVolume) -> String {
    let mut labels: Vec<String> = volume
        .labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    labels.sort();
    serde_json::json!({
        "Availability": "N/A",
        "Driver": volume.driver,
        "Group": "N/A",
        "Labels": labels.join(","),
        "Links": "N/A",
        "Mountpoint": volume.mountpoint,
        "Name": volume.name,
        "Scope": volume.scope,
        "Size": "N/A",
        "Status": "N/A",
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::json;
    use crate::engine::EngineVolume;

    #[test]
    fn a_volume_is_written_as_docker_volume_ls_writes_it() {
        let volume = EngineVolume {
            name: "p_data".into(),
            labels: HashMap::from([
                ("com.docker.compose.volume".into(), "data".into()),
                ("com.docker.compose.project".into(), "p".into()),
            ]),
            driver: "local".into(),
            driver_opts: HashMap::new(),
            mountpoint: "/var/lib/docker/volumes/p_data/_data".into(),
            scope: "local".into(),
        };
        assert_eq!(
            json(&volume),
            r#"{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"com.docker.compose.project=p,com.docker.compose.volume=data","Links":"N/A","Mountpoint":"/var/lib/docker/volumes/p_data/_data","Name":"p_data","Scope":"local","Size":"N/A","Status":"N/A"}"#
        );
    }
}
