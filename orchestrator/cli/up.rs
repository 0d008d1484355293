//! `wharf up`: converge the engine on the compose file.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::sync::mpsc;

use super::engine::Session;
use super::progress::ProgressSink;
use super::{GlobalArgs, load_options, logs, output};
use crate::plan;
use crate::supervisor::control::{self, Reply};
use crate::supervisor::request::{PrepareError, Prepared, UpRequest};
use crate::supervisor::state::StateDir;
use crate::supervisor::{Supervisor, keeper};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Detached mode: converge, then return
    #[arg(short, long)]
    pub detach: bool,
    /// Build images before starting containers
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Don't build an image, even if it's missing
    #[arg(long)]
    pub no_build: bool,
    /// Scale SERVICE to NUM instances; overrides the file's replicas
    #[arg(long, value_name = "SERVICE=NUM", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the compose file
    #[arg(long)]
    pub remove_orphans: bool,
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
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,
    /// Create the containers and leave them created (as `wharf create`)
    #[arg(long, conflicts_with_all = ["detach", "wait", "watch"])]
    pub no_start: bool,
    /// Services to bring up (default: all)
    pub services: Vec<String>,
}

pub(super) fn parse_scale(text: &str) -> Result<(String, u32), String> {
    let (service, count) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid --scale {text:?}: write SERVICE=NUM"))?;
    let count = count
        .parse()
        .map_err(|_| format!("invalid --scale {text:?}: {count:?} is not a number"))?;
    Ok((service.to_string(), count))
}

pub async fn run(global: &GlobalArgs, args: &UpArgs) -> Result<ExitCode, ExitCode> {
    let request = request(global, args)?;
    if args.no_start {
        return super::create::converge(&request, super::dry_run()).await;
    }
    // The files are checked here, whoever converges: a mistake is reported at once, with its
    // line, and changes nothing.
    let prepared = request.prepare().map_err(|err| {
        match err {
            PrepareError::Load(diagnostic) => output::error(&diagnostic),
            PrepareError::Flags(message) => output::error_line(&message),
        }
        ExitCode::FAILURE
    })?;
    super::print_warnings(&prepared.project);
    if super::dry_run() {
        return dry_run(prepared, &request).await;
    }
    let state = StateDir::of(&prepared.project.name);
    state.clear_user_stopped(&args.services);
    if !(args.detach || args.wait) {
        return attached(&state, prepared, &request, args.watch).await;
    }
    // Two `up`s of one project at once: the second waits, then converges what the first left.
    let _lock = lock(&state)?;
    if !state.is_supervised() {
        leave_supervisor(&state, &request)?;
    }
    through_supervisor(&state, &request).await?;
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let wait = plan::lifecycle::wait(&prepared.desired, &args.services);
    let runtime = super::engine::connect().await?;
    super::engine::result(super::engine::execute(&wait, runtime, &prepared.project.name).await)
}

/// `--dry-run`: the plans `up` would run, computed here; nothing changes.
async fn dry_run(prepared: Prepared, request: &UpRequest) -> Result<ExitCode, ExitCode> {
    print!("{}", prepared.images);
    let session = Session::loaded(prepared.project, prepared.desired).await?;
    let desired = session.target.desired().expect("a loaded project");
    let observed = session.observe().await?;
    let plan =
        plan::reconcile(desired, &observed, &request.reconcile_options()).map_err(|err| {
            output::error_line(&err.to_string());
            ExitCode::FAILURE
        })?;
    print!("{plan}");
    Ok(ExitCode::SUCCESS)
}

