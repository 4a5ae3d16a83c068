//! `companion queue`: list, retry or discard queued dispositions (works while the engine runs).

use super::{Cli, CliError, QueueAction, db_path, existing_db, load_config};
use companion::clock::SystemClock;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub fn queue(cli: &Cli, db: Option<PathBuf>, action: &QueueAction) -> Result<ExitCode, CliError> {
    use companion::outbox::{Outbox, RowState};
    let path = match db {
        Some(p) => p,
        None => db_path(&load_config(cli)?.config)?,
    };
    if !path.exists() {
        return Err(CliError::Usage(format!("no database at {}: the engine has not run yet", path.display())));
    }
    let outbox = Outbox::new(Arc::new(existing_db(&path)?.open()?), Arc::new(SystemClock));
    let who = format!(
        "companion queue ({})",
        std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown user".into())
    );
    match action {
        QueueAction::List { state, limit, json } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(RowState::parse(s).ok_or_else(|| {
                    CliError::Usage(format!("unknown state {s}: pending, delivered, needs_attention or discarded"))
                })?),
            };
            let rows = outbox.list(state, *limit)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows).expect("rows serialize"));
            } else if rows.is_empty() {
                println!("No queued dispositions.");
            } else {
                for r in rows {
                    let when = chrono::DateTime::from_timestamp_millis(r.updated_ms)
                        .map(|t| t.with_timezone(&chrono::Local).format("%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default();
                    let why = r.error_message.as_deref().map(|m| format!("  — {m}")).unwrap_or_default();
                    println!(
                        "{when}  {:<38} {:<16} v{} {:<20} tries {}{why}",
                        r.interaction_id,
                        format!("{:?}", r.state),
                        r.version,
                        r.disposition.code,
                        r.attempts
                    );
                }
            }
        }
        QueueAction::Retry { interaction_id } => {
            outbox.retry_now(interaction_id, &who)?;
            println!("{interaction_id}: queued for another try now.");
        }
        QueueAction::Discard { interaction_id, reason } => {
            if reason.trim().is_empty() {
                return Err(CliError::Usage("--reason must say why".into()));
            }
            outbox.discard(interaction_id, &who, reason)?;
            println!("{interaction_id}: discarded ({reason}); the discard is recorded.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
