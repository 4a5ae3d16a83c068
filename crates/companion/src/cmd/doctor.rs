//! `companion doctor` (what to fix) and `companion diagnostics` (a redacted bundle for support).

use super::{Cli, CliError, db_path, existing_db, load_config};
use companion::doctor::{self, Check, Report, Scope};
use std::path::PathBuf;
use std::process::ExitCode;

/// The checks of this user's own things: keychain and database.
fn user_checks(cfg: &companion::config::Config, db: Option<PathBuf>) -> Vec<Check> {
    let mut checks = vec![doctor::keychain_check(companion::secrets::open().kind())];
    match db.map(Ok).unwrap_or_else(|| db_path(cfg)) {
        Ok(path) => checks.push(doctor::store_check(&path, existing_db(&path), cfg.store.encrypt)),
        Err(e) => checks.push(doctor::no_store_check(&e.to_string())),
    }
    checks
}

pub async fn diagnostics(
    cli: &Cli,
    out: PathBuf,
    db: Option<PathBuf>,
    logs: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    let loaded = load_config(cli)?;
    let path = match db {
        Some(p) => p,
        None => db_path(&loaded.config)?,
    };
    // Before the app's first run there is no database: the bundle says so and carries the rest.
    let file = if path.exists() { Some(existing_db(&path)?) } else { None };
    let mut checks = doctor::config_checks(&loaded);
    checks.extend(user_checks(&loaded.config, Some(path.clone())));
    checks.extend(doctor::endpoint_checks(&loaded).await);
    let mut bundle = companion::diagnostics::bundle(
        file.as_ref(),
        &loaded,
        serde_json::to_value(&checks).expect("checks serialize"),
    )?;
    if let Some(dir) = &logs {
        bundle["logs"] = companion::diagnostics::recent_logs(dir);
    }
    companion::private_files::write(&out, serde_json::to_string_pretty(&bundle).expect("bundle serializes").as_bytes())
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", out.display())))?;
    let with_logs = if logs.is_some() { ", with the latest logs" } else { "" };
    println!("Diagnostics written to {}{with_logs} (ids only; no numbers, names, notes or tokens).", out.display());
    Ok(ExitCode::SUCCESS)
}

pub async fn doctor(cli: &Cli, json_out: bool, scope: Scope) -> Result<ExitCode, CliError> {
    let loaded = load_config(cli)?;
    let mut checks = doctor::config_checks(&loaded);
    checks.extend(doctor::endpoint_checks(&loaded).await);
    if scope == Scope::User {
        checks.extend(user_checks(&loaded.config, None));
        // With a sign-in kept on this desktop: a real notification channel, and what the role allows.
        let secrets: std::sync::Arc<dyn companion::secrets::SecretStore> =
            std::sync::Arc::from(companion::secrets::open());
        if let Ok(clouds) = companion::signin::Clouds::signed_out(&loaded.config)
            && clouds
                .sign_in(companion::signin::Cloud::Genesys, &loaded.config, &secrets, companion::signin::Prompt::Never)
                .await
                .unwrap_or(false)
        {
            checks.extend(doctor::notification_channel_check(&clouds.genesys).await);
            checks.extend(doctor::genesys_permission_check(&loaded.config, &clouds.genesys).await);
            checks.extend(doctor::readback_permission_check(&loaded.config, &clouds.genesys).await);
        }
    }
    let report = Report::new(scope, checks);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
    } else {
        print!("{}", doctor::render(&report.checks));
    }
    Ok(ExitCode::from(report.exit_code()))
}
