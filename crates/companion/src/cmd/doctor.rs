//! `companion doctor` (what to fix) and `companion diagnostics` (a redacted bundle for support).

use super::{Cli, CliError, db_path, existing_db, load_config};
use std::path::PathBuf;
use std::process::ExitCode;

pub async fn diagnostics(cli: &Cli, out: PathBuf, db: Option<PathBuf>) -> Result<ExitCode, CliError> {
    use companion::doctor;
    let loaded = load_config(cli)?;
    let path = match db {
        Some(p) => p,
        None => db_path(&loaded.config)?,
    };
    let file = existing_db(&path)?;
    let status = companion::status::read(&file)?;
    let mut checks = doctor::config_checks(&loaded);
    checks.push(doctor::keychain_check(companion::secrets::open().kind()));
    checks.push(doctor::store_check(&path, Ok(file.clone()), loaded.config.store.encrypt));
    checks.extend(doctor::endpoint_checks(&loaded).await);
    let bundle = companion::diagnostics::bundle(
        &file,
        &loaded,
        &status,
        serde_json::to_value(&checks).expect("checks serialize"),
    )?;
    companion::private_files::write(&out, serde_json::to_string_pretty(&bundle).expect("bundle serializes").as_bytes())
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", out.display())))?;
    println!("Diagnostics written to {} (ids only; no numbers, names, notes or tokens).", out.display());
    Ok(ExitCode::SUCCESS)
}

pub async fn doctor(cli: &Cli, json_out: bool) -> Result<ExitCode, CliError> {
    use companion::doctor;
    let loaded = load_config(cli)?;
    let mut checks = doctor::config_checks(&loaded);
    checks.push(doctor::keychain_check(companion::secrets::open().kind()));
    match db_path(&loaded.config) {
        Ok(path) => checks.push(doctor::store_check(&path, existing_db(&path), loaded.config.store.encrypt)),
        Err(e) => checks.push(doctor::no_store_check(&e.to_string())),
    }
    checks.extend(doctor::endpoint_checks(&loaded).await);
    // With a sign-in kept on this desktop, what the agent's Genesys role allows.
    let secrets: std::sync::Arc<dyn companion::secrets::SecretStore> = std::sync::Arc::from(companion::secrets::open());
    if let Ok(clouds) = companion::signin::Clouds::signed_out(&loaded.config)
        && clouds
            .sign_in(companion::signin::Cloud::Genesys, &loaded.config, &secrets, companion::signin::Prompt::Never)
            .await
            .unwrap_or(false)
    {
        checks.extend(doctor::genesys_permission_check(&loaded.config, &clouds.genesys).await);
        checks.extend(doctor::readback_permission_check(&loaded.config, &clouds.genesys).await);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&checks).expect("checks serialize"));
    } else {
        print!("{}", doctor::render(&checks));
    }
    Ok(if checks.iter().all(|c| c.ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
