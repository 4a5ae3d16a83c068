//! Which proxy a connection goes through, decided once for HTTP and the notification socket: the
//! managed `network.proxy` (with its `no_proxy` list), else the system's settings (`HTTPS_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`; on Windows the Internet settings, on macOS the network settings), else none.
//! A PAC script is not evaluated: where one is used, IT sets `network.proxy` (see the IT guide).

use super::NetworkError;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use url::Url;

/// Where the proxy setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxySource {
    /// `network.proxy`.
    Managed,
    /// The environment or the operating system's settings.
    System,
    /// Proxies turned off (`network.system_proxy = false` and no `network.proxy`).
    Off,
}

/// The proxy decision for every outgoing connection.
pub struct ProxyRoute {
    matcher: Matcher,
    source: ProxySource,
    /// The managed proxy without its password, for logs and `doctor`.
    shown: Option<String>,
    /// The managed proxy's `Proxy-Authorization` (its user and password percent-decoded: a URL
    /// writes a space or an `@` in a password encoded).
    managed_auth: Option<http::HeaderValue>,
}

impl std::fmt::Debug for ProxyRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyRoute").field("source", &self.source).field("proxy", &self.shown).finish()
    }
}

/// A proxy a connection goes through.
pub struct ProxyHop {
    /// `host:port` of the proxy.
    pub authority: String,
    /// Whether the proxy itself is reached over TLS (`https://` proxy).
    pub tls: bool,
    /// `Proxy-Authorization` for a proxy that asks for a user and password.
    pub authorization: Option<http::HeaderValue>,
    /// The proxy URL (with the user and password only when they come from the system's settings;
    /// the managed ones travel as `authorization`).
    pub url: Url,
}

