//! What the integration tests against the real Docker Engine share:
//! - [`busybox_image`]: a local image to run (there is no registry to pull from);
//! - [`unique_project`]: a project name that no other test (or test process) uses;
//! - [`Cleanup`]: removes everything labelled with that project when dropped, even when the
//!   test panics, so that networks do not pile up (the engine has about 30 address pools).
//!
//! Use it from a test crate with `mod support;`. It only uses the `docker` CLI, so it works
//! inside and outside a tokio runtime.

#![allow(dead_code)]

pub mod lab;
pub mod lab_registry;
pub mod registry;
pub mod swarm;
pub mod twin;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The image the tests run: Debian's static busybox with its applets linked into `/bin`.
pub const BUSYBOX_IMAGE: &str = "wharf-test/busybox:latest";
/// The label every project resource carries.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

const BUSYBOX_BINARY: &str = "/bin/busybox";
const LOCK_FILE: &str = "/tmp/wharf-test-busybox-image.lock";
/// A lock older than this is taken to belong to a process that died while holding it.
const STALE_LOCK: Duration = Duration::from_secs(120);

/// Makes sure `wharf-test/busybox:latest` exists (made once per machine with `docker import`)
/// and returns its name. Test processes running in parallel wait for the one that makes it.
pub fn busybox_image() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if image_exists(BUSYBOX_IMAGE) {
            return;
        }
        assert!(
            Path::new(BUSYBOX_BINARY).is_file(),
            "{BUSYBOX_BINARY} is missing: the tests make their image from Debian's static \
             busybox; install it with `apt-get install busybox-static`"
        );
        assert!(
            is_static(Path::new(BUSYBOX_BINARY)),
            "{BUSYBOX_BINARY} is dynamically linked and cannot run in an image without a C \
             library; install the static one with `apt-get install busybox-static`"
        );
        let _lock = Lock::acquire(LOCK_FILE);
        // Another process may have made it while this one waited for the lock.
        if !image_exists(BUSYBOX_IMAGE) {
            import_busybox();
        }
    });
    BUSYBOX_IMAGE
}

/// Whether an ELF executable has no program interpreter (`PT_INTERP`): statically linked.
fn is_static(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 {
        // Not a 64-bit ELF: let `docker import` and the tests tell.
        return true;
    }
    let le = bytes[5] == 1;
    let read = |at: usize, len: usize| -> u64 {
        let mut value = 0u64;
        for i in 0..len {
            let byte = u64::from(bytes.get(at + i).copied().unwrap_or(0));
            value |= if le {
                byte << (8 * i)
            } else {
                byte << (8 * (len - 1 - i))
            };
        }
        value
    };
    let phoff = read(0x20, 8) as usize;
    let phentsize = read(0x36, 2) as usize;
    let phnum = read(0x38, 2) as usize;
    const PT_INTERP: u64 = 3;
    !(0..phnum).any(|i| read(phoff + i * phentsize, 4) == PT_INTERP)
}

