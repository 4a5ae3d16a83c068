//! Agent Companion's desktop shell: a Tauri window over the desk (`companion::desk`). Everything the
//! agent does is a command in [`commands`] of a few lines; everything the engine says reaches the
//! webview as a `desk` event; the tray, notifications and the single-instance rule live here because
//! they need the OS.

pub mod commands;

use clap::Parser;
use companion::auth::BrowserChoice;
use companion::config::{self, Sources};
use companion::desk::{CallCard, DeskEvent, DeskHandle, DeskOptions, DeskSink, TrayState};
use companion::error::{ErrorCode, UiError};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::watch;

/// The command line.
#[derive(Debug, Clone, Parser, Default)]
#[command(name = "agent-companion", version, about = "Screen pops and wrap-ups for Genesys Cloud and Salesforce")]
pub struct Args {
    /// Run against the embedded simulator, signed in at once, with a stream of demo calls (only in
    /// builds with the `demo` feature; installed copies refuse it).
    #[arg(long)]
    pub demo: bool,
    /// With --demo: how many demo calls to place (0: none; calls then come from the simulator's
    /// control API, as in the end-to-end tests).
    #[arg(long, default_value_t = 200)]
    pub demo_calls: u32,
    /// With --demo: write the simulator's addresses (JSON) to this file once it runs.
    #[arg(long)]
    pub demo_info: Option<PathBuf>,
    /// Where the database goes (overrides store.path).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Configuration overrides, `section.key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Where the rotating log files go (default: the per-OS log directory).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
}

/// Opens a URL in the system browser (replaced in tests).
pub type Opener = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The app's state, shared by every command.
pub struct Shell {
    desk: watch::Receiver<Option<Result<Arc<DeskHandle>, UiError>>>,
    desk_tx: watch::Sender<Option<Result<Arc<DeskHandle>, UiError>>>,
    /// When the process started (start-to-ready is measured from here).
    pub started: Instant,
    opener: Opener,
    export_dir: PathBuf,
    #[cfg(feature = "demo")]
    demo: std::sync::Mutex<Option<companion::demo::DemoCloud>>,
}

impl Shell {
    /// A shell whose desk is not started yet.
    pub fn new(opener: Opener, export_dir: PathBuf) -> Shell {
        let (desk_tx, desk) = watch::channel(None);
        Shell {
            desk,
            desk_tx,
            started: Instant::now(),
            opener,
            export_dir,
            #[cfg(feature = "demo")]
            demo: std::sync::Mutex::new(None),
        }
    }

    /// The desk is up (or could not start).
    pub fn set_desk(&self, desk: Result<Arc<DeskHandle>, UiError>) {
        let _ = self.desk_tx.send(Some(desk));
    }

    /// The desk, once it has started (commands wait up to 30 s for it at start-up).
    pub async fn desk(&self) -> Result<Arc<DeskHandle>, UiError> {
        let mut rx = self.desk.clone();
        let ready = tokio::time::timeout(Duration::from_secs(30), rx.wait_for(Option::is_some)).await;
        match ready {
            Ok(Ok(v)) => v.clone().expect("waited for Some"),
            _ => Err(UiError::new(ErrorCode::Starting, "Agent Companion is still starting; try again")),
        }
    }

    /// The desk if it is up, without waiting.
    pub fn try_desk(&self) -> Option<Arc<DeskHandle>> {
        self.desk.borrow().as_ref().and_then(|r| r.as_ref().ok().cloned())
    }

    /// Opens a URL the desk built (https, the org's host, a validated id).
    pub fn open_url(&self, url: &str) -> Result<String, UiError> {
        (self.opener)(url)
            .map(|_| url.to_string())
            .map_err(|e| UiError::new(ErrorCode::OpenFailed, format!("the browser could not be opened: {e}")))
    }

    /// Where diagnostics bundles are written.
    pub fn export_dir(&self) -> PathBuf {
        self.export_dir.clone()
    }
}

/// What a `desk` event carries to the webview: the event, and when it left (ms since the epoch,
/// fractional) so the window can measure pop-to-painted.
#[derive(Clone, Serialize)]
struct Emitted<'a> {
    at_ms: f64,
    #[serde(flatten)]
    event: &'a DeskEvent,
}

