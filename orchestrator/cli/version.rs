//! `wharf version`: compose's `version` verb, with wharf's version.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format the output
    #[arg(short, long, value_enum, default_value = "pretty")]
    pub format: VersionFormat,
    /// Shows only the version number
    #[arg(long)]
    pub short: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VersionFormat {
    Pretty,
    Json,
}

pub fn run(args: &VersionArgs) -> ExitCode {
    let version = env!("CARGO_PKG_VERSION");
    match (args.short, args.format) {
        (true, _) => println!("{version}"),
        (false, VersionFormat::Json) => {
            println!(
                "{}",
                serde_json::json!({ "version": format!("v{version}") })
            )
        }
        (false, VersionFormat::Pretty) => println!("wharf version v{version}"),
    }
    ExitCode::SUCCESS
}