fn import_busybox() {
    let rootfs = busybox_rootfs();
    let mut child = Command::new("docker")
        .args([
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            r#"CMD ["sh"]"#,
            "--message",
            "wharf test image: Debian's busybox-static",
            "-",
            BUSYBOX_IMAGE,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running `docker import`");
    child
        .stdin
        .take()
        .expect("stdin of docker import")
        .write_all(&rootfs)
        .expect("sending the root filesystem to `docker import`");
    let output = child
        .wait_with_output()
        .expect("waiting for `docker import`");
    assert!(
        output.status.success(),
        "docker import {BUSYBOX_IMAGE} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A root filesystem tar: `/bin/busybox`, a link in `/bin` for each of its applets, the usual
/// directories, and `/etc/passwd`/`/etc/group` with root and nobody.
fn busybox_rootfs() -> Vec<u8> {
    let binary = std::fs::read(BUSYBOX_BINARY).expect("reading /bin/busybox");
    let list = Command::new(BUSYBOX_BINARY)
        .arg("--list")
        .output()
        .expect("running busybox --list");
    let mut applets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_string)
        .collect();
    // The applets the tests rely on, should `--list` be unavailable.
    for applet in [
        "sh", "sleep", "wget", "httpd", "nc", "cat", "echo", "ls", "hostname", "env", "true",
        "false", "kill", "ps", "test", "grep", "ip", "nslookup", "id", "touch", "mkdir",
    ] {
        if !applets.iter().any(|a| a == applet) {
            applets.push(applet.to_string());
        }
    }

    let mut tar = tar::Builder::new(Vec::new());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let dir = |tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(mode);
        header.set_size(0);
        header.set_mtime(now);
        tar.append_data(&mut header, format!("{path}/"), std::io::empty())
            .expect("tar directory");
    };
    for (path, mode) in [
        ("bin", 0o755),
        ("sbin", 0o755),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("etc", 0o755),
        ("root", 0o700),
        ("home", 0o755),
        ("var", 0o755),
        ("var/www", 0o755),
        ("tmp", 0o1777),
        ("proc", 0o555),
        ("sys", 0o555),
        ("dev", 0o755),
        ("run", 0o755),
    ] {
        dir(&mut tar, path, mode);
    }
    let file = |tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_mtime(now);
        tar.append_data(&mut header, path, data).expect("tar file");
    };
    file(&mut tar, "bin/busybox", 0o755, &binary);
    file(
        &mut tar,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    );
    file(
        &mut tar,
        "etc/group",
        0o644,
        b"root:x:0:\nnogroup:x:65534:\n",
    );
    for applet in &applets {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        header.set_mtime(now);
        tar.append_link(&mut header, format!("bin/{applet}"), "busybox")
            .expect("tar symlink");
    }
    tar.into_inner().expect("finishing the tar")
}

/// Whether a local image exists.
pub fn image_exists(reference: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", reference])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A lock file created exclusively; removed on drop. A lock whose holder is gone (its process
/// no longer exists, or the file is older than [`STALE_LOCK`]) is taken over.
struct Lock {
    path: &'static str,
}

impl Lock {
    fn acquire(path: &'static str) -> Lock {
        let deadline = Instant::now() + STALE_LOCK * 3;
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    return Lock { path };
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if lock_is_stale(path) {
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "waited too long for the lock {path}; remove it if no test is running"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("cannot create the lock file {path}: {e}"),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path);
    }
}

fn lock_is_stale(path: &str) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let old = meta
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > STALE_LOCK);
    let holder_gone = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
    old || holder_gone
}

/// A project name for one test: `<prefix>-<pid>-<n>-<time>`, lower case, valid for compose.
pub fn unique_project(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let prefix: String = prefix
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "wt-{}-{:x}-{n}-{:x}",
        prefix.trim_matches('-'),
        std::process::id(),
        nanos >> 8
    )
}

