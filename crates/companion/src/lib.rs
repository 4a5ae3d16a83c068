//! The Agent Companion engine: everything but the window. It subscribes to the agent's Genesys
//! conversation notifications, tracks each call, and decides the Salesforce screen pop through a
//! local SQLite TTL cache. It never depends on Tauri; the desktop shell and the `companion` command
//! drive it through [`engine::EngineHandle`] (headless) or [`desk::DeskHandle`] (the window) and receive its events through [`events::EventSink`].

/// The app's bundle identifier (tauri.conf.json): the macOS login item's label and the name of the
/// folders the webview keeps its data and cache in.
pub const APP_IDENTIFIER: &str = "com.agentcompanion.desktop";

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
