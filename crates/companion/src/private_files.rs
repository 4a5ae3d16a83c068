//! Files the app writes are the agent's alone: its folders `0700`, its files `0600`, whatever the
//! umask, so on a shared machine another user can read neither the database (call history, notes),
//! nor the logs, nor an exported bundle. Elsewhere than Unix the per-user folders are private already.

use std::io;
use std::path::Path;

/// Makes every file this process creates from now on private (umask `077`). Programs call it first.
pub fn restrict_umask() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

/// Creates a folder (and its parents) and makes the folder itself `0700`.
pub fn dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)?;
    set_mode(path, 0o700)
}

/// Creates a file if absent, and makes it `0600` (an existing one from an earlier version too).
pub fn file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    set_mode(path, 0o600)
}

/// Writes a whole file that only its owner can read.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    file(path)?;
    std::fs::write(path, bytes)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_are_0700_and_files_0600_even_if_they_were_open_before() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("a").join("b");
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        let f = d.join("x.json");
        std::fs::write(&f, b"{}").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&f, b"{\"a\":1}").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read(&f).unwrap(), b"{\"a\":1}");
    }
}
