//! The conformance corpus: every case under `specs/valid/` and `specs/invalid/` is run through
//! the real `wharf` binary and its output compared with the case's expected file.
//!
//! The format of a case is described in `specs/README.md`. In short, a case folder is a project
//! directory with optional control files:
//!
//! - `cmd`: one line, the wharf arguments split on whitespace (default `config --format json`);
//! - `env`: `KEY=VALUE` lines, the whole process environment besides `PATH` and `NO_COLOR=1`;
//! - `stdin`: fed to wharf's standard input (for `-f -`);
//! - valid cases: `expected.json` (stdout, with the case dir's absolute path written `${CASE_DIR}`)
//!   and optionally `expected.stderr` (lines that stderr must contain). JSON is compared with
//!   every object's keys sorted: key order carries no meaning, array order does;
//! - invalid cases: `expected.txt` (text that stderr must contain; wharf must exit non-zero).
//!
//! `WHARF_BLESS=1` rewrites `expected.json` / `expected.txt` from the actual output instead of
//! comparing (never `expected.stderr`, which is written by hand); it is refused under CI, where
//! a blessed run would pass whatever wharf prints. `WHARF_CASE=substring` runs only the cases
//! whose `valid/name` or `invalid/name` contains the substring; a selection of no case fails.

mod support;

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The issue asks for at least 80 cases in the corpus.
const MIN_CASES: usize = 80;
/// No case may take longer than this (a hung wharf, e.g. waiting on stdin, fails its case).
const TIMEOUT: Duration = Duration::from_secs(30);
/// The placeholder for the case directory's absolute path in expected files.
const CASE_DIR: &str = "${CASE_DIR}";
/// Files of a case folder that are not part of the project wharf sees.
const CONTROL_FILES: &[&str] = &[
    "cmd",
    "env",
    "stdin",
    "expected.json",
    "expected.stderr",
    "expected.txt",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Valid,
    Invalid,
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Invalid => "invalid",
        }
    }

    fn expected_file(self) -> &'static str {
        match self {
            Kind::Valid => "expected.json",
            Kind::Invalid => "expected.txt",
        }
    }
}

struct Case {
    kind: Kind,
    name: String,
    dir: PathBuf,
}

impl Case {
    fn id(&self) -> String {
        format!("{}/{}", self.kind.folder(), self.name)
    }
}

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")
}

fn blessing() -> bool {
    let bless = std::env::var("WHARF_BLESS").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !(bless && support::in_ci()),
        "WHARF_BLESS is refused under CI: it would rewrite the expectations instead of checking them"
    );
    bless
}

/// Every case folder of one kind, sorted by name.
fn cases(kind: Kind) -> Vec<Case> {
    let root = specs_dir().join(kind.folder());
    let Ok(entries) = fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut out: Vec<Case> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| Case {
            kind,
            name: e.file_name().to_string_lossy().into_owned(),
            dir: e.path(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn all_cases() -> Vec<Case> {
    let mut all = cases(Kind::Valid);
    all.extend(cases(Kind::Invalid));
    all
}

fn selected(case: &Case) -> bool {
    match std::env::var("WHARF_CASE") {
        Ok(filter) if !filter.is_empty() => case.id().contains(&filter),
        _ => true,
    }
}

fn read_optional(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// The wharf arguments of a case: the `cmd` file split on whitespace.
fn arguments(case: &Case) -> Vec<String> {
    let line = read_optional(&case.dir.join("cmd")).unwrap_or_default();
    let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    if args.is_empty() {
        vec!["config".into(), "--format".into(), "json".into()]
    } else {
        args
    }
}

/// `config -q` validates only: its empty stdout is the expected output.
fn quiet(case: &Case) -> bool {
    arguments(case).iter().any(|a| a == "-q" || a == "--quiet")
}

/// The `env` file: `KEY=VALUE` lines (blank lines and `#` comments ignored).
fn environment(case: &Case) -> Result<Vec<(String, String)>, String> {
    let Some(text) = read_optional(&case.dir.join("env")) else {
        return Ok(Vec::new());
    };
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("env:{}: expected KEY=VALUE, found {line:?}", n + 1));
        };
        vars.push((key.to_owned(), value.to_owned()));
    }
    Ok(vars)
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Runs wharf in the case directory: empty environment plus PATH, NO_COLOR=1 and the case's
/// `env`; stdin from the case's `stdin` file or closed; stderr is a pipe (not a TTY).
fn run(case: &Case) -> Result<Run, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .args(arguments(case))
        .current_dir(&case.dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(environment(case)?)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = fs::read(case.dir.join("stdin")).ok();
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });

    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start wharf: {e}"))?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // wharf may exit before reading everything (e.g. on an error): ignore a broken pipe.
        thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));

    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("wharf did not finish within {TIMEOUT:?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for wharf: {e}")),
        }
    };
    let text = |h: thread::JoinHandle<Vec<u8>>| {
        String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
    };
    Ok(Run {
        status,
        stdout: placeholders(case, &text(stdout)),
        stderr: placeholders(case, &text(stderr)),
    })
}

