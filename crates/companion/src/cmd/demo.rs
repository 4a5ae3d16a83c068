//! `companion demo`: the simulator in-process, a sign-in against it, a scenario of calls, every pop
//! printed and a summary. Only in builds with the `demo` feature; others say so.

#![cfg_attr(not(feature = "demo"), allow(unused_imports))]

use super::{Cli, CliError};
use std::process::ExitCode;

/// What `companion demo` runs.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub struct DemoArgs {
    pub calls: u32,
    pub seed: u64,
    pub rate: f64,
    pub speed: f64,
    pub json: bool,
    pub data_dir: Option<std::path::PathBuf>,
}

/// A build without the simulator has no demo.
#[cfg(not(feature = "demo"))]
pub async fn demo(_cli: &Cli, _args: DemoArgs) -> Result<ExitCode, CliError> {
    Err(CliError::Usage(super::NO_DEMO.into()))
}

#[cfg(feature = "demo")]
pub use with_simulator::demo;

#[cfg(feature = "demo")]
mod with_simulator {
    use super::{Cli, CliError, DemoArgs, ExitCode};
    use companion::demo::DemoOptions;
    use companion::events::{EngineEvent, EventSink, JsonLines};
    use companion::screenpop::{PopDecision, PopOutcome, PopSource};
    use std::sync::Arc;

    /// The first characters of an id, for a line a person reads (ids are not always ASCII).
    fn short_id(id: &str) -> String {
        id.chars().take(8).collect()
    }

    /// Prints pops (and, with `--json`, every event) as they happen.
    struct DemoPrinter {
        json: bool,
        lines: JsonLines,
    }

    fn describe(d: &PopDecision) -> String {
        let how = |c: &companion::screenpop::Candidate| {
            let org = c.account_name.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
            let norm = if c.exact_format { "" } else { ", after normalising" };
            format!("{} {}{org} — {}{norm}", c.object, c.name, c.matched_field)
        };
        match &d.outcome {
            PopOutcome::Attribute { record_id, object, attribute } => {
                format!("identified by the IVR ({attribute}): {} {record_id}", object.as_deref().unwrap_or("record"))
            }
            PopOutcome::Single { candidate } => how(candidate),
            PopOutcome::Multiple { candidates } => format!(
                "{} matches, picker: {}",
                candidates.len(),
                candidates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
            PopOutcome::NoMatch => "nobody has this number: manual search".into(),
            PopOutcome::NoNumber { reason } => format!("no number ({reason:?}): manual search"),
            PopOutcome::Unavailable { reason, .. } => reason.clone(),
        }
    }

    impl EventSink for DemoPrinter {
        fn emit(&self, event: &EngineEvent) {
            if self.json {
                return self.lines.emit(event);
            }
            match event {
                EngineEvent::Pop(d) => {
                    let src = match d.source {
                        PopSource::Cache => format!("cache, {} s old", d.cache_age_secs.unwrap_or(0)),
                        PopSource::Search => "Salesforce search".into(),
                        PopSource::Attribute => "IVR attribute".into(),
                        PopSource::None => "no lookup".into(),
                    };
                    println!(
                        "{}  {:<8} {:<13} {:<12} {:>8.2} ms  [{src}]  {}",
                        chrono::Local::now().format("%H:%M:%S%.3f"),
                        short_id(&d.conversation_id),
                        d.e164.as_deref().unwrap_or("—"),
                        d.outcome.label(),
                        d.elapsed_us as f64 / 1000.0,
                        describe(d)
                    );
                }
                EngineEvent::DispositionQueued { conversation_id, code, version } => {
                    let edit = if *version > 1 { format!(" (edit {version})") } else { String::new() };
                    println!(
                        "{}  {:<8} disposition queued: {code}{edit}",
                        chrono::Local::now().format("%H:%M:%S%.3f"),
                        short_id(conversation_id)
                    );
                }
                EngineEvent::DispositionDelivered { conversation_id, salesforce_id } => {
                    println!(
                        "{}  {:<8} disposition in Salesforce ({})",
                        chrono::Local::now().format("%H:%M:%S%.3f"),
                        short_id(conversation_id),
                        salesforce_id.as_deref().unwrap_or("updated")
                    );
                }
                EngineEvent::Problem { message, .. } => println!("problem: {message}"),
                EngineEvent::Connection { state } => {
                    let name = serde_json::to_value(state)
                        .ok()
                        .and_then(|v| v["state"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    println!("connection: {name}");
                }
                _ => {}
            }
        }
    }

    pub async fn demo(cli: &Cli, args: DemoArgs) -> Result<ExitCode, CliError> {
        let json_out = args.json;
        let opts = DemoOptions {
            calls: args.calls,
            seed: args.seed,
            rate_per_min: args.rate,
            speed: args.speed,
            data_dir: args.data_dir,
            ..DemoOptions::default()
        };
        if !json_out {
            println!(
                "Starting the simulator, signing in to both clouds (authorization code + PKCE), running {} calls…",
                opts.calls
            );
        }
        let opts = DemoOptions { flags: cli.set.clone(), ..opts };
        let printer = Arc::new(DemoPrinter { json: json_out, lines: JsonLines::default() });
        let report = companion::demo::run(opts, Some(printer)).await?;
        if !json_out {
            println!();
        }
        println!("{}", report.summary());
        Ok(if report.missed_calls() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn a_short_id_is_cut_by_characters_not_bytes() {
            assert_eq!(super::short_id("é-€-漢字-conversation"), "é-€-漢字-c");
            assert_eq!(super::short_id("ab"), "ab");
        }
    }
}
