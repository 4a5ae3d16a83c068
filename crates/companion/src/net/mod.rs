//! The network layer: every HTTP client and the notification socket are built here, so they share
//! one trust (the OS verifier plus managed extra CAs: `tls`) and one proxy decision (`proxy`), and a
//! failure in a corporate network is explained the same way wherever it happens (`explain`).

pub mod proxy;
pub mod socket;
pub mod tls;

use crate::config::NetworkConfig;
use proxy::ProxyRoute;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Why the network layer could not be set up.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NetworkError {
    #[error("the CA file {path} (network.extra_ca_files) cannot be used: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("network.proxy: {0}")]
    Proxy(String),
    #[error("no TLS configuration could be made: {0}")]
    Tls(String),
    #[error("no HTTPS client could be made: {0}")]
    Client(String),
}

/// The trust and proxy every connection of the app uses. Cheap to clone.
#[derive(Clone)]
pub struct Network {
    tls: Arc<rustls::ClientConfig>,
    proxy: Arc<ProxyRoute>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("proxy", &self.proxy).finish_non_exhaustive()
    }
}

/// How long a connection may take to open (a proxy that swallows packets fails in this time, not
/// the request's whole timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Network {
    /// The layer for a configuration: reads the extra CA files and the system's trust store once.
    pub fn new(cfg: &NetworkConfig) -> Result<Network, NetworkError> {
        let tls = tls::client_config(&cfg.extra_ca_files)?;
        let proxy = Arc::new(ProxyRoute::new(cfg.proxy.as_deref(), &cfg.no_proxy, cfg.system_proxy)?);
        let http = Self::builder_with(&tls, &proxy).build().map_err(|e| NetworkError::Client(e.to_string()))?;
        Ok(Network { tls, proxy, http })
    }

    fn builder_with(tls: &Arc<rustls::ClientConfig>, proxy: &Arc<ProxyRoute>) -> reqwest::ClientBuilder {
        let route = proxy.clone();
        let mut through = reqwest::Proxy::custom(move |url| route.hop(url).map(|hop| hop.url));
        if let Some(auth) = proxy.managed_auth() {
            through = through.custom_http_auth(auth);
        }
        reqwest::Client::builder()
            .use_preconfigured_tls((**tls).clone())
            // `no_proxy` first: it also stops reqwest from adding its own reading of the system's proxy.
            .no_proxy()
            .proxy(through)
            .connect_timeout(CONNECT_TIMEOUT)
    }

    /// The shared HTTP client (one connection pool for the app's cloud sessions).
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// A builder with the layer's trust and proxy, for a client with its own redirect or timeout policy.
    pub fn builder(&self) -> reqwest::ClientBuilder {
        Self::builder_with(&self.tls, &self.proxy)
    }

    /// The proxy decision.
    pub fn proxy(&self) -> &ProxyRoute {
        &self.proxy
    }
}

/// An error and its causes as one sentence, with what to do when the cause is a corporate network's:
/// a certificate from an authority this machine does not trust (TLS inspection) or a proxy asking
/// for a sign-in.
pub fn explain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![];
    let mut advice = None;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text.clone());
        }
        advice = advice.or_else(|| advice_for(e, &text));
        // `io::Error` hides the error it wraps from `source()`; look inside.
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            let inner_text = inner.to_string();
            advice = advice.or_else(|| advice_for(inner, &inner_text));
        }
        current = e.source();
    }
    let mut out = parts.join(": ");
    if let Some(a) = advice {
        out.push_str(". ");
        out.push_str(a);
    }
    out
}

const UNTRUSTED: &str = "The server's certificate was issued by an authority this computer does not trust: if a \
TLS-inspecting proxy (Zscaler, Netskope, Palo Alto, …) is in between, its CA certificate must be in the system's \
trust store or in network.extra_ca_files";
const PROXY_SIGN_IN: &str = "The proxy asks for a user and password: set them in network.proxy as \
http://user:password@host:port";
const CLOCK_OR_EXPIRED: &str =
    "The server's certificate is expired or not yet valid, or this computer's clock is wrong";
const WRONG_NAME: &str = "The certificate presented is not for this host: a proxy in between may be answering \
in the server's place";

fn advice_for(e: &(dyn std::error::Error + 'static), text: &str) -> Option<&'static str> {
    use rustls::{CertificateError, Error as Tls};
    if let Some(Tls::InvalidCertificate(c)) = e.downcast_ref::<rustls::Error>() {
        return match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => Some(UNTRUSTED),
            CertificateError::Expired | CertificateError::NotValidYet => Some(CLOCK_OR_EXPIRED),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => Some(WRONG_NAME),
            _ => None,
        };
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        Some(UNTRUSTED)
    } else if lower.contains("proxy authorization required") || lower.contains("proxy authentication required") {
        Some(PROXY_SIGN_IN)
    } else {
        None
    }
}
