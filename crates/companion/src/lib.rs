//! The Agent Companion engine: everything but the window. It subscribes to the agent's Genesys
//! conversation notifications, tracks each call, and decides the Salesforce screen pop through a
//! local SQLite TTL cache. It never depends on Tauri; the desktop shell and the `companion` command
//! drive it through [`engine::EngineHandle`] (headless) or [`desk::DeskHandle`] (the window) and receive its events through [`events::EventSink`].

/// The app's bundle identifier (tauri.conf.json): the macOS login item's label and the name of the
/// folders the webview keeps its data and cache in.
pub const APP_IDENTIFIER: &str = "com.agentcompanion.desktop";

/// The one folder name the app's data, logs, configuration and window data live under, in each OS's
/// own places (`%LOCALAPPDATA%\AgentCompanion`, `~/Library/Application Support/AgentCompanion`,
/// `~/.local/share/agent-companion`): what a roaming-profile or FSLogix rule names.
pub const APP_FOLDER: &str =
    if cfg!(any(target_os = "windows", target_os = "macos")) { "AgentCompanion" } else { "agent-companion" };

/// The data folder's name before it was the same as the logs' on Windows and macOS.
pub const LEGACY_DATA_FOLDER: &str = "agent-companion";

pub mod auth;
pub mod autostart;
pub mod clock;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod desk;
pub mod diagnostics;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod events;
pub mod genesys;
pub mod history;
pub mod hosts;
pub mod http_body;
pub mod logs;
pub mod net;
pub mod outbox;
pub mod phone;
pub mod privacy;
pub mod private_files;
pub mod purge;
pub mod salesforce;
pub mod screenpop;
pub mod secrets;
pub mod signin;
pub mod status;
pub mod store;
pub mod updates;
