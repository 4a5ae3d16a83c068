//! `companion forget`: erase a caller (or everything) from this machine.

use super::{Cli, CliError, db_path, existing_db, load_config};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn forget(
    cli: &Cli,
    phone: Option<String>,
    email: Option<String>,
    contact: Option<String>,
    all: bool,
    include_undelivered: bool,
    db: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    use companion::privacy::{self, Scope};
    let loaded = load_config(cli)?;
    let scope = match (phone, email, contact, all) {
        (Some(p), None, None, false) => Scope::Phone(p),
        (None, Some(e), None, false) => Scope::Email(e),
        (None, None, Some(c), false) => Scope::Contact(c),
        (None, None, None, true) => Scope::All,
        _ => {
            return Err(CliError::Usage(
                "say what to forget: --phone N, --email ADDRESS, --contact ID or --all".into(),
            ));
        }
    };
    let path = match db {
        Some(p) => p,
        None => db_path(&loaded.config)?,
    };
    if !path.exists() {
        return Err(CliError::Usage(format!("no database at {}: nothing is kept on this machine", path.display())));
    }
    let country =
        companion::phone::country(&loaded.config.phone.default_country).unwrap_or(phonenumber::country::Id::US);
    let store = existing_db(&path)?.open()?;
    let report = privacy::forget(&store, &scope, country, include_undelivered, chrono::Utc::now().timestamp_millis())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let total: u64 = report.removed.values().sum();
    println!("Erased {total} row(s): {}", serde_json::to_string(&report.removed).expect("counts serialize"));
    if !report.wal_cleared {
        println!("The app has the database open: the last copies leave the write-ahead log when it closes.");
    }
    Ok(ExitCode::SUCCESS)
}
