//! Log files: daily-rotated, seven kept, in the per-OS log directory. Shared by `companion run` and
//! the desktop app so IT finds both in one place. Nothing logged carries a token (every type holding
//! one hides it from `Debug`) or caller data beyond ids.

use std::path::{Path, PathBuf};

/// How many daily files are kept.
pub const KEPT_FILES: usize = 7;

/// The per-OS log directory: `~/Library/Logs/AgentCompanion` on macOS, `%LOCALAPPDATA%\AgentCompanion\logs`
/// on Windows, `$XDG_STATE_HOME/agent-companion/logs` (or `~/.local/state/…`) elsewhere.
/// None without a home: logs then go to stderr only, never to a shared folder such as `/tmp`.
pub fn default_dir() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        dirs::home_dir().map(|h| h.join("Library/Logs").join(crate::APP_FOLDER))
    } else if cfg!(target_os = "windows") {
        dirs::data_local_dir().map(|d| d.join(crate::APP_FOLDER).join("logs"))
    } else {
        dirs::state_dir().or_else(dirs::data_local_dir).map(|d| d.join(crate::APP_FOLDER).join("logs"))
    }
}

/// Installs the process's logger: stderr at `stderr_level`, plus `<prefix>.<date>.log` files in `dir`
/// at `info` when a directory is given. `COMPANION_LOG` overrides both levels. A directory that cannot
/// be written is reported on stderr and the program goes on without files.
pub fn init(dir: Option<&Path>, prefix: &str, stderr_level: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let asked = std::env::var("COMPANION_LOG").ok();
    let level = |default: &str| EnvFilter::new(directives(asked.as_deref(), default));
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(level(stderr_level));
    let file = dir.and_then(|d| match appender(d, prefix) {
        Ok(a) => Some(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(a).with_filter(level("info"))),
        Err(e) => {
            eprintln!("{prefix}: cannot write logs to {}: {e}", d.display());
            None
        }
    });
    tracing_subscriber::registry().with(stderr).with(file).init();
}

/// The filter for a `COMPANION_LOG` value: a level (`debug`, `trace`, …) for this app's own code only.
/// Other crates stay at `warn` whatever is asked: their debug and trace lines carry request URLs and
/// raw frames (numbers, tokens in query strings). A value that is not a level is ignored.
pub fn directives(companion_log: Option<&str>, default: &str) -> String {
    match companion_log.and_then(|v| v.trim().parse::<tracing::Level>().ok()) {
        Some(level) => {
            let level = level.to_string().to_ascii_lowercase();
            format!("warn,companion={level},agent_companion={level}")
        }
        None => default.to_string(),
    }
}

fn appender(dir: &Path, prefix: &str) -> Result<tracing_appender::rolling::RollingFileAppender, String> {
    // The appender prunes old files by listing the directory: it must exist first. It is the agent's
    // alone, so no other user can read the logs in it.
    crate::private_files::dir(dir).map_err(|e| e.to_string())?;
    tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(prefix)
        .filename_suffix("log")
        .max_log_files(KEPT_FILES)
        .build(dir)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companion_log_raises_only_this_apps_own_level() {
        assert_eq!(directives(Some("debug"), "warn"), "warn,companion=debug,agent_companion=debug");
        assert_eq!(directives(Some(" TRACE "), "warn"), "warn,companion=trace,agent_companion=trace");
        // A dependency's trace logs carry URLs and frames: not to be turned on from here.
        assert_eq!(directives(Some("reqwest=trace,tungstenite=trace"), "warn,companion=info"), "warn,companion=info");
        assert_eq!(directives(None, "warn"), "warn");
    }
}