/// Writes the case directory's absolute path (as given and with symlinks resolved) as `${CASE_DIR}`.
fn placeholders(case: &Case, text: &str) -> String {
    let mut out = text.to_owned();
    let mut dirs = Vec::new();
    if let Ok(canonical) = case.dir.canonicalize() {
        dirs.push(canonical);
    }
    dirs.push(case.dir.clone());
    for dir in dirs {
        let dir = dir.to_string_lossy().into_owned();
        if !dir.is_empty() {
            out = out.replace(&dir, CASE_DIR);
        }
    }
    out
}

/// The text written by bless: JSON re-indented with wharf's key order kept; other output as is.
fn pretty(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => serde_json::to_string_pretty(&value).expect("a JSON value serializes") + "\n",
        Err(_) => text.trim_end().to_owned() + "\n",
    }
}

/// The form compared: JSON with every object's keys sorted (the order of keys in a JSON object
/// carries no meaning, the order of array items does), pretty-printed so that a difference shows
/// as a readable line diff; output that is not JSON is compared as text.
fn comparable(text: &str) -> String {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(
                    entries.into_iter().map(|(k, v)| (k, sorted(v))).collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => {
            serde_json::to_string_pretty(&sorted(value)).expect("a JSON value serializes") + "\n"
        }
        Err(_) => text.trim_end().to_owned() + "\n",
    }
}

fn diff(expected: &str, actual: &str) -> String {
    format!(
        "{}",
        pretty_assertions::StrComparison::new(expected, actual)
    )
}

