//! `wharf up`: converge the engine on the compose file.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, FromArgMatches};
use std::collections::{BTreeSet, HashSet};
use tokio::sync::mpsc;

use super::GlobalArgs;
use super::container_logs::{self, LogFormat, Printer};
use super::converge::{self, ConvergeArgs};
use super::error::CliError;
use super::progress::ProgressSink;
use super::session::{Session, no_such_service};
use super::supervisor_client;
use crate::desired::{Desired, Discovery};
use crate::engine::labels;
use crate::engine::{ContainerEngine, ContainerState, EventAction, EventKind};
use crate::plan;
use crate::spec;
use crate::supervisor::control;
use crate::supervisor::request::{Prepared, UpRequest};
use crate::supervisor::state::StateDir;
use crate::supervisor::watcher::{EngineEvents, Notice, Subscription};
use crate::supervisor::{Supervisor, keeper};
use crate::watch::{WatchError, Watcher};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Detached mode: converge, then return
    #[arg(short, long)]
    pub detach: bool,
    #[command(flatten)]
    pub converge: ConvergeArgs,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// Wait for services to be running|healthy; implies detached mode
    #[arg(long)]
    pub wait: bool,
    /// Recreate anonymous volumes instead of retrieving data from the previous containers
    #[arg(short = 'V', long)]
    pub renew_anon_volumes: bool,
    /// Shutdown timeout in seconds for replaced containers
    #[arg(short, long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Watch the project's files and re-converge as they change (with -d, until `watch --stop`)
    #[arg(short, long, conflicts_with = "dry_run")]
    pub watch: bool,
    /// Assume "yes" as answer to all prompts (wharf asks none)
    #[arg(short, long)]
    pub yes: bool,
    /// compose's interactive shortcuts: wharf has none, and says so when asked for them
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub menu: Option<bool>,
    /// Create the containers and leave them created (as `wharf create`)
    #[arg(long, conflicts_with_all = ["detach", "wait", "watch"])]
    pub no_start: bool,
    /// Stop every container if any container stops (attached only)
    #[arg(long, conflicts_with_all = ["detach", "wait"])]
    pub abort_on_container_exit: bool,
    /// Stop every container if any container exits with a failure (attached only)
    #[arg(long, conflicts_with_all = ["detach", "wait", "abort_on_container_exit"])]
    pub abort_on_container_failure: bool,
    /// Return the exit code of this service's container; implies --abort-on-container-exit
    #[arg(long, value_name = "SERVICE", conflicts_with_all = ["detach", "wait"])]
    pub exit_code_from: Option<String>,
    /// Follow the output of these services only (repeatable)
    #[arg(long, value_name = "SERVICE")]
    pub attach: Vec<String>,
    /// Do not follow the output of these services (repeatable)
    #[arg(long, value_name = "SERVICE")]
    pub no_attach: Vec<String>,
    /// Also follow the output of the dependencies of the services followed
    #[arg(long)]
    pub attach_dependencies: bool,
    /// Show timestamps on the output lines
    #[arg(long)]
    pub timestamps: bool,
    /// Don't prefix the output lines with the container's name
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Produce monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// With --wait: how long to wait, in seconds, before failing
    #[arg(long, value_name = "SECONDS", requires = "wait")]
    pub wait_timeout: Option<u64>,
    /// With --target swarm: when up fails, keep the services it changed as they are, instead
    /// of rolling every one of them back
    #[arg(long)]
    pub no_rollback: bool,
    /// Services to bring up (default: all)
    pub services: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &UpArgs) -> Result<ExitCode, CliError> {
    if args.no_rollback {
        return Err(CliError::message(
            "--no-rollback is for --target swarm: a local up replaces containers one by one \
             and has no stack-level rollback to turn off",
        ));
    }
    let request = request(global, args)?;
    if args.menu == Some(true) {
        eprintln!(
            "warning: --menu: wharf has no interactive shortcuts; the output is as without it"
        );
    }
    if args.no_start {
        return converge::create_only(&request, super::dry_run()).await;
    }
    let detached = args.detach || args.wait;
    if detached && !super::dry_run() {
        let given = spec::given_name(&request.load).and_then(Result::ok);
        let state = given.map(|name| StateDir::of(&name));
        // Services the user stopped are let go before the request is sent: not done for a file
        // that is not checked yet.
        let ahead = state.filter(|s| s.is_supervised() && !s.stops_any(&args.services));
        if let Some(state) = ahead {
            return detached_ahead(&state, &request, args).await;
        }
    }
    // The files are checked here, whoever converges: a mistake is reported at once, with its
    // line, and changes nothing.
    let prepared = request.prepare()?;
    super::print_warnings(&prepared.project);
    if super::dry_run() {
        return super::session::print_up_plans(prepared, &request).await;
    }
    let state = StateDir::of(&prepared.project.name);
    if !detached {
        state.clear_user_stopped(&args.services);
        let output = AttachedOutput::of(args, &prepared.desired)?;
        return attached(&state, prepared, &request, args.watch, output).await;
    }
    detached_up(&state, prepared, &request, args).await
}