/// Emits desk events to the webview; pops raise a notification when the window is out of sight.
struct WebviewSink<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> DeskSink for WebviewSink<R> {
    fn emit(&self, event: &DeskEvent) {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or_default();
        if let Err(e) = self.app.emit("desk", Emitted { at_ms, event }) {
            tracing::warn!(error = %e, "an event could not reach the window");
        }
        match event {
            // Parking is a Problem; deliveries change cards; the agent's retries and discards say so.
            DeskEvent::Connection { .. }
            | DeskEvent::Problem(_)
            | DeskEvent::SignIn { .. }
            | DeskEvent::Card(_)
            | DeskEvent::OutboxChanged { .. }
            | DeskEvent::ReadBack { .. } => refresh_tray(self.app.clone()),
            DeskEvent::SignInSoon { .. } | DeskEvent::UpdateAvailable(_) => {}
        }
    }

    fn popped(&self, card: &CallCard) {
        let Some(pop) = &card.pop else { return };
        let out_of_sight = self
            .app
            .get_webview_window("main")
            .is_none_or(|w| !w.is_visible().unwrap_or(false) || !w.is_focused().unwrap_or(false));
        if out_of_sight {
            notify_pop(self.app.clone(), companion::desk::pop_headline(pop), card.interaction_id.clone());
        }
    }
}

/// A native notification; clicking it brings the window and the call's card forward.
fn notify_pop<R: Runtime>(app: AppHandle<R>, (title, body): (String, String), interaction_id: String) {
    std::thread::spawn(move || {
        let shown = notify_rust::Notification::new()
            .appname("Agent Companion")
            .summary(&title)
            .body(&body)
            .action("default", "Show")
            .timeout(notify_rust::Timeout::Milliseconds(15_000))
            .show();
        match shown {
            #[cfg(all(unix, not(target_os = "macos")))]
            Ok(handle) => handle.wait_for_action(|action| {
                if action == "default" {
                    show_main(&app);
                    let _ = app.emit("focus-call", &interaction_id);
                }
            }),
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            Ok(_) => {}
            Err(e) => tracing::info!(error = %e, "no notification shown"),
        }
    });
}

fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Sets the tray's icon and tooltip from the desk's state.
fn refresh_tray<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let Some(shell) = app.try_state::<Shell>() else { return };
        let Ok(desk) = shell.desk().await else { return };
        let state = desk.tray_state().await;
        if let Some(tray) = app.tray_by_id("main") {
            let icon = match state {
                TrayState::Connected => &include_bytes!("../../icons/tray-connected.png")[..],
                TrayState::Reconnecting => &include_bytes!("../../icons/tray-reconnecting.png")[..],
                TrayState::SignedOut => &include_bytes!("../../icons/tray-signed-out.png")[..],
                TrayState::NeedsAttention { .. } => &include_bytes!("../../icons/tray-attention.png")[..],
            };
            if let Ok(img) = tauri::image::Image::from_bytes(icon) {
                let _ = tray.set_icon(Some(img));
            }
            let _ = tray.set_tooltip(Some(format!("Agent Companion: {}", state.label())));
        }
    });
}

/// The app's commands and state on a builder (the mock runtime's in tests, the real one in `main`).
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>, shell: Shell) -> tauri::Builder<R> {
    builder.manage(shell).invoke_handler(tauri::generate_handler![
        commands::desk_snapshot,
        commands::sign_in,
        commands::sign_out,
        commands::pick_record,
        commands::decide_later,
        commands::search_records,
        commands::submit_wrapup,
        commands::save_draft,
        commands::open_record,
        commands::create_contact,
        commands::sync_status,
        commands::retry_disposition,
        commands::discard_disposition,
        commands::export_diagnostics,
        commands::call_history,
        commands::ui_ready,
    ])
}

