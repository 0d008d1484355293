//! `wharf export`: a service container's filesystem as a tar archive, as `docker compose
//! export` writes it (to standard output, or to a file with `-o`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::GlobalArgs;
use super::each::running_replica;
use super::error::CliError;
use super::progress::Progress;
use super::session::Session;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Index of the container if the service has multiple replicas
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub index: u32,
    /// The service whose container to export
    pub service: String,
}

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> Result<ExitCode, CliError> {
    let session = Session::open(global).await?;
    let observed = session.observe().await?;
    let container = running_replica(&observed, &args.service, args.index)?;
    let name = &container.name;
    let destination = Destination::of(args.output.as_deref()).map_err(CliError::Message)?;
    let shown = args.output.as_deref().map(Path::display);
    let shown = shown.map(|path| path.to_string()).unwrap_or_default();
    if super::dry_run() {
        eprintln!(" DRY-RUN MODE -  {name} export {name} to {shown} Exporting");
        eprintln!(" DRY-RUN MODE -  {name} export {name} to {shown} Exported");
        return Ok(ExitCode::SUCCESS);
    }
    let mut archive = session.runtime.export_container(&container.id).await?;
    if let Err(err) = write(&mut archive, &destination).await {
        destination.discard();
        return Err(err);
    }
    let progress = Progress::new(1);
    progress.print(&format!(" ✔ {name} export {name} to {shown} Exported"));
    progress.finish();
    Ok(ExitCode::SUCCESS)
}

async fn write(
    archive: &mut BoxStream<'static, crate::engine::Result<Vec<u8>>>,
    destination: &Destination,
) -> Result<(), CliError> {
    let mut writer = destination.open().map_err(|err| write_failure(&err))?;
    while let Some(chunk) = archive.next().await {
        let chunk = chunk?;
        writer
            .write_all(&chunk)
            .map_err(|err| write_failure(&err))?;
    }
    destination
        .finish(writer)
        .map_err(|err| write_failure(&err))
}

/// Where the archive goes: standard output, or a file written beside its final name and
/// renamed once complete, so that a failed export leaves no half archive under that name.
enum Destination {
    Stdout,
    File { path: PathBuf, partial: PathBuf },
}

impl Destination {
    /// compose's checks, before anything is exported.
    fn of(output: Option<&Path>) -> Result<Destination, String> {
        let Some(path) = output else {
            if std::io::stdout().is_terminal() {
                return Err("output option is required when exporting to terminal".into());
            }
            return Ok(Destination::Stdout);
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(format!(
                "failed to export container: invalid output path: directory {:?} does not exist",
                dir.display().to_string()
            ));
        }
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        Ok(Destination::File {
            path: path.to_path_buf(),
            partial: dir.join(format!(".{file_name}.wharf-{}", std::process::id())),
        })
    }

    fn open(&self) -> std::io::Result<Box<dyn Write>> {
        match self {
            Destination::Stdout => Ok(Box::new(std::io::stdout().lock())),
            Destination::File { partial, .. } => {
                use std::os::unix::fs::OpenOptionsExt;
                // Owner-only, as the docker CLI leaves an exported archive.
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(partial)?;
                Ok(Box::new(std::io::BufWriter::new(file)))
            }
        }
    }

    fn finish(&self, mut writer: Box<dyn Write>) -> std::io::Result<()> {
        writer.flush()?;
        drop(writer);
        match self {
            Destination::Stdout => Ok(()),
            Destination::File { path, partial } => std::fs::rename(partial, path),
        }
    }

    /// What a failed export leaves: nothing.
    fn discard(&self) {
        if let Destination::File { partial, .. } = self {
            let _ = std::fs::remove_file(partial);
        }
    }
}

fn write_failure(err: &std::io::Error) -> CliError {
    CliError::Message(format!("failed to export container: {err}"))
}