/// `up -d` of a supervised project whose name the command line or the environment gives: the
/// supervisor gets the request while the files are checked here. Both load the same files, so a
/// mistake is reported here with its line, and the supervisor, which fails the same way before
/// it acts, changes nothing; its progress is shown after the loader's warnings.
async fn detached_ahead(
    state: &StateDir,
    request: &UpRequest,
    args: &UpArgs,
) -> Result<ExitCode, CliError> {
    let lock = supervisor_client::lock(state)?;
    if !state.is_supervised() {
        // Stopped (`down`) while this `up` waited for the lock: started again, as always.
        drop(lock);
        let prepared = request.prepare()?;
        super::print_warnings(&prepared.project);
        return detached_up(state, prepared, request, args).await;
    }
    let sent = supervisor_client::send_ahead(state, up_request(request));
    let project = request.check()?;
    super::print_warnings(&project);
    shown(sent).await?;
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let desired = request.desired(&project, Discovery::WharfDns);
    waited(&desired, args).await
}

/// `up -d` and `up --wait`, the files checked: the supervisor (started by this `up` when none
/// runs) converges the project, and this `up` shows its progress.
async fn detached_up(
    state: &StateDir,
    prepared: Prepared,
    request: &UpRequest,
    args: &UpArgs,
) -> Result<ExitCode, CliError> {
    state.clear_user_stopped(&args.services);
    // Two `up`s of one project at once: the second waits, then converges what the first left.
    let _lock = supervisor_client::lock(state)?;
    if !state.is_supervised() {
        leave_supervisor(state, request)?;
    }
    shown(supervisor_client::send_ahead(state, up_request(request))).await?;
    waited(&prepared.desired, args).await
}

fn up_request(request: &UpRequest) -> control::Request {
    control::Request::Up(Box::new(request.clone()))
}

/// `--wait`: until the services run (and are healthy), at most `--wait-timeout`.
async fn waited(desired: &Desired, args: &UpArgs) -> Result<ExitCode, CliError> {
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let wait = plan::lifecycle::wait(desired, &args.services);
    let runtime = super::session::connect().await?;
    let waiting = super::session::execute(&wait, runtime, &desired.project);
    match args.wait_timeout {
        None => waiting.await?,
        Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), waiting)
            .await
            .map_err(|_| {
                CliError::Message(format!(
                    "the services were not running or healthy within {seconds} s (--wait-timeout)"
                ))
            })??,
    }
    Ok(ExitCode::SUCCESS)
}

/// What an attached `up` follows and when it ends by itself: `--attach`, `--no-attach`,
/// `--attach-dependencies`, `--timestamps`, `--no-log-prefix`, `--no-color`, and the abort flags.
struct AttachedOutput {
    /// The services whose output is followed, and whose exits the abort flags watch.
    services: Vec<String>,
    format: LogFormat,
    abort: Option<Abort>,
}

/// When an attached `up` stops the project by itself, and what it then exits with.
struct Abort {
    /// Any exit (`--abort-on-container-exit`), or a non-zero one only.
    on_success_too: bool,
    /// `--exit-code-from`: this service's exit code, else the first exit's.
    code_from: Option<String>,
}

