//! Release notices. The app reads a release manifest (Tauri's static updater JSON) and tells the agent
//! when a newer version is out; it installs nothing itself. IT turns the notices off with the managed
//! key `updates.prompts = false` when its software distribution delivers releases.

use crate::config::UpdatesConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest release notes shown; a manifest may carry a whole changelog.
const MAX_NOTES: usize = 2_000;

/// A published release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// Its version, without a leading `v`.
    pub version: String,
    /// What changed, as the publisher wrote it (plain text, shortened).
    pub notes: String,
    /// When it was published (RFC 3339), if the manifest says.
    pub pub_date: Option<String>,
}

/// Why the feed gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The configured feed is not https (nor http on loopback).
    #[error("`{0}` is not an https URL (http is accepted on loopback only)")]
    InsecureFeed(String),
    /// The feed could not be reached; the next check tries again.
    #[error("the release feed could not be read: {0}")]
    Unreachable(String),
    /// The feed answered with an error status.
    #[error("the release feed answered HTTP {0}")]
    Status(u16),
    /// The feed's answer is not a release manifest.
    #[error("the release feed is not a release manifest: {0}")]
    BadManifest(String),
}

impl UpdateError {
    /// True when trying again later may work.
    pub fn is_retryable(&self) -> bool {
        matches!(self, UpdateError::Unreachable(_)) || matches!(self, UpdateError::Status(s) if *s >= 500 || *s == 429)
    }
}

/// The feed URL, when it is acceptable: https, or http on a loopback address.
pub fn feed_url(url: &str) -> Result<reqwest::Url, UpdateError> {
    let insecure = || UpdateError::InsecureFeed(url.to_string());
    let u = reqwest::Url::parse(url).map_err(|_| insecure())?;
    let host = u.host_str().ok_or_else(insecure)?;
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(insecure()),
    }
}

#[derive(Deserialize)]
struct Manifest {
    version: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    pub_date: Option<String>,
}

/// Reads a manifest: `{"version": "1.2.0", "notes": "…", "pub_date": "…", "platforms": {…}}`.
pub fn parse_manifest(body: &[u8]) -> Result<Release, UpdateError> {
    let m: Manifest = serde_json::from_slice(body).map_err(|e| UpdateError::BadManifest(e.to_string()))?;
    let version = parse_version(&m.version)
        .ok_or_else(|| UpdateError::BadManifest(format!("`{}` is not a version such as 1.2.0", m.version)))?;
    let notes: String = m.notes.unwrap_or_default().chars().filter(|c| !c.is_control() || *c == '\n').collect();
    let notes = match notes.char_indices().nth(MAX_NOTES) {
        Some((cut, _)) => format!("{}…", &notes[..cut]),
        None => notes,
    };
    Ok(Release { version: version.to_string(), notes, pub_date: m.pub_date })
}

/// `1.2.3`, `v1.2.3`, `1.2.3-beta.1`.
pub fn parse_version(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v.trim().strip_prefix('v').unwrap_or(v.trim())).ok()
}

/// True when the release is newer than the running version (pre-releases order before their release).
pub fn is_newer(release: &Release, current: &str) -> bool {
    match (parse_version(&release.version), parse_version(current)) {
        (Some(r), Some(c)) => r > c,
        _ => false,
    }
}

/// Reads the feed and returns the release when it is newer than `current`. Nothing is read when
/// notices are off or no feed is configured; a feed with nothing published (404) is no release.
pub async fn check(http: &reqwest::Client, cfg: &UpdatesConfig, current: &str) -> Result<Option<Release>, UpdateError> {
    let Some(feed) = cfg.feed_url.as_deref().filter(|_| cfg.prompts) else {
        return Ok(None);
    };
    let url = feed_url(feed)?;
    let resp = http
        .get(url)
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| UpdateError::Unreachable(crate::net::explain(&e.without_url())))?;
    match resp.status().as_u16() {
        200 => {}
        404 => return Ok(None),
        s => return Err(UpdateError::Status(s)),
    }
    // A release manifest is a few KiB.
    let body =
        crate::http_body::read_capped(resp, MAX_MANIFEST).await.map_err(|e| UpdateError::Unreachable(e.to_string()))?;
    let release = parse_manifest(&body)?;
    Ok(is_newer(&release, current).then_some(release))
}

/// The largest release manifest read.
const MAX_MANIFEST: usize = 256 << 10;

/// The client the feed is read with: a redirect must stay as safe as the feed itself (https, or http
/// on loopback), so an https feed can never be bounced to plain http.
pub fn feed_client(network: &crate::net::Network) -> Result<reqwest::Client, UpdateError> {
    network
        .builder()
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if feed_url(attempt.url().as_str()).is_err() {
                attempt.error("a redirect to a plain-http address")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| UpdateError::Unreachable(e.to_string()))
}

