//! `companion login` and `companion logout`: one cloud at a time, kept in the OS keychain.

use super::{Cli, CliError, browser, load_config, say_where_secrets_live};
use companion::secrets::SecretStore;
use companion::signin::{Cloud, Clouds, Prompt};
use std::process::ExitCode;
use std::sync::Arc;

/// Signs in through the browser (always, whatever is kept) and keeps the sign-in.
pub async fn login(cli: &Cli, cloud: Cloud, auto_approve: bool) -> Result<ExitCode, CliError> {
    let choice = browser(auto_approve)?;
    let cfg = load_config(cli)?.config;
    let secrets: Arc<dyn SecretStore> = Arc::from(companion::secrets::open());
    say_where_secrets_live(secrets.as_ref());
    let clouds = Clouds::signed_out(&cfg)?;
    clouds.sign_in(cloud, &cfg, &secrets, Prompt::Always(&choice)).await?;
    let until = match cloud {
        Cloud::Genesys => clouds
            .genesys
            .expires_at_ms()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| format!(" until {}", t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")))
            .unwrap_or_default(),
        Cloud::Salesforce => String::new(),
    };
    println!("Signed in to {cloud:?}{until}.");
    Ok(ExitCode::SUCCESS)
}

pub async fn logout(cli: &Cli, cloud: Cloud) -> Result<ExitCode, CliError> {
    let cfg = load_config(cli)?.config;
    let secrets = companion::secrets::open();
    say_where_secrets_live(secrets.as_ref());
    if Clouds::signed_out(&cfg)?.sign_out(cloud, &cfg, secrets.as_ref()).await? {
        println!("Signed out of {cloud:?}: the token was revoked and forgotten.");
    } else {
        println!("Not signed in to {cloud:?} on this machine.");
    }
    Ok(ExitCode::SUCCESS)
}
