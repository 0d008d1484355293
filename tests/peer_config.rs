//! wharf against a peer: every project of the awesome-compose corpus
//! (`tests/corpus/awesome-compose`) is loaded by `wharf config --format json` and by Debian's
//! docker-compose 1.29 (`docker-compose config`), and where docker-compose accepts the project the
//! two outputs must mean the same thing.
//!
//! The comparison is `tests/peer/compare_config.py` (python3, standard library only); its
//! `ALLOWED_DIFFERENCES` table lists every printed difference that is forgiven, with the reason.
//! This test only runs it with this build's binary and asserts that it succeeds. It is skipped,
//! with a notice, only when `docker-compose` is not on `PATH` (CI installs it).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `name` as an executable file in one of the `PATH` directories.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[test]
fn corpus_means_the_same_as_docker_compose_1_29() {
    if on_path("docker-compose").is_none() {
        eprintln!(
            "SKIPPED peer_config: docker-compose is not on PATH, so wharf's `config` output \
             cannot be compared with docker-compose 1.29's (install Debian's docker-compose)"
        );
        return;
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/compare_config.py");
    let output = Command::new("python3")
        .arg(&script)
        .env("WHARF", env!("CARGO_BIN_EXE_wharf"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|err| panic!("cannot run python3 {}: {err}", script.display()));

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}): a project's config differs between wharf and docker-compose 1.29, \
         wharf failed on one, or the comparison could not run (exit status 2)\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        script.display(),
        output.status,
    );
    // The summary line, visible with --nocapture (and in nextest's output on success with
    // --success-output).
    println!("{}", stdout.lines().last().unwrap_or_default());
}