impl AttachedOutput {
    fn of(args: &UpArgs, desired: &crate::desired::Desired) -> Result<AttachedOutput, CliError> {
        let named = |names: &[String]| -> Result<(), CliError> {
            match names.iter().find(|n| !desired.services.contains_key(*n)) {
                Some(unknown) => Err(no_such_service(unknown)),
                None => Ok(()),
            }
        };
        if !args.attach.is_empty() && args.attach_dependencies {
            return Err(CliError::message(
                "cannot combine --attach and --attach-dependencies",
            ));
        }
        named(&args.attach)?;
        named(&args.no_attach)?;
        named(args.exit_code_from.as_slice())?;
        let mut services: Vec<String> = match (&args.attach[..], &args.services[..]) {
            ([], []) => desired.services.keys().cloned().collect(),
            ([], named) => named.to_vec(),
            (attach, _) => attach.to_vec(),
        };
        if args.attach_dependencies {
            let dependencies: Vec<String> = services
                .iter()
                .flat_map(|s| desired.graph.dependencies_of(s))
                .collect();
            services.extend(dependencies);
        }
        // `attach: false` in the file leaves a service out, unless `--attach` names it.
        if args.attach.is_empty() {
            services.retain(|s| desired.services.get(s).is_none_or(|d| d.attach));
        }
        services.retain(|s| !args.no_attach.contains(s));
        services.sort();
        services.dedup();
        let abort = (args.abort_on_container_exit
            || args.abort_on_container_failure
            || args.exit_code_from.is_some())
        .then(|| Abort {
            on_success_too: !args.abort_on_container_failure,
            code_from: args.exit_code_from.clone(),
        });
        Ok(AttachedOutput {
            services,
            format: LogFormat {
                timestamps: args.timestamps,
                no_color: args.no_color,
                no_prefix: args.no_log_prefix,
            },
            abort,
        })
    }
}

/// Attached `up`: a supervisor in this process converges the project, then keeps it converged
/// while the logs are followed (and, with `--watch`, the files), until Ctrl-C or SIGTERM.
async fn attached(
    state: &StateDir,
    prepared: Prepared,
    request: &UpRequest,
    watch: bool,
    output: AttachedOutput,
) -> Result<ExitCode, CliError> {
    let shutdown = super::shutdown::signal();
    // The foreground supervisor takes over from a detached one.
    stop_detached(state)?;
    // Until this supervisor has converged and says so in its pid file, another `up` waits
    // rather than start a second supervisor.
    let lock = supervisor_client::lock(state)?;
    let session = Session::loaded(prepared.project, prepared.desired).await?;
    let desired = session.target.desired().expect("a loaded project").clone();
    // One subscription to the engine's events for the supervisor, its DNS, the log follower
    // and the abort flags, made before converging: a one-shot container that exits at once
    // counts for the abort flags.
    let events = EngineEvents::watch(session.runtime.clone(), session.name()).await;
    let exits = output.abort.is_some().then(|| events.subscribe());
    let (settled_sender, settled) = tokio::sync::watch::channel(BTreeSet::new());
    let mut supervisor =
        Supervisor::new(session.runtime.clone(), desired, events).with_settled(settled_sender);
    let (commands, requests) = mpsc::channel(8);
    let socket = listen(state, commands.clone());
    // Watching from before the converge: a save made while it runs (the replicas may be up
    // already) is acted on once the project is up.
    let watch = watch.then(|| {
        super::watch_targets::watcher_through(&session, request.clone(), commands.clone())
    });
    let progress = ProgressSink::default();
    let outcome = supervisor.up(request, &progress).await;
    progress.finish();
    let hook_output = progress.take_hook_output();
    outcome.map_err(|error| CliError::Message(error.to_string()))?;
    supervisor.write_pid();
    drop(lock);
    let timeout = request.timeout.map(Duration::from_secs);
    let attached = Attached {
        session: &session,
        supervisor,
        requests,
        services: &request.services,
        timeout,
        watch,
        output,
        exits,
        settled,
        hook_output,
    };
    let result = attached.run(shutdown).await;
    if socket {
        let _ = std::fs::remove_file(state.socket_path());
    }
    result
}

/// The attached supervisor's control socket, so that an `up -d` or a `watch` in another
/// terminal goes through it. True when it listens (without it, only Ctrl-C reaches it).
fn listen(state: &StateDir, commands: mpsc::Sender<control::Command>) -> bool {
    match control::bind(&state.socket_path()) {
        Ok(listener) => {
            tokio::spawn(control::serve(listener, commands));
            true
        }
        Err(err) => {
            eprintln!("warning: the supervisor cannot open its control socket: {err}");
            false
        }
    }
}

fn request(global: &GlobalArgs, args: &UpArgs) -> Result<UpRequest, CliError> {
    Ok(UpRequest {
        no_deps: args.no_deps,
        timeout: args.timeout,
        renew_anon_volumes: args.renew_anon_volumes,
        watch: args.watch,
        ..args.converge.request(global, &args.services)?
    })
}