/// Removes, when dropped (also when the test panics), every container, network and volume
/// labelled `com.docker.compose.project=<project>`, plus the images and the extra resources
/// registered with [`Cleanup::image`], [`Cleanup::network`] and [`Cleanup::volume`].
pub struct Cleanup {
    project: String,
    images: Vec<String>,
    networks: Vec<String>,
    volumes: Vec<String>,
    containers: Vec<String>,
    /// Anonymous volumes the project's containers had (see [`Cleanup::note_anonymous_volumes`]).
    anonymous: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Cleanup {
    pub fn new(project: &str) -> Cleanup {
        Cleanup {
            project: project.to_string(),
            images: Vec::new(),
            networks: Vec::new(),
            volumes: Vec::new(),
            containers: Vec::new(),
            anonymous: Default::default(),
        }
    }

    /// Notes the anonymous volumes the project's containers have now. A container removed
    /// without `-v` (by `down`, `rm`, a scale-down or orphan removal, as under compose, or by the
    /// test itself) leaves its anonymous volume behind, unlabelled: the end removes those noted.
    pub fn note_anonymous_volumes(&self) {
        let filter = format!("label={PROJECT_LABEL}={}", self.project);
        let containers = docker_lines(&["ps", "-aq", "--filter", &filter]);
        if containers.is_empty() {
            return;
        }
        let found = anonymous_volumes(&containers);
        self.anonymous.lock().unwrap().extend(found);
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// Also remove this image (a tag the test built).
    pub fn image(&mut self, reference: &str) -> &mut Self {
        self.images.push(reference.to_string());
        self
    }

    /// Also remove this network (one made without the project label).
    pub fn network(&mut self, name: &str) -> &mut Self {
        self.networks.push(name.to_string());
        self
    }

    /// Also remove this volume (one made without the project label).
    pub fn volume(&mut self, name: &str) -> &mut Self {
        self.volumes.push(name.to_string());
        self
    }

    /// Also remove this container (one made without the project label).
    pub fn container(&mut self, name: &str) -> &mut Self {
        self.containers.push(name.to_string());
        self
    }

    /// Removes everything now (the drop does it again, which is then a no-op). Every wharf
    /// process of the project goes first, or a keeper would restore what this removes; and a
    /// request a killed process had already sent may still land, so the removal is repeated
    /// until nothing labelled is left.
    pub fn run(&self) {
        kill_wharf_processes(&self.project);
        let filter = format!("label={PROJECT_LABEL}={}", self.project);
        for _ in 0..REMOVAL_ROUNDS {
            self.remove_labelled(&filter);
            if self.leftovers() == (Vec::new(), Vec::new(), Vec::new()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        for volume in self.anonymous.lock().unwrap().iter() {
            docker_quiet(&["volume", "rm", volume]);
        }
        let mut images = docker_lines(&["image", "ls", "-q", "--filter", &filter]);
        images.extend(self.images.iter().cloned());
        for image in &images {
            docker_quiet(&["image", "rm", "-f", image]);
        }
    }

    /// Removes the containers, networks and volumes of the project and those registered.
    fn remove_labelled(&self, filter: &str) {
        let mut containers = docker_lines(&["ps", "-aq", "--filter", filter]);
        containers.extend(self.containers.iter().cloned());
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            docker_quiet(&args);
        }
        let mut networks = docker_lines(&["network", "ls", "-q", "--filter", filter]);
        networks.extend(self.networks.iter().cloned());
        for network in &networks {
            docker_quiet(&["network", "rm", network]);
        }
        let mut volumes = docker_lines(&["volume", "ls", "-q", "--filter", filter]);
        volumes.extend(self.volumes.iter().cloned());
        for volume in &volumes {
            docker_quiet(&["volume", "rm", "-f", volume]);
        }
    }

    /// What is still labelled with the project: `(containers, networks, volumes)`.
    pub fn leftovers(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let filter = format!("label={PROJECT_LABEL}={}", self.project);
        (
            docker_lines(&["ps", "-aq", "--filter", &filter]),
            docker_lines(&["network", "ls", "-q", "--filter", &filter]),
            docker_lines(&["volume", "ls", "-q", "--filter", &filter]),
        )
    }
}

/// The anonymous volumes (a 64-hex name the engine gave them, no label) that `containers` mount.
fn anonymous_volumes(containers: &[String]) -> Vec<String> {
    let format = "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}";
    let mut args = vec!["inspect", "--format", format];
    args.extend(containers.iter().map(String::as_str));
    let output = Command::new("docker").args(&args).output();
    let text = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let names: Vec<String> = text
        .unwrap_or_default()
        .split_whitespace()
        .filter(|name| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect();
    names
        .into_iter()
        .filter(|volume| {
            let labels = Command::new("docker")
                .args(["volume", "inspect", "--format", "{{json .Labels}}", volume])
                .output();
            labels.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "null")
        })
        .collect()
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.run();
    }
}

/// Kills every wharf process of `project` (an `up` still running, keepers, supervisors), keepers
/// first in each round, until none is left: an `up -d` or a keeper that is still starting
/// when the cleanup begins would otherwise start a supervisor after it. Gives up after
/// [`PROCESS_WAIT`], saying so, since it runs in a drop where a panic would abort.
pub fn kill_wharf_processes(project: &str) {
    let deadline = Instant::now() + PROCESS_WAIT;
    loop {
        let mut processes = wharf_processes(project);
        if processes.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            eprintln!("cleanup: wharf processes of {project} outlived the cleanup: {processes:?}");
            return;
        }
        processes.sort_by_key(|process| !process.is_keeper);
        for process in &processes {
            let _ = Command::new("kill")
                .args(["-9", &process.pid.to_string()])
                .status();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How long [`kill_wharf_processes`] keeps killing what appears.
const PROCESS_WAIT: Duration = Duration::from_secs(10);
/// How often [`Cleanup::run`] removes what is labelled before it trusts that nothing comes back.
const REMOVAL_ROUNDS: usize = 5;

/// A live wharf process of a project.
#[derive(Debug)]
pub struct WharfProcess {
    pub pid: u32,
    pub is_keeper: bool,
    pub args: Vec<String>,
}

/// The live processes whose executable is wharf and which name `project` as an argument
/// (a zombie's command line is empty, so only live ones count).
pub fn wharf_processes(project: &str) -> Vec<WharfProcess> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<String> = String::from_utf8_lossy(&cmdline)
                .split('\0')
                .filter(|arg| !arg.is_empty())
                .map(str::to_string)
                .collect();
            let is_wharf = args
                .first()
                .is_some_and(|exe| Path::new(exe).file_name().is_some_and(|n| n == "wharf"));
            (is_wharf && args.iter().any(|arg| arg == project)).then(|| WharfProcess {
                pid,
                is_keeper: args.iter().any(|arg| arg == "--keep"),
                args,
            })
        })
        .collect()
}

/// `wharf -p PROJECT` run in `dir` with the state directory `state`: each test gets its own,
/// so that it never talks to another test's supervisor, and neither colours nor the caller's
/// `COMPOSE_*` variables change what wharf prints or which project it loads.
pub fn wharf_command(project: &str, dir: &Path, state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .args(["-p", project])
        .current_dir(dir)
        .env("WHARF_STATE_DIR", state)
        .env("NO_COLOR", "1")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME");
    command
}

/// Polls `condition` until it holds and returns how long that took (also printed, so that a
/// slow run shows how close it came to the limit); after `limit`, fails with `what` and
/// `log()`, which is read only then (it is usually wharf's log, the one thing that says why).
pub fn wait_until(
    what: &str,
    limit: Duration,
    condition: impl Fn() -> bool,
    log: impl Fn() -> String,
) -> Duration {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}\n{}",
            log()
        );
        std::thread::sleep(POLL);
    }
    let took = start.elapsed();
    eprintln!("{what}: after {took:?} (limit {limit:?})");
    took
}