/// Starts the desk for the command line: the demo (embedded simulator, signed in at once, calls
/// flowing) or the real clouds (kept sign-ins resumed; the buttons do the rest).
pub async fn start_desk(args: &Args, shell: &Shell, out: Arc<dyn DeskSink>) -> Result<Arc<DeskHandle>, UiError> {
    if args.demo {
        return start_demo(args, shell, out).await;
    }
    let mut flags = args.set.clone();
    if let Some(d) = &args.data_dir {
        flags.push(format!("store.path={}", d.join("companion.db").display()));
    }
    let loaded =
        config::load(&Sources::standard(flags, None)).map_err(|e| UiError::new(ErrorCode::Config, e.to_string()))?;
    match companion::autostart::login_program()
        .and_then(|exe| companion::autostart::apply(loaded.config.desktop.autostart, &exe))
    {
        Ok(change) => tracing::info!(?change, "login item"),
        Err(e) => tracing::warn!(error = %e, "the login item could not be updated"),
    }
    let secrets: Arc<dyn companion::secrets::SecretStore> = Arc::from(companion::secrets::open());
    let opts = DeskOptions { loaded, browser: BrowserChoice::system(), resume: true };
    Ok(Arc::new(DeskHandle::start(opts, secrets, out).await?))
}

/// Builds without the simulator refuse `--demo` with a sentence.
#[cfg(not(feature = "demo"))]
async fn start_demo(_: &Args, _: &Shell, _: Arc<dyn DeskSink>) -> Result<Arc<DeskHandle>, UiError> {
    Err(UiError::new(ErrorCode::DemoFailed, NO_DEMO))
}

/// What a build without the simulator says to `--demo`.
pub const NO_DEMO: &str = "this build of Agent Companion has no demo: the simulator is only in builds with the `demo` feature (scripts/run.sh builds one); installed copies talk to the real clouds";

/// The demo: the embedded simulator, both clouds signed in at once, a stream of calls.
#[cfg(feature = "demo")]
async fn start_demo(args: &Args, shell: &Shell, out: Arc<dyn DeskSink>) -> Result<Arc<DeskHandle>, UiError> {
    let failed = |e: String| UiError::new(ErrorCode::DemoFailed, e);
    let cloud =
        companion::demo::DemoCloud::start(42, args.data_dir.clone()).await.map_err(|e| failed(e.to_string()))?;
    // A short batch window so "queued" turns into "in Salesforce" while people watch.
    let mut demo_flags = vec!["outbox.batch_window_secs=2".to_string()];
    demo_flags.extend(args.set.iter().cloned());
    let loaded = cloud.config(&demo_flags).map_err(|e| UiError::new(ErrorCode::Config, e.to_string()))?;
    let secrets = Arc::new(companion::secrets::MemoryOnly::new("the demo keeps its simulated sign-ins in memory only"));
    let opts = DeskOptions { loaded, browser: BrowserChoice::Simulator, resume: false };
    let desk = DeskHandle::start(opts, secrets, out).await?;
    desk.sign_in(companion::signin::Cloud::Genesys).await?;
    desk.sign_in(companion::signin::Cloud::Salesforce).await?;
    if let Some(path) = &args.demo_info {
        let info = serde_json::to_vec(&cloud.sim.urls()).unwrap_or_default();
        std::fs::write(path, info).map_err(|e| failed(e.to_string()))?;
    }
    if args.demo_calls > 0 {
        // About one call every 12 s, each lasting well under a minute.
        cloud.start_calls(args.demo_calls, 5.0 / 4.0, 4.0, 42).map_err(|e| failed(e.to_string()))?;
    }
    *shell.demo.lock().unwrap_or_else(|e| e.into_inner()) = Some(cloud);
    Ok(Arc::new(desk))
}

fn tray<R: Runtime>(app: &tauri::App<R>) -> tauri::Result<()> {
    use tauri::menu::{Menu, MenuItem};
    use tauri::tray::TrayIconBuilder;
    let toggle = MenuItem::with_id(app, "toggle", "Show / hide", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Agent Companion", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&toggle, &quit])?;
    TrayIconBuilder::with_id("main")
        .icon(tauri::image::Image::from_bytes(include_bytes!("../../icons/tray-signed-out.png"))?)
        .tooltip("Agent Companion: starting")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "toggle" => match app.get_webview_window("main") {
                Some(w) if w.is_visible().unwrap_or(false) => {
                    let _ = w.hide();
                }
                _ => show_main(app),
            },
            "quit" => app.exit(0),
            _ => {}
        })
        .build(app)?;
    Ok(())
}