impl UpArgs {
    /// `up`'s arguments from a command line of `up` (`scale` is one); `--dry-run` is a global
    /// flag that `up`'s own arguments refer to.
    pub fn from_argv(argv: Vec<String>) -> UpArgs {
        let dry_run = clap::Arg::new("dry_run")
            .long("dry-run")
            .action(clap::ArgAction::SetTrue);
        let command = <UpArgs as Args>::augment_args(clap::Command::new("up").arg(dry_run));
        let matches = command
            .try_get_matches_from(argv)
            .expect("a command line of `up` parses");
        UpArgs::from_arg_matches(&matches).expect("a command line of `up` parses")
    }
}

/// `up -d`: the detached supervisor does the work, this prints its progress.
async fn shown(sent: supervisor_client::Sent) -> Result<(), CliError> {
    let progress = ProgressSink::default();
    let outcome = sent.replies(|reply| progress.reply(reply)).await;
    progress.finish();
    match outcome {
        Ok(None) => Ok(()),
        Ok(Some(error)) => Err(CliError::Message(error)),
        Err(err) => Err(CliError::Message(format!(
            "the project's supervisor went away during `up` ({err}); run `wharf up -d` again"
        ))),
    }
}

/// The first `up -d` of a project starts a keeper and its supervisor, which waits for this
/// `up`'s request before it acts, and then stays behind to keep the project converged.
fn leave_supervisor(state: &StateDir, request: &UpRequest) -> Result<(), CliError> {
    let started = state
        .save_request(&request.standing(None))
        .and_then(|()| std::env::current_exe())
        .and_then(|exe| keeper::spawn(&exe, state_name(state), state));
    // Nothing has been changed yet: the supervisor is the one that converges.
    started.map_err(|err| {
        CliError::Message(format!(
            "the project's supervisor cannot start, so nothing was changed: {err}"
        ))
    })
}

fn state_name(state: &StateDir) -> &str {
    state
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

fn stop_detached(state: &StateDir) -> Result<(), CliError> {
    if !state.is_detached() {
        return Ok(());
    }
    if tokio::task::block_in_place(|| state.stop_supervisor(Duration::from_secs(30))) {
        Ok(())
    } else {
        Err(CliError::message(
            "the project's detached supervisor did not stop; retry, or kill it",
        ))
    }
}

/// An attached `up` once its project has converged: the supervisor keeps it converged
/// (restart policies, drift, requests of other `up`s) and the logs are followed. With
/// `--watch`, file changes become requests to the supervisor (`watch` is the request to repeat).
struct Attached<'a> {
    session: &'a Session,
    supervisor: Supervisor,
    requests: mpsc::Receiver<control::Command>,
    services: &'a [String],
    timeout: Option<Duration>,
    /// With `--watch`, the watcher (watching since before the converge).
    watch: Option<Result<Watcher, WatchError>>,
    output: AttachedOutput,
    /// The project's events since before it converged, for the abort flags.
    exits: Option<Subscription>,
    /// The services down for good, as the supervisor sees them after each plan.
    settled: tokio::sync::watch::Receiver<BTreeSet<String>>,
    /// What the `post_start` hooks of the converge printed, by container name.
    hook_output: Vec<(String, String)>,
}