fn describe(run: &Run) -> String {
    let mut out = format!("exit status: {}\n", run.status);
    if !run.stdout.trim().is_empty() {
        let _ = writeln!(out, "stdout:\n{}", indent(&run.stdout));
    }
    if !run.stderr.trim().is_empty() {
        let _ = writeln!(out, "stderr:\n{}", indent(&run.stderr));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Checks (or blesses) one case; `Err` holds the failure report.
fn check(case: &Case, bless: bool) -> Result<(), String> {
    let run = run(case)?;
    let expected_path = case.dir.join(case.kind.expected_file());
    match case.kind {
        Kind::Valid => {
            if !run.status.success() {
                return Err(format!("wharf failed on a valid case\n{}", describe(&run)));
            }
            if run.stdout.trim().is_empty() && !quiet(case) {
                // Never bless (or accept) an empty output: it is what a not-yet-wired verb prints.
                return Err(format!(
                    "wharf printed nothing on stdout\n{}",
                    describe(&run)
                ));
            }
            let actual = comparable(&run.stdout);
            let mut problems = Vec::new();
            if bless {
                fs::write(&expected_path, pretty(&run.stdout))
                    .map_err(|e| format!("cannot bless: {e}"))?;
            } else {
                match read_optional(&expected_path) {
                    None => problems
                        .push("no expected.json (run with WHARF_BLESS=1 to create it)".to_owned()),
                    Some(expected) => {
                        let expected = comparable(&expected);
                        if expected != actual {
                            problems.push(format!(
                                "stdout differs from expected.json (< expected, > actual):\n{}",
                                diff(&expected, &actual)
                            ));
                        }
                    }
                }
            }
            if let Some(wanted) = read_optional(&case.dir.join("expected.stderr")) {
                for line in wanted
                    .lines()
                    .map(str::trim_end)
                    .filter(|l| !l.trim().is_empty())
                {
                    if !run.stderr.contains(line) {
                        problems.push(format!(
                            "stderr does not contain {line:?}\nstderr:\n{}",
                            indent(&run.stderr)
                        ));
                    }
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("\n"))
            }
        }
        Kind::Invalid => {
            if run.status.success() {
                return Err(format!(
                    "wharf accepted an invalid case (exit 0)\n{}",
                    describe(&run)
                ));
            }
            if run.status.code().is_none() {
                return Err(format!(
                    "wharf was killed by a signal (a panic or crash?)\n{}",
                    describe(&run)
                ));
            }
            if run.stderr.contains("panicked at") {
                return Err(format!("wharf panicked\n{}", describe(&run)));
            }
            if bless {
                let text = run.stderr.trim_end().to_owned() + "\n";
                return fs::write(&expected_path, text).map_err(|e| format!("cannot bless: {e}"));
            }
            let Some(expected) = read_optional(&expected_path) else {
                return Err("no expected.txt (run with WHARF_BLESS=1 to create it)".to_owned());
            };
            let expected = expected.trim_end();
            if run.stderr.contains(expected) {
                Ok(())
            } else {
                Err(format!(
                    "stderr does not contain expected.txt (< expected, > stderr):\n{}",
                    diff(
                        &(expected.to_owned() + "\n"),
                        &(run.stderr.trim_end().to_owned() + "\n")
                    )
                ))
            }
        }
    }
}

#[test]
fn corpus() {
    let bless = blessing();
    let cases: Vec<Case> = all_cases().into_iter().filter(selected).collect();
    assert!(
        !cases.is_empty(),
        "no conformance case selected (WHARF_CASE={:?}): nothing would be checked",
        std::env::var("WHARF_CASE").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(report) = check(case, bless) {
            failures.push(format!("── {} ──\n{}", case.id(), report.trim_end()));
        }
    }
    let passed = cases.len() - failures.len();
    eprintln!(
        "conformance: {passed} of {} cases {}",
        cases.len(),
        if bless { "blessed" } else { "passed" }
    );
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n\n{}\n\n{} failed (see above); {passed} passed",
        failures.len(),
        cases.len(),
        failures.join("\n\n"),
        failures.len(),
    );
}

/// A case folder with no expected file, or with nothing but control files, checks nothing.
#[test]
fn every_case_has_inputs_and_expectations() {
    let mut problems = Vec::new();
    for case in all_cases() {
        if !case.dir.join(case.kind.expected_file()).is_file() {
            problems.push(format!("{}: no {}", case.id(), case.kind.expected_file()));
        }
        let inputs = fs::read_dir(&case.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| !CONTROL_FILES.contains(&e.file_name().to_string_lossy().as_ref()))
                    .count()
            })
            .unwrap_or(0);
        if inputs == 0 && !case.dir.join("stdin").is_file() {
            problems.push(format!("{}: no input files", case.id()));
        }
        if case.kind == Kind::Invalid
            && read_optional(&case.dir.join("expected.txt")).is_some_and(|t| t.trim().is_empty())
        {
            problems.push(format!("{}: expected.txt is empty", case.id()));
        }
    }
    assert!(
        problems.is_empty(),
        "incomplete cases:\n{}",
        problems.join("\n")
    );
}

#[test]
fn corpus_is_large_enough() {
    let valid = cases(Kind::Valid).len();
    let invalid = cases(Kind::Invalid).len();
    assert!(
        valid + invalid >= MIN_CASES,
        "the corpus has {} cases ({valid} valid, {invalid} invalid); at least {MIN_CASES} are required",
        valid + invalid
    );
    assert!(
        valid > 0 && invalid > 0,
        "both specs/valid and specs/invalid need cases"
    );
}
