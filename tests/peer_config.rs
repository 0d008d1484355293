//! wharf against its peers, on every project of the awesome-compose corpus
//! (`tests/corpus/awesome-compose`):
//!
//! - docker compose v2 (the reference): `wharf config --format json` must print exactly, byte
//!   for byte, what `docker compose config --format json` prints, on every project, and on
//!   every valid case of the conformance corpus (`specs/valid`) that prints the JSON model;
//! - Debian's docker-compose 1.29 (the former reference, kept as a second column): where it
//!   accepts a project, both outputs must mean the same thing. That comparison is
//!   `tests/peer/compare_config.py` (python3, standard library only), whose
//!   `ALLOWED_DIFFERENCES` table lists every forgiven difference, with the reason.
//!
//! A missing peer skips its test with a notice, except under `CI`, where it is a failure.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The corpus has this many projects; compose v2 accepts all of them.
const CORPUS_PROJECTS: usize = 39;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/awesome-compose")
}

/// `name` as an executable file in one of the `PATH` directories.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether the test can run: `false` (with a notice) when the peer is missing, a panic
/// instead under `CI`.
fn peer_present(present: bool, missing: &str) -> bool {
    if present {
        return true;
    }
    assert!(
        env::var_os("CI").is_none(),
        "{missing} (CI must install it: see .ci/run)"
    );
    eprintln!("SKIPPED: {missing}");
    false
}

/// `program args` in `dir` with the same minimal environment for both tools.
fn run(program: &str, args: &[&str], dir: &Path, home: &Path) -> Output {
    run_with(program, args, dir, home, &[], None)
}

/// `run`, with more environment variables and bytes on standard input.
fn run_with(
    program: &str,
    args: &[&str],
    dir: &Path,
    home: &Path,
    envs: &[(String, String)],
    stdin: Option<&[u8]>,
) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("NO_COLOR", "1")
        .envs(envs.iter().cloned())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::io::Write::write_all(&mut pipe, bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn compose_v2_present() -> bool {
    Command::new("docker")
        .args(["compose", "version", "--short"])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.starts_with(b"2."))
}

/// The first line where two texts differ, with its number, to show in a failure.
fn first_difference(wharf: &str, peer: &str) -> String {
    let mut peer_lines = peer.lines();
    for (n, line) in wharf.lines().enumerate() {
        match peer_lines.next() {
            Some(other) if other == line => continue,
            other => {
                return format!(
                    "line {}: wharf {line:?}, docker compose {:?}",
                    n + 1,
                    other.unwrap_or("(end)")
                );
            }
        }
    }
    match peer_lines.next() {
        Some(more) => format!("docker compose prints more: {more:?}"),
        None => "the same lines, other bytes (a final newline?)".to_string(),
    }
}

#[test]
fn corpus_config_equals_docker_compose_v2_exactly() {
    if !peer_present(
        compose_v2_present(),
        "`docker compose` v2 is not installed, so wharf's `config` output cannot be compared \
         with compose v2's",
    ) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let mut projects: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    projects.sort();
    assert_eq!(projects.len(), CORPUS_PROJECTS, "the corpus changed");

    let args = ["config", "--format", "json"];
    let mut same = Vec::new();
    let mut problems = Vec::new();
    for dir in &projects {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let peer = run(
            "docker",
            &["compose", args[0], args[1], args[2]],
            dir,
            home.path(),
        );
        let wharf = run(env!("CARGO_BIN_EXE_wharf"), &args, dir, home.path());
        let peer_out = String::from_utf8_lossy(&peer.stdout);
        let wharf_out = String::from_utf8_lossy(&wharf.stdout);
        if !peer.status.success() {
            problems.push(format!(
                "{name}: docker compose rejects it: {}",
                String::from_utf8_lossy(&peer.stderr).trim()
            ));
        } else if !wharf.status.success() {
            problems.push(format!(
                "{name}: wharf fails: {}",
                String::from_utf8_lossy(&wharf.stderr).trim()
            ));
        } else if wharf_out != peer_out {
            problems.push(format!(
                "{name}: {}",
                first_difference(&wharf_out, &peer_out)
            ));
        } else {
            same.push(name);
        }
    }
    println!(
        "{} of {} projects: wharf's `config --format json` equals docker compose v2's",
        same.len(),
        projects.len()
    );
    assert!(
        problems.is_empty(),
        "{} of {} projects equal; the others:\n{}",
        same.len(),
        projects.len(),
        problems.join("\n")
    );
    assert_eq!(same.len(), CORPUS_PROJECTS);
}

/// Every valid case of the conformance corpus (`specs/valid`) whose command prints
/// `config --format json` prints exactly what compose v2 prints for it (the corpus itself
/// compares wharf with its expected files, key order aside).
#[test]
fn conformance_json_cases_equal_docker_compose_v2_exactly() {
    if !peer_present(
        compose_v2_present(),
        "`docker compose` v2 is not installed, so the conformance cases cannot be compared \
         with compose v2's output",
    ) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let valid = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/valid");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(valid)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    cases.sort();
    let (mut same, mut problems) = (0, Vec::new());
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let command = std::fs::read_to_string(dir.join("cmd"))
            .unwrap_or_else(|_| "config --format json".into());
        let args: Vec<&str> = command.split_whitespace().collect();
        if !args.ends_with(&["config", "--format", "json"]) {
            continue; // another output than the JSON model
        }
        let envs: Vec<(String, String)> = std::fs::read_to_string(dir.join("env"))
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let stdin = std::fs::read(dir.join("stdin")).ok();
        let compose_args: Vec<&str> = ["compose"].into_iter().chain(args.clone()).collect();
        let peer = run_with(
            "docker",
            &compose_args,
            dir,
            home.path(),
            &envs,
            stdin.as_deref(),
        );
        let wharf = run_with(
            env!("CARGO_BIN_EXE_wharf"),
            &args,
            dir,
            home.path(),
            &envs,
            stdin.as_deref(),
        );
        let (peer_out, wharf_out) = (
            String::from_utf8_lossy(&peer.stdout),
            String::from_utf8_lossy(&wharf.stdout),
        );
        if !peer.status.success() {
            problems.push(format!(
                "{name}: docker compose rejects it: {}",
                String::from_utf8_lossy(&peer.stderr).trim()
            ));
        } else if wharf_out != peer_out {
            problems.push(format!(
                "{name}: {}",
                first_difference(&wharf_out, &peer_out)
            ));
        } else {
            same += 1;
        }
    }
    println!("{same} conformance cases: wharf's `config --format json` equals docker compose v2's");
    assert!(
        problems.is_empty(),
        "{same} cases equal; the others:\n{}",
        problems.join("\n")
    );
    assert!(same >= 130, "only {same} cases compared");
}

#[test]
fn corpus_means_the_same_as_docker_compose_1_29() {
    if !peer_present(
        on_path("docker-compose").is_some(),
        "docker-compose is not on PATH, so wharf's `config` output cannot be compared with \
         docker-compose 1.29's (install Debian's docker-compose)",
    ) {
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