impl Attached<'_> {
    /// Supervises and follows the logs until Ctrl-C or SIGTERM; then stops the project,
    /// dependents first. A second Ctrl-C stops waiting for a graceful stop.
    async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<ExitCode, CliError> {
        let Attached {
            session,
            supervisor,
            requests,
            services,
            timeout,
            watch,
            output,
            exits,
            settled,
            hook_output,
        } = self;
        let observed = session.observe().await?;
        let watching = async {
            match watch {
                Some(watcher) => super::watch_targets::run(watcher).await,
                None => std::future::pending().await,
            }
        };
        let printer = Printer::new(&observed, &output.services, &output.format);
        if !output.services.is_empty() {
            println!("Attaching to {}", printer.names().join(", "));
        }
        for (container, text) in &hook_output {
            printer.hook_output(container, text);
        }
        let follow_events = supervisor.events().subscribe();
        let follow = async {
            if !output.services.is_empty() {
                let runtime = session.runtime.clone();
                let (services, printer) = (&output.services, &printer);
                container_logs::follow(runtime, &observed, services, printer, None, follow_events)
                    .await;
            }
            std::future::pending::<()>().await
        };
        tokio::pin!(follow);
        let current: HashSet<&str> = observed.containers().map(|c| c.id.as_str()).collect();
        let aborting = async {
            match (&output.abort, exits) {
                (Some(abort), Some(exits)) => {
                    let runtime = session.runtime.as_ref();
                    let watched = Watched {
                        services: &output.services,
                        current: &current,
                    };
                    first_exit(exits, abort, watched, runtime, session.name()).await
                }
                _ => std::future::pending().await,
            }
        };
        let mut exit = None;
        tokio::select! {
            _ = supervisor.run(shutdown, Some(requests)) => {}
            () = all_settled(settled, &output.services) => {
                // Every followed container has exited for good: as compose, the `up` ends
                // there, once the follower has printed how they exited.
                let _ = tokio::time::timeout(LAST_LINES, &mut follow).await;
                return Ok(ExitCode::SUCCESS);
            }
            _ = &mut follow => {}
            _ = watching => {}
            first = aborting => {
                // The follower prints how the container exited, as compose's does.
                let _ = tokio::time::timeout(LAST_LINES, &mut follow).await;
                exit = first;
            }
        }
        match exit {
            Some(_) => eprintln!("Aborting on container exit..."),
            None => eprintln!("Gracefully stopping... (press Ctrl+C again to force)"),
        }
        let observed = session.observe().await?;
        let desired = session.target.desired();
        let stop = plan::lifecycle::stop(desired, &observed, services, timeout);
        tokio::select! {
            result = session.execute(&stop) => result,
            _ = tokio::signal::ctrl_c() => Err(CliError::Exit(ExitCode::from(130))),
        }?;
        let Some(code) = exit else {
            return Ok(ExitCode::SUCCESS);
        };
        let code = match output.abort.and_then(|a| a.code_from) {
            // The service's first replica, as it stopped.
            Some(service) => session
                .observe()
                .await?
                .services
                .get(&service)
                .and_then(|replicas| replicas.first())
                .and_then(|c| c.exit_code)
                .unwrap_or(code),
            None => code,
        };
        Ok(super::terminal::exit_status(code))
    }
}

/// How long an attached `up` that ends because containers exited still follows their output:
/// the exit may be seen before the follower has printed the container's last lines and how
/// it exited.
const LAST_LINES: Duration = Duration::from_millis(300);

/// Once every one of `services` is down for good; never when none is followed.
async fn all_settled(
    mut settled: tokio::sync::watch::Receiver<BTreeSet<String>>,
    services: &[String],
) {
    if services.is_empty() {
        return std::future::pending().await;
    }
    while !services.iter().all(|s| settled.borrow().contains(s)) {
        if settled.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// The containers whose exit the abort flags watch: those of the followed services that ran
/// when the project had converged.
struct Watched<'a> {
    services: &'a [String],
    current: &'a HashSet<&'a str>,
}

impl Watched<'_> {
    fn contains(&self, id: &str, service: Option<&str>) -> bool {
        self.current.contains(id) && service.is_some_and(|s| self.services.iter().any(|n| n == s))
    }
}

/// The first watched container to exit, or to exit with a failure: its exit code. After events
/// that may have been missed, the engine is listed for an exit among them.
async fn first_exit(
    mut events: Subscription,
    abort: &Abort,
    watched: Watched<'_>,
    runtime: &dyn ContainerEngine,
    project: &str,
) -> Option<i64> {
    let counts = |code: i64| abort.on_success_too || code != 0;
    loop {
        match events.next().await {
            Notice::Event(event) => {
                let EventAction::Die { exit_code } = event.action else {
                    continue;
                };
                let code = exit_code.unwrap_or(0);
                if event.kind == EventKind::Container
                    && watched.contains(&event.id, event.service())
                    && counts(code)
                {
                    return Some(code);
                }
            }
            Notice::Relist => {
                let Ok(listed) = runtime.containers(project).await else {
                    continue;
                };
                let exited = listed.into_iter().find(|c| {
                    matches!(c.state, ContainerState::Exited | ContainerState::Dead)
                        && watched.contains(&c.id, labels::service(&c.labels))
                        && counts(c.exit_code.unwrap_or(0))
                });
                if let Some(c) = exited {
                    return Some(c.exit_code.unwrap_or(0));
                }
            }
            Notice::Unavailable { .. } => {}
        }
    }
}
