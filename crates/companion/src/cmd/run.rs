//! `companion run`: the engine against the configured clouds, until Ctrl-C or SIGTERM.

use super::{Cli, CliError, browser, db_path, load_config, say_where_secrets_live};
use companion::engine::{EngineHandle, EngineSetup};
use companion::events::JsonLines;
use companion::genesys::feed::ConnectionState;
use companion::signin::Clouds;
use companion::store::DbFile;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(cli: &Cli, auto_approve: bool) -> Result<ExitCode, CliError> {
    // Refused before anything is opened when this build has no simulator to approve sign-ins.
    let choice = browser(auto_approve)?;
    let loaded = load_config(cli)?;
    let cfg = Arc::new(loaded.config);
    let secrets: Arc<dyn companion::secrets::SecretStore> = Arc::from(companion::secrets::open());
    let store = Arc::new(DbFile::configured(&db_path(&cfg)?, cfg.store.encrypt, || secrets.clone())?.open()?);
    say_where_secrets_live(secrets.as_ref());
    let clouds = Clouds::connect(&cfg, &secrets, &choice).await?;
    let engine = EngineHandle::start(EngineSetup::new(cfg, store, clouds, Arc::new(JsonLines::default())))?;
    let mut conn = engine.connection();
    let code = loop {
        tokio::select! {
            _ = shutdown_signal() => break ExitCode::SUCCESS,
            changed = conn.changed() => {
                if changed.is_err() { break ExitCode::FAILURE; }
                if let ConnectionState::SignInRequired { reason } = conn.borrow().clone() {
                    eprintln!("companion: sign in again: {reason}");
                    break ExitCode::from(2);
                }
            }
        }
    };
    engine.stop().await;
    Ok(code)
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