/// The main window, from its configuration, with a navigation guard: it only ever shows the app's own
/// pages (records open in the system browser, through the opener's checks), so a link that slipped
/// into the page can never turn the window into someone else's site with the app's IPC.
fn main_window<R: Runtime>(app: &tauri::App<R>) -> tauri::Result<()> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let mut window = tauri::WebviewWindowBuilder::from_config(app.handle(), &config)?.on_navigation(is_own_page);
    // The window's data beside the app's own (one folder for IT's profile rules and for `companion
    // purge`); WKWebView on macOS keeps its own place.
    if !cfg!(target_os = "macos")
        && let Some(dir) = companion::store::webview_dir()
    {
        window = window.data_directory(dir);
    }
    window.build()?;
    Ok(())
}

/// The app's own pages: the `tauri://` scheme, or its `tauri.localhost` host (Windows).
pub fn is_own_page(url: &tauri::Url) -> bool {
    url.scheme() == "tauri" || (matches!(url.scheme(), "http" | "https") && url.host_str() == Some("tauri.localhost"))
}

/// The program.
pub fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.demo && !cfg!(feature = "demo") {
        eprintln!("agent-companion: {NO_DEMO}");
        return std::process::ExitCode::from(2);
    }
    // Every file this program writes (database, logs, bundles) is the user's alone.
    companion::private_files::restrict_umask();
    let log_dir = args.log_dir.clone().or_else(companion::logs::default_dir);
    companion::logs::init(log_dir.as_deref(), "agent-companion", "warn,companion=info,agent_companion=info");
    let opener: Opener = Box::new(|url: &str| open::that_detached(url).map_err(|e| e.to_string()));
    let export_dir = dirs::download_dir().or_else(dirs::home_dir).unwrap_or_else(std::env::temp_dir);
    let shell = Shell::new(opener, export_dir);
    let result = with_commands(tauri::Builder::<tauri::Wry>::new(), shell)
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| show_main(app)))
        .setup(move |app| {
            main_window(app)?;
            // The tray needs a StatusNotifier host; without one the app still works from its window.
            if let Err(e) = tray(app) {
                tracing::warn!(error = %e, "no tray icon");
            }
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let out: Arc<dyn DeskSink> = Arc::new(WebviewSink { app: handle.clone() });
                let shell = handle.state::<Shell>();
                let desk = start_desk(&args, &shell, out).await;
                match &desk {
                    Ok(_) => tracing::info!("desk started"),
                    Err(e) => tracing::error!(code = ?e.code, error = %e, "the desk did not start"),
                }
                shell.set_desk(desk);
                refresh_tray(handle.clone());
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the engine (and the tray) running; Quit is in the tray menu.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && window.app_handle().tray_by_id("main").is_some()
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!());
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("agent-companion: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            let shell = handle.state::<Shell>();
            #[cfg(feature = "demo")]
            let demo = shell.demo.lock().unwrap_or_else(|e| e.into_inner()).take();
            tauri::async_runtime::block_on(async {
                if let Some(desk) = shell.try_desk() {
                    desk.stop().await;
                }
                #[cfg(feature = "demo")]
                if let Some(d) = demo {
                    d.stop().await;
                }
            });
        }
    });
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::is_own_page;

    #[test]
    fn the_window_navigates_only_to_the_apps_own_pages() {
        for own in ["tauri://localhost/index.html", "http://tauri.localhost/", "https://tauri.localhost/views"] {
            assert!(is_own_page(&own.parse().unwrap()), "{own}");
        }
        for other in [
            "https://acme.lightning.force.com/lightning/r/Contact/003/view",
            "http://127.0.0.1:8080/",
            "https://tauri.localhost.evil.example/",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            assert!(!is_own_page(&other.parse().unwrap()), "{other}");
        }
    }
}