/// How often [`wait_until`] looks: often enough that the times it returns are meaningful.
const POLL: Duration = Duration::from_millis(25);

/// How many containers labelled with `project` run.
pub fn running_containers(project: &str) -> usize {
    let filter = format!("label={PROJECT_LABEL}={project}");
    docker_lines(&[
        "ps",
        "-q",
        "--filter",
        &filter,
        "--filter",
        "status=running",
    ])
    .len()
}

/// Container name → full ID, for every container labelled with `project`, running or not.
pub fn project_containers(project: &str) -> BTreeMap<String, String> {
    let filter = format!("label={PROJECT_LABEL}={project}");
    let format = "{{.Names}} {{.ID}}";
    docker_lines(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        &filter,
        "--format",
        format,
    ])
    .into_iter()
    .filter_map(|line| {
        let (name, id) = line.split_once(' ')?;
        Some((name.to_string(), id.to_string()))
    })
    .collect()
}

/// Seconds since midnight of an RFC 3339 time such as `2026-11-23T06:20:01.123456789Z`: the
/// engine's timestamps, compared within one test.
pub fn seconds_of_day(time: &str) -> f64 {
    let clock = time.split('T').nth(1).unwrap().trim_end_matches('Z');
    let mut parts = clock.split(':').map(|p| p.parse::<f64>().unwrap());
    let (h, m, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    h * 3600.0 + m * 60.0 + s
}

/// `docker inspect --format FORMAT NAME`, trimmed; panics when the object does not exist.
pub fn inspect(name: &str, format: &str) -> String {
    docker(&["inspect", "--format", format, name])
        .trim()
        .to_string()
}

/// Like [`inspect`], but empty when the object does not exist: for polling an object that a
/// supervisor may be replacing at that moment.
pub fn inspect_if_exists(name: &str, format: &str) -> String {
    docker_lines(&["inspect", "--format", format, name]).join("")
}

/// The lines `docker ARGS` prints (empty on failure).
pub fn docker_lines(args: &[&str]) -> Vec<String> {
    Command::new("docker")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `docker ARGS` and returns its standard output, panicking with its error on failure.
pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("running the docker CLI");
    assert!(
        output.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn docker_quiet(args: &[&str]) {
    let _ = Command::new("docker")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// How long a wharf (or peer) command may run before a test gives up on it: far more than any
/// command of the suite takes, so that only a hung one reaches it.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// `Command::output` with a time limit: a command that hangs is killed and the test fails with
/// what it printed, instead of hanging until nextest ends it.
pub trait OutputWithin {
    /// Runs the command (standard input empty, outputs captured) and waits at most `limit`.
    fn output_within(&mut self, limit: Duration) -> std::process::Output;
}

impl OutputWithin for Command {
    fn output_within(&mut self, limit: Duration) -> std::process::Output {
        let child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", self.get_program()));
        wait_with_output_within(child, limit)
    }
}

/// `Child::wait_with_output` with a time limit (see [`OutputWithin`]).
pub fn wait_with_output_within(
    mut child: std::process::Child,
    limit: Duration,
) -> std::process::Output {
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let status = wait_child(&mut child, limit);
    // A process that the child left behind may hold the pipes open: what was read by then.
    let collect = |pipe: std::sync::mpsc::Receiver<Vec<u8>>| {
        pipe.recv_timeout(Duration::from_secs(5))
            .unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    match status {
        Some(status) => std::process::Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "process {} still ran after {limit:?}; killed it. Its output:\n{}\n{}",
            child.id(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// `Child::wait` with a time limit: the child is killed and the test fails after `limit`.
pub fn wait_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    wait_child(child, limit).unwrap_or_else(|| {
        panic!(
            "process {} still ran after {limit:?}; killed it",
            child.id()
        )
    })
}

/// Waits for `child` at most `limit`; kills it and returns `None` when it is still running
/// then.
fn wait_child(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads a pipe to its end in a thread; the bytes arrive on the receiver.
fn read_in_background(
    pipe: Option<impl std::io::Read + Send + 'static>,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = send.send(bytes);
    });
    receive
}

/// Whether the suite runs in CI (`CI` set and not empty or `false`): there, what a test needs
/// and cannot find is a failure, never a reason to pass without checking.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether `program --version` runs. A missing tool fails the test under CI; elsewhere the
/// test says it checked nothing (`NOT RUN: …` on its standard error) and the caller returns.
pub fn tool_available(program: &str, why: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(!in_ci(), "{program} is missing, and CI must run {why}");
        eprintln!("NOT RUN: {program} is missing, so {why} is not checked (it fails under CI)");
    }
    found
}

/// What a command printed, standard output then standard error.
pub fn all_output(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// What a command that must have succeeded printed; fails the test with it otherwise.
pub fn succeeded(what: &str, out: std::process::Output) -> String {
    assert!(out.status.success(), "{what} failed:\n{}", all_output(&out));
    all_output(&out)
}
