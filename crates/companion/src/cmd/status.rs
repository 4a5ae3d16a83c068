//! `companion status`: what the local store says (works while the engine runs).

use super::{Cli, CliError, db_path, existing_db, load_config};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn status(cli: &Cli, json_out: bool, db: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let path = match db {
        Some(p) => p,
        None => db_path(&load_config(cli)?.config)?,
    };
    let snap = companion::status::read(&existing_db(&path)?)?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&snap).expect("status serializes"));
    } else {
        print!("{}", snap.to_table());
    }
    Ok(ExitCode::SUCCESS)
}
