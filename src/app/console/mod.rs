//! The console: the registers and the dock in a browser, on loopback, for the operator
//! who starts it (`sentinel-dockctl console`).
//!
//! It runs as the operator's own Unix user and asks the daemon everything through the
//! control socket, so the daemon knows the operator by SO_PEERCRED exactly as for the
//! command line: roles, refusals and their traces are the daemon's, never the console's.
//! The browser proves itself with a one-time token exchanged for a session cookie.

mod daemon;
mod http;
mod i18n;
mod i18n_plain;
mod pages;
mod roles;
mod session;
mod time;
mod video;
mod words;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::base::config::Config;

pub(crate) use session::Sessions;

/// How the console was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (loopback only); a random port on 127.0.0.1 when `None`.
    pub listen: Option<SocketAddr>,
    /// Open the URL with `xdg-open`.
    pub open_browser: bool,
    /// Serve only the dock page (a screen beside the dock).
    pub kiosk: bool,
}

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// `--listen` names an address other machines could reach.
    #[error(
        "--listen {0}: the console serves this machine only; give a loopback address such as 127.0.0.1:8480"
    )]
    NotLoopback(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr} (--listen; choose another port)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The runtime, the random source or the server failed.
    #[error("console")]
    Io(#[from] std::io::Error),
}

/// What every request handler reaches.
#[derive(Debug)]
pub struct Console {
    /// The daemon's control socket.
    pub socket: PathBuf,
    /// The configuration (language, time zone, extraction root).
    pub config: Config,
    /// Only the dock page.
    pub kiosk: bool,
    /// The one-time token and the sessions it opened.
    pub sessions: Sessions,
    /// The role `[access]` gives the console's user: it shapes the menu and the landing
    /// page only; the daemon decides every request.
    pub role: Option<crate::app::commands::access::Role>,
}

/// Runs the console until SIGINT or SIGTERM; prints the URL with its token first.
pub fn run(config: Config, options: Options) -> Result<(), ConsoleError> {
    let addr = options
        .listen
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    if !addr.ip().is_loopback() {
        return Err(ConsoleError::NotLoopback(addr));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("console")
        .enable_all()
        .build()?;
    runtime.block_on(serve(config, options, addr))
}

async fn serve(config: Config, options: Options, addr: SocketAddr) -> Result<(), ConsoleError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ConsoleError::Bind { addr, source })?;
    let bound = listener.local_addr()?;
    let sessions = Sessions::new()?;
    let url = format!("http://{bound}/?token={}", sessions.token());
    // The first line on standard output: what a test, a script or the operator opens.
    print_link(&url);
    eprintln!(
        "sentinel-dockctl console: for a new one-time link later (an expired session, another browser), send SIGUSR1: kill -USR1 {}",
        std::process::id()
    );
    if options.open_browser {
        open_in_browser(&url);
    }
    let console = Arc::new(Console {
        socket: config.control.socket.clone(),
        role: roles::of_this_user(&config.access),
        config,
        kiosk: options.kiosk,
        sessions,
    });
    tokio::spawn(renew_on_request(console.clone(), bound));
    let app = http::router(console);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop_signal().await;
        let _ = stop.send(true);
    });
    let mut graceful = stopped.clone();
    let mut hard = stopped;
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|s| *s).await;
    });
    // A dock page's event stream never ends by itself: answers under way get a moment to
    // finish, then the console stops anyway.
    tokio::select! {
        served = server => served?,
        _ = async move {
            let _ = hard.wait_for(|s| *s).await;
            tokio::time::sleep(STOP_GRACE).await;
        } => {}
    }
    Ok(())
}

fn print_link(url: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{url}");
    let _ = out.flush();
}

/// On SIGUSR1, a new one-time link (the sessions already open go on): the way back in
/// without restarting the console, as safe as the first link, since only the console's
/// own user (or root) may signal it and only its terminal sees the link.
async fn renew_on_request(console: Arc<Console>, bound: SocketAddr) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut asked) = signal(SignalKind::user_defined1()) else {
        eprintln!(
            "sentinel-dockctl console: cannot listen for SIGUSR1; restart the console for a new link"
        );
        return;
    };
    while asked.recv().await.is_some() {
        match console.sessions.renew() {
            Ok(token) => print_link(&format!("http://{bound}/?token={token}")),
            Err(e) => eprintln!(
                "sentinel-dockctl console: no new link ({e}): the kernel's random source failed; try again"
            ),
        }
    }
}

/// How long answers under way may take once SIGINT or SIGTERM came.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

fn open_in_browser(url: &str) {
    match std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => eprintln!(
            "sentinel-dockctl console: cannot open a browser (xdg-open: {e}); open the URL above by hand"
        ),
    }
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            // Without signal handlers the process still dies on SIGINT/SIGTERM by default.
            std::future::pending::<()>().await;
        }
    }
}
