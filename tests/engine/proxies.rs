//! Real corporate-network middleboxes from Debian's packages, started for one test each: squid as an
//! authenticating forward proxy, mitmproxy as a TLS-inspecting proxy with its own CA. `scripts/test.sh`
//! installs both; each is stopped when its handle drops.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A proxy process and its folder.
pub struct Proxy {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn need(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(program)).find(|p| p.exists()))
        .unwrap_or_default();
    found.unwrap_or_else(|| panic!("{program} is not installed: `apt-get install {package}` (scripts/test.sh does)"))
}

/// Waits until the proxy accepts connections, or fails with its log.
fn wait_listening(child: &mut Child, port: u16, log: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the proxy exited ({status}): {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the proxy did not listen in 30 s: {}", std::fs::read_to_string(log).unwrap_or_default());
}

/// A folder the proxy's own user can read (squid drops root for `proxy`).
fn shared_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// squid asking for `user`/`password` (Basic), resolving names only from `hosts` (`address name`
/// lines): a name the app cannot reach directly is reached through it.
pub fn squid(user: &str, password: &str, hosts: &str) -> Proxy {
    let squid = need("squid", "squid");
    let dir = shared_dir();
    let d = dir.path();
    let port = free_port();
    let hash = Command::new("openssl").args(["passwd", "-1", password]).output().unwrap();
    assert!(hash.status.success(), "openssl passwd");
    write(&d.join("passwords"), &format!("{user}:{}", String::from_utf8_lossy(&hash.stdout)));
    write(&d.join("hosts"), hosts);
    let running_as_root = rustix_uid_is_root();
    let conf = format!(
        "http_port 127.0.0.1:{port}\n\
         pid_filename {d}/squid.pid\n\
         cache_log {d}/cache.log\n\
         access_log stdio:{d}/access.log squid\n\
         cache deny all\n\
         cache_mem 8 MB\n\
         hosts_file {d}/hosts\n\
         dns_nameservers 127.0.0.1\n\
         {effective}\
         coredump_dir {d}\n\
         shutdown_lifetime 0 seconds\n\
         auth_param basic program /usr/lib/squid/basic_ncsa_auth {d}/passwords\n\
         auth_param basic realm corporate-proxy-test\n\
         acl signed_in proxy_auth REQUIRED\n\
         http_access allow signed_in\n\
         http_access deny all\n",
        d = d.display(),
        effective = if running_as_root { "cache_effective_user proxy\n" } else { "" },
    );
    write(&d.join("squid.conf"), &conf);
    let log = d.join("cache.log");
    // `-n`: a service name of its own, so squids of parallel tests share no memory segments.
    let name = format!("companiontest{port}");
    let mut child = Command::new(squid)
        .args(["-N", "-n", &name, "-f"])
        .arg(d.join("squid.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(d.join("stderr.log")).unwrap()))
        .spawn()
        .unwrap();
    wait_listening(&mut child, port, &log);
    Proxy { child, dir, port }
}

/// mitmproxy terminating every TLS connection with certificates from its own CA (made at start, in its
/// folder) and trusting `upstream_ca` for the servers behind it.
pub fn mitmproxy(upstream_ca: &Path) -> Proxy {
    let mitmdump = need("mitmdump", "mitmproxy");
    let dir = shared_dir();
    let d = dir.path();
    let port = free_port();
    let log = d.join("mitmdump.log");
    let mut child = Command::new(mitmdump)
        .args(["--listen-host", "127.0.0.1", "--listen-port", &port.to_string(), "--set"])
        .arg(format!("confdir={}", d.display()))
        .arg("--set")
        .arg(format!("ssl_verify_upstream_trusted_ca={}", upstream_ca.display()))
        .args(["--set", "flow_detail=1"])
        .env("HOME", d)
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(d.join("stderr.log")).unwrap()))
        .spawn()
        .unwrap();
    wait_listening(&mut child, port, &log);
    Proxy { child, dir, port }
}

impl Proxy {
    /// mitmproxy's CA certificate (what IT deploys to the desktops' trust store).
    pub fn mitm_ca(&self) -> PathBuf {
        self.dir.path().join("mitmproxy-ca-cert.pem")
    }

    /// squid's access log, or mitmproxy's flow log.
    pub fn log(&self) -> String {
        ["access.log", "mitmdump.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect()
    }
}

fn rustix_uid_is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}
