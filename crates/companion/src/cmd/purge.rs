//! `companion purge`: every local trace of this user (see `companion::purge`).

use super::{Cli, CliError, load_config};
use companion::config::Sources;
use companion::purge::{self, Outcome, Places};
use std::process::ExitCode;

/// Exit code when the purge was refused (no `--yes`, or undelivered wrap-ups).
const REFUSED: u8 = 2;

pub async fn purge(cli: &Cli, yes: bool, discard_undelivered: bool, json: bool) -> Result<ExitCode, CliError> {
    let loaded = load_config(cli)?;
    let user_config = Sources::standard(vec![], cli.config.clone()).user;
    let places = Places::of(&loaded.config, user_config)?;
    if !yes {
        let mut listed = vec![
            "the sign-ins kept in the keychain (revoked at Genesys Cloud and Salesforce first)".to_string(),
            format!("the local database {} and its key", places.database.display()),
        ];
        listed.extend(places.logs.iter().map(|l| format!("the logs in {}", l.display())));
        listed.extend(places.user_config.iter().map(|c| format!("your configuration file {}", c.display())));
        listed.extend(purge::webview_dirs().iter().map(|d| format!("the window's data in {}", d.display())));
        listed.push("the start-at-login item".into());
        let text = format!("Nothing was removed. `companion purge --yes` removes:\n- {}", listed.join("\n- "));
        if json {
            println!("{}", serde_json::json!({"result": "refused", "would_remove": listed}));
        } else {
            println!("{text}");
        }
        return Ok(ExitCode::from(REFUSED));
    }
    let secrets: std::sync::Arc<dyn companion::secrets::SecretStore> = std::sync::Arc::from(companion::secrets::open());
    let steps = match purge::purge(&loaded.config, &places, secrets, discard_undelivered).await {
        Ok(steps) => steps,
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({"result": "refused", "error": e.to_string()}));
            }
            eprintln!("companion: {e}");
            return Ok(ExitCode::from(REFUSED));
        }
    };
    let clean = steps.iter().all(|s| matches!(s.outcome, Outcome::Removed | Outcome::Absent));
    if json {
        let result = if clean { "purged" } else { "purged_with_notes" };
        println!("{}", serde_json::json!({"result": result, "steps": steps}));
    } else {
        for s in &steps {
            let said = match &s.outcome {
                Outcome::Removed => "removed".to_string(),
                Outcome::Absent => "nothing there".to_string(),
                Outcome::RemovedWithNote(n) => format!("removed here; {n}"),
                Outcome::Failed(e) => format!("NOT removed: {e}"),
            };
            println!("{:<60} {said}", s.what);
        }
    }
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
