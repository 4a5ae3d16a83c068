//! `companion`: the headless engine. `run` against the configured clouds; `status`, `queue`, `forget`,
//! `doctor` and `diagnostics` beside it; `login`/`logout`; `demo` (builds with the simulator only).

mod cmd;

use clap::Parser;
use cmd::{Cli, CliError, Command};
use companion::logs;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Every file this program writes (database, logs, bundles) is the user's alone.
    companion::private_files::restrict_umask();
    let cli = Cli::parse();
    // The long-running engine also logs to rotating files; one-shot commands to stderr only.
    let log_dir = match &cli.command {
        Command::Run { log_dir, .. } => log_dir.clone().or_else(logs::default_dir),
        _ => None,
    };
    logs::init(log_dir.as_deref(), "companion", "warn");
    // A script that asked for JSON gets JSON, also when the command fails before its output.
    let json_out = matches!(
        cli.command,
        Command::Doctor { json: true, .. } | Command::Status { json: true, .. } | Command::Purge { json: true, .. }
    );
    // Commands whose exit code tells an unreadable configuration (3) from their own outcomes.
    let coded = matches!(cli.command, Command::Doctor { .. } | Command::Purge { .. });
    let result = match cli.command {
        Command::Demo { calls, seed, rate, speed, json, ref data_dir } => {
            let args = cmd::demo::DemoArgs { calls, seed, rate, speed, json, data_dir: data_dir.clone() };
            cmd::demo::demo(&cli, args).await
        }
        Command::Run { auto_approve, .. } => cmd::run::run(&cli, auto_approve).await,
        Command::Status { json, ref db } => cmd::status::status(&cli, json, db.clone()),
        Command::Queue { ref db, ref action } => cmd::queue::queue(&cli, db.clone(), action),
        Command::Forget { ref phone, ref email, ref contact, all, include_undelivered, ref db } => cmd::forget::forget(
            &cli,
            phone.clone(),
            email.clone(),
            contact.clone(),
            all,
            include_undelivered,
            db.clone(),
        ),
        Command::Doctor { json, scope } => cmd::doctor::doctor(&cli, json, scope).await,
        Command::Diagnostics { ref out, ref db, include_logs, ref log_dir } => {
            let logs = include_logs.then(|| log_dir.clone().or_else(logs::default_dir)).flatten();
            cmd::doctor::diagnostics(&cli, out.clone(), db.clone(), logs).await
        }
        Command::Purge { yes, discard_undelivered, json } => {
            cmd::purge::purge(&cli, yes, discard_undelivered, json).await
        }
        Command::Login { cloud, auto_approve } => cmd::signin::login(&cli, cloud.into(), auto_approve).await,
        Command::Logout { cloud } => cmd::signin::logout(&cli, cloud.into()).await,
    };
    match result {
        Ok(code) => code,
        // A script tells "the configuration cannot be read" from a failed check.
        Err(e @ CliError::Config(_)) if coded => {
            fail(&e, json_out);
            ExitCode::from(companion::doctor::EXIT_CONFIG_UNREADABLE)
        }
        Err(e) => fail(&e, json_out),
    }
}

/// Says what went wrong on stderr (and as JSON on stdout when JSON was asked for), never nothing.
fn fail(e: &CliError, json_out: bool) -> ExitCode {
    eprintln!("companion: {e}");
    if json_out {
        let format = companion::doctor::REPORT_FORMAT;
        println!("{}", serde_json::json!({"format": format, "result": "error", "ok": false, "error": e.to_string()}));
    }
    ExitCode::FAILURE
}