/// Attached `up`: a supervisor in this process converges the project, then keeps it converged
/// while the logs are followed (and, with `--watch`, the files), until Ctrl-C or SIGTERM.
async fn attached(
    state: &StateDir,
    prepared: Prepared,
    request: &UpRequest,
    watch: bool,
) -> Result<ExitCode, ExitCode> {
    let shutdown = shutdown_signal();
    // The foreground supervisor takes over from a detached one.
    stop_detached(state)?;
    // Until this supervisor has converged and says so in its pid file, another `up` waits
    // rather than start a second supervisor.
    let lock = lock(state)?;
    let session = Session::loaded(prepared.project, prepared.desired).await?;
    let desired = session.target.desired().expect("a loaded project").clone();
    let mut supervisor = Supervisor::new(session.runtime.clone(), desired);
    let (commands, requests) = mpsc::channel(8);
    let socket = listen(state, commands.clone());
    let progress = ProgressSink::default();
    let outcome = supervisor.up(request, &progress).await;
    progress.finish();
    if let Err(error) = outcome {
        output::error_line(&error);
        return Err(ExitCode::FAILURE);
    }
    supervisor.write_pid();
    drop(lock);
    let timeout = request.timeout.map(Duration::from_secs);
    let watch = watch.then(|| (request.clone(), commands));
    let attached = Attached {
        session: &session,
        supervisor,
        requests,
        services: &request.services,
        timeout,
        watch,
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

fn request(global: &GlobalArgs, args: &UpArgs) -> Result<UpRequest, ExitCode> {
    Ok(UpRequest {
        load: load_options(global)?,
        scale: args.scale.clone(),
        services: args.services.clone(),
        no_deps: args.no_deps,
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        remove_orphans: args.remove_orphans || super::env_flag("COMPOSE_REMOVE_ORPHANS"),
        build: args.build,
        no_build: args.no_build,
        timeout: args.timeout,
        renew_anon_volumes: args.renew_anon_volumes,
        watch: args.watch,
    })
}

/// The project's `up` lock, held by whatever starts or stops its supervisor.
pub(super) fn lock(state: &StateDir) -> Result<std::fs::File, ExitCode> {
    let name = state
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().to_string());
    tokio::task::block_in_place(|| {
        state.lock_up(|| {
            eprintln!(
                "waiting for another `wharf up` of {} to finish",
                name.as_deref().unwrap_or("this project")
            )
        })
    })
    .map_err(|err| {
        output::error_line(&format!("cannot take the project's lock: {err}"));
        ExitCode::FAILURE
    })
}

/// `up -d`: the detached supervisor does the work, this prints its progress.
async fn through_supervisor(state: &StateDir, request: &UpRequest) -> Result<(), ExitCode> {
    let progress = ProgressSink::default();
    let request = control::Request::Up(Box::new(request.clone()));
    let outcome = send_when_listening(state, &request, |reply| progress.reply(reply)).await;
    progress.finish();
    match outcome {
        Ok(None) => Ok(()),
        Ok(Some(error)) => {
            output::error_line(&error);
            Err(ExitCode::FAILURE)
        }
        Err(err) => {
            output::error_line(&format!(
                "the project's supervisor went away during `up` ({err}); run `wharf up -d` again"
            ));
            Err(ExitCode::FAILURE)
        }
    }
}

/// How long `up` waits for a supervisor its keeper is starting again.
const SOCKET_WAIT: Duration = Duration::from_secs(10);

pub(super) async fn send_when_listening(
    state: &StateDir,
    request: &control::Request,
    mut on_reply: impl FnMut(Reply),
) -> std::io::Result<Option<String>> {
    let deadline = tokio::time::Instant::now() + SOCKET_WAIT;
    loop {
        match control::send(&state.socket_path(), request, &mut on_reply).await {
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            outcome => return outcome,
        }
    }
}

/// The first `up -d` of a project starts a keeper and its supervisor, which waits for this
/// `up`'s request before it acts, and then stays behind to keep the project converged.
fn leave_supervisor(state: &StateDir, request: &UpRequest) -> Result<(), ExitCode> {
    let started = state
        .save_request(&request.standing(None))
        .and_then(|()| std::env::current_exe())
        .and_then(|exe| keeper::spawn(&exe, state_name(state), state));
    started.map_err(|err| {
        output::error_line(&format!(
            "the project is up, but its supervisor did not start: {err}"
        ));
        ExitCode::FAILURE
    })
}

fn state_name(state: &StateDir) -> &str {
    state
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

fn stop_detached(state: &StateDir) -> Result<(), ExitCode> {
    if !state.is_detached() {
        return Ok(());
    }
    if tokio::task::block_in_place(|| state.stop_supervisor(Duration::from_secs(30))) {
        Ok(())
    } else {
        output::error_line("the project's detached supervisor did not stop; retry, or kill it");
        Err(ExitCode::FAILURE)
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
    watch: Option<(UpRequest, mpsc::Sender<control::Command>)>,
}

impl Attached<'_> {
    /// Supervises and follows the logs until Ctrl-C or SIGTERM; then stops the project,
    /// dependents first. A second Ctrl-C stops waiting for a graceful stop.
    async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<ExitCode, ExitCode> {
        let Attached {
            session,
            supervisor,
            requests,
            services,
            timeout,
            watch,
        } = self;
        let observed = session.observe().await?;
        let watching = async {
            match watch {
                Some((request, commands)) => {
                    super::watch::through(session, request, commands).await
                }
                None => std::future::pending().await,
            }
        };
        let follow = async {
            let printer = logs::Printer::new(&observed, &logs::LogFormat::default());
            logs::follow(session.runtime.clone(), &observed, services, &printer, None).await;
            std::future::pending::<()>().await
        };
        tokio::select! {
            _ = supervisor.run(shutdown, Some(requests)) => {}
            _ = follow => {}
            _ = watching => {}
        }
        eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
        let observed = session.observe().await?;
        let graph = session.target.desired().map(|d| &d.graph);
        let stop = plan::lifecycle::stop(graph, &observed, services, timeout);
        tokio::select! {
            result = session.execute(&stop) => result,
            _ = tokio::signal::ctrl_c() => Err(ExitCode::from(130)),
        }
    }
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when it is first
/// awaited, so a signal that arrives in between is not lost (nor fatal).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    }
}
