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
    use companion::genesys::tracker::SegmentKind;
    use companion::screenpop::{PopDecision, PopOutcome, PopSource};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// The first characters of an interaction id, for a line a person reads: the conversation's and
    /// the segment's, so two segments of one conversation differ (ids are not always ASCII).
    fn short_id(id: &str) -> String {
        let (conversation, segment) = id.split_once(':').unwrap_or((id, ""));
        let c: String = conversation.chars().take(8).collect();
        let p: String = segment.chars().take(4).collect();
        if p.is_empty() { c } else { format!("{c}/{p}") }
    }

    /// Prints pops (and, with `--json`, every event) as they happen.
    struct DemoPrinter {
        json: bool,
        lines: JsonLines,
        /// How each segment reached the agent, from its first event, for the pop's line.
        kinds: Mutex<HashMap<String, SegmentKind>>,
    }

    fn describe(d: &PopDecision) -> String {
        let how = |c: &companion::screenpop::Candidate| {
            let org = c.account_name.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
            let norm = if c.exact_format { "" } else { ", after normalising" };
            format!("{} {}{org} — {}{norm}", c.object, c.name, c.matched_field)
        };
        match &d.outcome {
            PopOutcome::Attribute { record_id, object, identified_by: Some(by), .. } => {
                format!("identified by {by} earlier in the call: {} {record_id}", object.as_deref().unwrap_or("record"))
            }
            PopOutcome::Attribute { record_id, object, attribute, identified_by: None, .. } => {
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
                EngineEvent::Call { interaction_id, kind, .. } => {
                    self.kinds.lock().unwrap_or_else(|e| e.into_inner()).entry(interaction_id.clone()).or_insert(*kind);
                }
                EngineEvent::Pop(d) => {
                    let kind = self
                        .kinds
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&d.interaction_id)
                        .map_or("", |k| k.as_str());
                    let src = match d.source {
                        PopSource::Cache => format!("cache, {} s old", d.cache_age_secs.unwrap_or(0)),
                        PopSource::Search => "Salesforce search".into(),
                        PopSource::Attribute => "conversation attribute".into(),
                        PopSource::None => "no lookup".into(),
                    };
                    println!(
                        "{}  {:<13} {:<13} {:<13} {:<12} {:>8.2} ms  [{src}]  {}",
                        chrono::Local::now().format("%H:%M:%S%.3f"),
                        short_id(&d.interaction_id),
                        kind,
                        d.address.as_deref().unwrap_or("—"),
                        d.outcome.label(),
                        d.elapsed_us as f64 / 1000.0,
                        describe(d)
                    );
                }
                EngineEvent::DispositionQueued { interaction_id, code, version } => {
                    let edit = if *version > 1 { format!(" (edit {version})") } else { String::new() };
                    println!(
                        "{}  {:<13} disposition queued: {code}{edit}",
                        chrono::Local::now().format("%H:%M:%S%.3f"),
                        short_id(interaction_id)
                    );
                }
                EngineEvent::DispositionDelivered { interaction_id, salesforce_id } => {
                    println!(
                        "{}  {:<13} disposition in Salesforce ({})",
                        chrono::Local::now().format("%H:%M:%S%.3f"),
                        short_id(interaction_id),
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
                "Starting the simulator, signing in to both clouds (authorization code + PKCE), running {} calls \
                 (with transfers, consults, outbound calls and callbacks)…",
                opts.calls
            );
        }
        let opts = DemoOptions { flags: cli.set.clone(), ..opts };
        let printer =
            Arc::new(DemoPrinter { json: json_out, lines: JsonLines::default(), kinds: Mutex::new(HashMap::new()) });
        let report = companion::demo::run(opts, Some(printer)).await?;
        if !json_out {
            println!();
        }
        println!("{}", report.summary());
        Ok(if report.missed_segments() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn a_short_id_is_cut_by_characters_not_bytes() {
            assert_eq!(super::short_id("é-€-漢字-conversation"), "é-€-漢字-c");
            assert_eq!(super::short_id("ab"), "ab");
            assert_eq!(super::short_id("0123456789:abcdefgh"), "01234567/abcd", "segments of one conversation differ");
        }
    }
}