/// Checks a proxy URL: `http://` or `https://`, a host, a port.
pub fn parse_proxy(raw: &str) -> Result<Url, NetworkError> {
    let bad = |why: &str| NetworkError::Proxy(format!("`{}` {why}", redact(raw)));
    let url = Url::parse(raw).map_err(|_| bad("is not a URL (write it as http://host:port)"))?;
    // What corporate proxies speak; the notification socket tunnels through it with CONNECT.
    if url.scheme() != "http" {
        return Err(bad("is not an http:// proxy (https:// and SOCKS proxies are not supported)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("names no host"));
    }
    Ok(url)
}

/// A proxy URL without its password.
pub fn redact(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => "(unparsable proxy URL)".into(),
    }
}

/// `Basic` credentials from a proxy URL's user and password, percent-decoded.
fn basic_auth(url: &Url) -> Result<Option<http::HeaderValue>, NetworkError> {
    use base64::Engine;
    if url.username().is_empty() && url.password().is_none() {
        return Ok(None);
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let pair = format!("{}:{}", decode(url.username()), decode(url.password().unwrap_or_default()));
    let mut value =
        http::HeaderValue::try_from(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
            .map_err(|_| NetworkError::Proxy("the proxy's user or password cannot be sent".into()))?;
    value.set_sensitive(true);
    Ok(Some(value))
}

impl ProxyRoute {
    pub fn new(proxy: Option<&str>, no_proxy: &[String], system: bool) -> Result<ProxyRoute, NetworkError> {
        match proxy {
            Some(raw) => {
                let mut url = parse_proxy(raw)?;
                let managed_auth = basic_auth(&url)?;
                let _ = url.set_username("");
                let _ = url.set_password(None);
                let matcher = Matcher::builder().all(url.to_string()).no(no_proxy.join(",")).build();
                Ok(ProxyRoute { matcher, source: ProxySource::Managed, shown: Some(redact(raw)), managed_auth })
            }
            None if system => Ok(ProxyRoute {
                matcher: Matcher::from_system(),
                source: ProxySource::System,
                shown: None,
                managed_auth: None,
            }),
            None => Ok(ProxyRoute {
                matcher: Matcher::builder().build(),
                source: ProxySource::Off,
                shown: None,
                managed_auth: None,
            }),
        }
    }

    /// The managed proxy's sign-in, for the HTTP client.
    pub fn managed_auth(&self) -> Option<http::HeaderValue> {
        self.managed_auth.clone()
    }

    pub fn source(&self) -> ProxySource {
        self.source
    }

    /// The proxy for a URL (`ws`/`wss` are matched as `http`/`https`), or `None` for a direct connection.
    pub fn hop(&self, target: &Url) -> Option<ProxyHop> {
        let scheme = match target.scheme() {
            "wss" | "https" => "https",
            "ws" | "http" => "http",
            _ => return None,
        };
        let host = target.host_str()?;
        let port = target.port_or_known_default()?;
        let uri: http::Uri = format!("{scheme}://{host}:{port}/").parse().ok()?;
        let intercept: Intercept = self.matcher.intercept(&uri)?;
        let proxy = intercept.uri();
        let tls = proxy.scheme_str() == Some("https");
        let authority = proxy.authority()?;
        let authority = match authority.port_u16() {
            Some(_) => authority.to_string(),
            None => format!("{}:{}", authority.host(), if tls { 443 } else { 80 }),
        };
        let mut url = Url::parse(&format!("{}://{authority}", if tls { "https" } else { "http" })).ok()?;
        if self.managed_auth.is_none()
            && let Some((user, password)) = intercept.raw_auth()
        {
            let _ = url.set_username(user);
            let _ = url.set_password(Some(password));
        }
        let authorization = self.managed_auth.clone().or_else(|| intercept.basic_auth().cloned());
        Some(ProxyHop { authority, tls, authorization, url })
    }

    /// One line for `doctor` and the log: which proxy, from where (never the password).
    pub fn describe(&self) -> String {
        match (self.source, &self.shown) {
            (ProxySource::Managed, Some(p)) => format!("through {p} (network.proxy)"),
            (ProxySource::System, _) => "as the system's proxy settings say (direct where none is set)".into(),
            _ => "direct (proxies turned off)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(proxy: &str, no: &[&str]) -> ProxyRoute {
        ProxyRoute::new(Some(proxy), &no.iter().map(|s| s.to_string()).collect::<Vec<_>>(), true).unwrap()
    }

    #[test]
    fn a_managed_proxy_carries_its_sign_in_and_spares_the_no_proxy_hosts() {
        let r = route("http://agent:s3cret@proxy.corp.example:3128", &[".corp.example", "10.0.0.0/8"]);
        let hop = r.hop(&Url::parse("wss://streaming.mypurecloud.com/channels/x").unwrap()).unwrap();
        assert_eq!(hop.authority, "proxy.corp.example:3128");
        assert!(!hop.tls);
        // Basic agent:s3cret
        assert_eq!(hop.authorization.unwrap().to_str().unwrap(), "Basic YWdlbnQ6czNjcmV0");
        assert_eq!(hop.url.password(), None, "the managed sign-in travels as the header only");
        let spaced = route("http://agent:pass%20w%40rd@proxy:3128", &[]);
        let hop = spaced.hop(&Url::parse("https://api.mypurecloud.com").unwrap()).unwrap();
        // Basic agent:pass w@rd
        assert_eq!(hop.authorization.unwrap().to_str().unwrap(), "Basic YWdlbnQ6cGFzcyB3QHJk");
        assert!(r.hop(&Url::parse("https://crm.corp.example/x").unwrap()).is_none());
        assert!(r.hop(&Url::parse("http://10.1.2.3/").unwrap()).is_none());
        assert!(r.describe().contains("***") && !r.describe().contains("s3cret"));
    }

    #[test]
    fn a_proxy_without_a_port_gets_its_schemes_default() {
        let r = route("http://proxy.corp.example", &[]);
        assert_eq!(
            r.hop(&Url::parse("https://api.mypurecloud.com").unwrap()).unwrap().authority,
            "proxy.corp.example:80"
        );
    }

    #[test]
    fn bad_proxies_are_refused_with_the_reason_and_no_password() {
        for (raw, why) in
            [("proxy:3128", "not"), ("socks5://p:1080", "not an http://"), ("https://p:443", "not an http://")]
        {
            let e = ProxyRoute::new(Some(raw), &[], true).unwrap_err().to_string();
            assert!(e.contains(why), "{raw}: {e}");
        }
        let e = ProxyRoute::new(Some("socks5://u:pw@p:1080"), &[], true).unwrap_err().to_string();
        assert!(!e.contains("pw@"), "{e}");
    }

    #[test]
    fn with_proxies_off_everything_is_direct() {
        let r = ProxyRoute::new(None, &[], false).unwrap();
        assert!(r.hop(&Url::parse("https://api.mypurecloud.com").unwrap()).is_none());
        assert_eq!(r.source(), ProxySource::Off);
    }
}
