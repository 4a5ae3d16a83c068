//! Start at login: the user's login item, added or removed at every start to match
//! `desktop.autostart` (so a managed, locked key decides it for the whole fleet). Linux uses an XDG
//! autostart entry, macOS a LaunchAgent, Windows the user's `Run` registry value.

use std::path::{Path, PathBuf};

/// The name of the login item in each OS's list.
const NAME: &str = "agent-companion";
/// The LaunchAgent label (the bundle identifier).
const LABEL: &str = crate::APP_IDENTIFIER;

/// What reconciling the login item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutostartChange {
    Added,
    Updated,
    Removed,
    Unchanged,
}

/// Makes the login item match `enabled` for the program at `exe`, in this OS's place.
pub fn apply(enabled: bool, exe: &Path) -> std::io::Result<AutostartChange> {
    #[cfg(windows)]
    {
        windows_run_key(enabled, exe)
    }
    #[cfg(not(windows))]
    {
        let (path, contents) = if cfg!(target_os = "macos") {
            let dir = dirs::home_dir().ok_or_else(no_home)?.join("Library/LaunchAgents");
            (dir.join(format!("{LABEL}.plist")), launch_agent(exe))
        } else {
            (xdg_autostart_dir().ok_or_else(no_home)?.join(format!("{NAME}.desktop")), desktop_entry(exe))
        };
        apply_file(enabled, &path, &contents)
    }
}

/// Where XDG login items live: `$XDG_CONFIG_HOME/autostart`.
pub fn xdg_autostart_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("autostart"))
}

#[cfg_attr(windows, allow(dead_code))]
fn no_home() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, "no home directory")
}

/// Writes (or removes) a login-item file so it holds exactly `contents` when enabled.
pub fn apply_file(enabled: bool, path: &Path, contents: &str) -> std::io::Result<AutostartChange> {
    let current = match std::fs::read_to_string(path) {
        Ok(c) => Some(c),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    match (enabled, current) {
        (true, Some(c)) if c == contents => Ok(AutostartChange::Unchanged),
        (true, had) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, contents)?;
            Ok(if had.is_some() { AutostartChange::Updated } else { AutostartChange::Added })
        }
        (false, Some(_)) => {
            std::fs::remove_file(path)?;
            Ok(AutostartChange::Removed)
        }
        (false, None) => Ok(AutostartChange::Unchanged),
    }
}