/// Reads the release feed at start and then every `check_interval_hours`, handing each newer release
/// to `announce` once. No task at all when notices are off or no feed is set.
pub fn spawn_checks(
    cfg: &UpdatesConfig,
    network: crate::net::Network,
    current: &'static str,
    announce: impl Fn(Release) + Send + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    if !cfg.prompts || cfg.feed_url.is_none() {
        return None;
    }
    let cfg = cfg.clone();
    let every = Duration::from_secs(cfg.check_interval_hours.saturating_mul(3_600));
    Some(tokio::spawn(async move {
        let http = match feed_client(&network) {
            Ok(h) => h,
            Err(e) => return tracing::warn!(error = %e, "the release feed cannot be read"),
        };
        let mut known: Option<Release> = None;
        loop {
            match check(&http, &cfg, current).await {
                Ok(Some(release)) if known.as_ref() != Some(&release) => {
                    tracing::info!(version = %release.version, "a newer release is published");
                    known = Some(release.clone());
                    announce(release);
                }
                Ok(_) => {}
                Err(e) => tracing::info!(error = %e, retryable = e.is_retryable(), "release feed not read"),
            }
            tokio::time::sleep(every).await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_https_or_loopback_http_feeds_are_read() {
        assert!(feed_url("https://updates.example.com/agent-companion/latest.json").is_ok());
        assert!(feed_url("http://127.0.0.1:8080/latest.json").is_ok());
        assert!(feed_url("http://localhost/latest.json").is_ok());
        assert!(feed_url("http://[::1]:9/latest.json").is_ok());
        for bad in ["http://updates.example.com/latest.json", "file:///etc/passwd", "ftp://x/y", "latest.json", ""] {
            assert!(matches!(feed_url(bad), Err(UpdateError::InsecureFeed(_))), "{bad}");
        }
    }

    #[test]
    fn a_tauri_manifest_is_read_and_compared() {
        let body = br#"{"version":"v0.2.0","notes":"Faster pops.\u0007","pub_date":"2026-11-20T10:00:00Z",
            "platforms":{"linux-x86_64":{"signature":"","url":"https://example.com/a.AppImage"}}}"#;
        let r = parse_manifest(body).unwrap();
        assert_eq!(
            r,
            Release {
                version: "0.2.0".into(),
                notes: "Faster pops.".into(),
                pub_date: Some("2026-11-20T10:00:00Z".into())
            }
        );
        assert!(is_newer(&r, "0.1.0"));
        assert!(!is_newer(&r, "0.2.0"));
        assert!(!is_newer(&r, "0.10.0"));
        assert!(is_newer(&Release { version: "0.2.0".into(), ..r.clone() }, "0.2.0-beta.3"));
    }

    #[test]
    fn a_broken_manifest_is_a_clear_error() {
        for body in [&b"<html>"[..], br#"{"notes":"x"}"#, br#"{"version":"latest"}"#, br#"{"version":7}"#] {
            assert!(matches!(parse_manifest(body), Err(UpdateError::BadManifest(_))));
        }
        let long = format!(r#"{{"version":"1.0.0","notes":"{}"}}"#, "é".repeat(5_000));
        assert_eq!(parse_manifest(long.as_bytes()).unwrap().notes.chars().count(), MAX_NOTES + 1);
    }

    /// A one-shot HTTP server on loopback answering every request with `reply`.
    async fn serve(reply: String) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/latest.json", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(reply.as_bytes()).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn a_redirect_to_plain_http_and_a_huge_manifest_are_refused() {
        let network = crate::net::Network::new(&crate::config::NetworkConfig::default()).unwrap();
        let http = feed_client(&network).unwrap();
        let redirect =
            "HTTP/1.1 302 Found\r\nLocation: http://updates.example.com/latest.json\r\nContent-Length: 0\r\n\r\n";
        let cfg = |url: String| UpdatesConfig { feed_url: Some(url), ..UpdatesConfig::default() };
        let e = check(&http, &cfg(serve(redirect.into()).await), "0.1.0").await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("plain-http"), "{e}");
        let body = format!("{{\"version\":\"9.0.0\",\"notes\":\"{}\"}}", "x".repeat(MAX_MANIFEST));
        let huge = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let e = check(&http, &cfg(serve(huge).await), "0.1.0").await.unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
    }

    #[tokio::test]
    async fn nothing_is_read_when_notices_are_off_or_no_feed_is_set() {
        let http = reqwest::Client::new();
        // An unroutable feed would fail if it were read.
        let off =
            UpdatesConfig { prompts: false, feed_url: Some("http://127.0.0.1:9/x".into()), check_interval_hours: 24 };
        assert_eq!(check(&http, &off, "0.1.0").await.unwrap(), None);
        let none = UpdatesConfig { feed_url: None, ..UpdatesConfig::default() };
        assert_eq!(check(&http, &none, "0.1.0").await.unwrap(), None);
        let on = UpdatesConfig { feed_url: Some("http://127.0.0.1:9/x".into()), ..UpdatesConfig::default() };
        assert!(check(&http, &on, "0.1.0").await.unwrap_err().is_retryable());
    }

    proptest! {
        #[test]
        fn versions_order_like_their_numbers(a in (0u64..50, 0u64..50, 0u64..50), b in (0u64..50, 0u64..50, 0u64..50), v in any::<bool>()) {
            let r = Release { version: format!("{}{}.{}.{}", if v { "v" } else { "" }, a.0, a.1, a.2), notes: String::new(), pub_date: None };
            prop_assert_eq!(is_newer(&r, &format!("{}.{}.{}", b.0, b.1, b.2)), a > b);
        }

        #[test]
        fn any_manifest_body_gives_a_release_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_manifest(&body);
        }
    }
}