/// An XDG autostart entry (Desktop Entry Specification; `Exec` quoted and escaped as it requires).
pub fn desktop_entry(exe: &Path) -> String {
    let mut quoted = String::from("\"");
    for ch in exe.to_string_lossy().chars() {
        match ch {
            '"' | '`' | '$' | '\\' => {
                quoted.push('\\');
                quoted.push(ch);
            }
            '%' => quoted.push_str("%%"),
            '\n' | '\r' => {}
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    format!(
        "[Desktop Entry]\nType=Application\nName=Agent Companion\nComment=Screen pops and wrap-ups for Genesys Cloud and \
         Salesforce\nExec={quoted}\nIcon=agent-companion\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
    )
}

/// A LaunchAgent that starts the app once at login.
pub fn launch_agent(exe: &Path) -> String {
    let escaped =
        exe.to_string_lossy().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n  \
         <key>Label</key><string>{LABEL}</string>\n  <key>ProgramArguments</key><array><string>{escaped}</string></array>\n  \
         <key>RunAtLoad</key><true/>\n</dict>\n</plist>\n"
    )
}

/// The `HKCU\…\Run` value, written through the registry API (no `reg.exe`: no console flashes, and
/// the GPO that blocks registry tools does not stop it).
#[cfg(windows)]
fn windows_run_key(enabled: bool, exe: &Path) -> std::io::Result<AutostartChange> {
    use winreg::RegKey;
    use winreg::enums::HKEY_CURRENT_USER;
    const KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";
    let (run, _) = RegKey::predef(HKEY_CURRENT_USER).create_subkey(KEY)?;
    let want = format!("\"{}\"", exe.display());
    let have: Option<String> = match run.get_value::<String, _>(NAME) {
        Ok(v) => Some(v),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    match (enabled, have) {
        (true, Some(h)) if h == want => Ok(AutostartChange::Unchanged),
        (true, had) => {
            run.set_value(NAME, &want)?;
            Ok(if had.is_some() { AutostartChange::Updated } else { AutostartChange::Added })
        }
        (false, Some(_)) => {
            run.delete_value(NAME)?;
            Ok(AutostartChange::Removed)
        }
        (false, None) => Ok(AutostartChange::Unchanged),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_item_follows_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("autostart").join("agent-companion.desktop");
        let entry = desktop_entry(Path::new("/usr/bin/agent-companion"));
        assert_eq!(apply_file(false, &path, &entry).unwrap(), AutostartChange::Unchanged);
        assert!(!path.exists());
        assert_eq!(apply_file(true, &path, &entry).unwrap(), AutostartChange::Added);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), entry);
        assert_eq!(apply_file(true, &path, &entry).unwrap(), AutostartChange::Unchanged);
        // The program moved (a reinstall elsewhere): the entry follows it.
        let moved = desktop_entry(Path::new("/opt/agent-companion/agent-companion"));
        assert_eq!(apply_file(true, &path, &moved).unwrap(), AutostartChange::Updated);
        assert_eq!(apply_file(false, &path, &moved).unwrap(), AutostartChange::Removed);
        assert!(!path.exists());
    }

    #[test]
    fn odd_install_paths_are_quoted_and_escaped() {
        let e = desktop_entry(Path::new("/opt/My \"Apps\"/$HOME/100%/agent-companion"));
        assert!(e.contains("Exec=\"/opt/My \\\"Apps\\\"/\\$HOME/100%%/agent-companion\"\n"), "{e}");
        let p = launch_agent(Path::new("/Applications/A&B <x>.app/Contents/MacOS/agent-companion"));
        assert!(
            p.contains("<string>/Applications/A&amp;B &lt;x&gt;.app/Contents/MacOS/agent-companion</string>"),
            "{p}"
        );
        assert!(p.contains("<key>RunAtLoad</key><true/>"));
    }
}

/// The program a login item should start: the AppImage file when this is one (it runs from a new
/// mount point each time), else this executable. `APPIMAGE` is only believed when this executable
/// really runs from an AppImage mount and it names an existing `.AppImage` file; anyone can set the
/// variable, and a login item must not start a program of their choosing.
pub fn login_program() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(appimage_or(&exe, std::env::var_os("APPIMAGE").map(PathBuf::from)).unwrap_or(exe))
}

fn appimage_or(exe: &std::path::Path, appimage: Option<PathBuf>) -> Option<PathBuf> {
    let mounted = exe.to_string_lossy().contains("/.mount_");
    appimage.filter(|a| {
        mounted && a.is_absolute() && a.is_file() && a.extension().is_some_and(|e| e.eq_ignore_ascii_case("appimage"))
    })
}

#[cfg(test)]
mod appimage_tests {
    use super::*;

    #[test]
    fn appimage_is_believed_only_from_an_appimage_mount_and_for_an_appimage_file() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("Agent_Companion.AppImage");
        std::fs::write(&image, b"x").unwrap();
        let mounted = PathBuf::from("/tmp/.mount_AgentCabc/usr/bin/agent-companion");
        let installed = PathBuf::from("/usr/bin/agent-companion");
        assert_eq!(appimage_or(&mounted, Some(image.clone())), Some(image.clone()));
        assert_eq!(appimage_or(&installed, Some(image.clone())), None, "not running from an AppImage");
        let script = dir.path().join("evil.sh");
        std::fs::write(&script, b"x").unwrap();
        assert_eq!(appimage_or(&mounted, Some(script)), None, "not an AppImage");
        assert_eq!(appimage_or(&mounted, Some(dir.path().join("missing.AppImage"))), None);
        assert_eq!(appimage_or(&mounted, None), None);
    }
}
