//! The desktop's browser: the system browser opened on the authorization URL, and the loopback
//! listener that takes the one redirect back, answering the page with a sentence.

use super::{AuthError, Browser, Callback};
use std::sync::Arc;

/// The real thing: opens the system browser and waits for the redirect on the loopback address of the
/// redirect URI, answering the browser with a page that says to go back to the app. On a shared host
/// (Citrix, AVD) another user's sign-in may hold the URI's port: the next free port of the pool is
/// bound instead, and the authorization request names that URI (each is registered on the client).
#[derive(Debug)]
pub struct SystemBrowser {
    /// The registered redirect URI (`http://127.0.0.1:8765/oauth/genesys`).
    redirect_uri: String,
    /// Ports tried, in order, when the URI's own is taken.
    fallback_ports: Vec<u16>,
    /// How long to wait for the person.
    timeout: std::time::Duration,
    /// The listener bound by `redirect_uri()`, taken by `authorize()`.
    bound: tokio::sync::Mutex<Option<RedirectListener>>,
}

impl SystemBrowser {
    pub fn new(redirect_uri: &str, fallback_ports: Vec<u16>, timeout: std::time::Duration) -> SystemBrowser {
        SystemBrowser {
            redirect_uri: redirect_uri.to_string(),
            fallback_ports,
            timeout,
            bound: tokio::sync::Mutex::new(None),
        }
    }

    /// Binds the first free port of the configured URI's and the pool's; returns the URI on it.
    async fn bind_pool(&self) -> Result<RedirectListener, AuthError> {
        let configured = reqwest::Url::parse(&self.redirect_uri).map_err(|e| AuthError::BadUrl(e.to_string()))?;
        let mut candidates = vec![configured.clone()];
        for port in &self.fallback_ports {
            let mut u = configured.clone();
            if u.set_port(Some(*port)).is_ok() && !candidates.contains(&u) {
                candidates.push(u);
            }
        }
        let mut taken = vec![];
        for uri in candidates {
            match RedirectListener::bind(&uri).await {
                Ok(l) => return Ok(l),
                Err(AuthError::Browser(why)) => taken.push(why),
                Err(e) => return Err(e),
            }
        }
        Err(AuthError::Browser(format!(
            "every redirect port is in use ({}): on a shared host, add ports to redirect_fallback_ports and register them on the OAuth client",
            taken.join("; ")
        )))
    }
}

fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Agent Companion</title></head>\
<body style=\"font-family:system-ui;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>"
    )
}

impl Browser for SystemBrowser {
    async fn redirect_uri(&self, _configured: &str) -> Result<String, AuthError> {
        let listener = self.bind_pool().await?;
        // The configured URI as written when its own port was free (it is registered verbatim).
        let configured_port = reqwest::Url::parse(&self.redirect_uri).ok().and_then(|u| u.port_or_known_default());
        let uri = if listener.redirect.port_or_known_default() == configured_port {
            self.redirect_uri.clone()
        } else {
            listener.redirect.to_string()
        };
        *self.bound.lock().await = Some(listener);
        Ok(uri)
    }

    async fn authorize(&self, url: &reqwest::Url) -> Result<Callback, AuthError> {
        let listeners = match self.bound.lock().await.take() {
            Some(l) => l,
            None => self.bind_pool().await?,
        };
        open::that_detached(url.as_str()).map_err(|e| AuthError::Browser(format!("cannot open the browser: {e}")))?;
        let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).unwrap_or_default();
        tokio::time::timeout(self.timeout, listeners.wait(&state))
            .await
            .map_err(|_| AuthError::Browser("nobody completed the sign-in in time".into()))?
    }
}

/// The loopback listener of a redirect URI. It serves every connection on its own (a slow or silent
/// one cannot hold the others up), answers anything but the redirect with 404, and ends only on the
/// redirect that carries this sign-in's `state`: a stray request, another program or a web page
/// poking the port cannot end or spoil the sign-in.
#[derive(Debug)]
pub struct RedirectListener {
    pub(super) listeners: Vec<tokio::net::TcpListener>,
    redirect: reqwest::Url,
}

/// How long one connection may take to send its request line.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl RedirectListener {
    /// Binds the redirect URI's port on its loopback address; `localhost` on both IPv4 and IPv6.
    pub async fn bind(redirect: &reqwest::Url) -> Result<RedirectListener, AuthError> {
        let host = redirect.host().ok_or_else(|| AuthError::BadUrl("the redirect URI has no host".into()))?;
        if !crate::hosts::is_loopback(&host) {
            return Err(AuthError::BadUrl(format!("the redirect URI must be a loopback address, not {host}")));
        }
        let port = redirect.port_or_known_default().unwrap_or(80);
        let addrs: Vec<std::net::IpAddr> = match host {
            url::Host::Ipv4(ip) => vec![ip.into()],
            url::Host::Ipv6(ip) => vec![ip.into()],
            url::Host::Domain(_) => vec![std::net::Ipv4Addr::LOCALHOST.into(), std::net::Ipv6Addr::LOCALHOST.into()],
        };
        let mut listeners = vec![];
        let mut last_err = None;
        for ip in addrs {
            match tokio::net::TcpListener::bind((ip, port)).await {
                Ok(l) => listeners.push(l),
                Err(e) => last_err = Some(format!("cannot listen on {}: {e}", std::net::SocketAddr::new(ip, port))),
            }
        }
        if listeners.is_empty() {
            return Err(AuthError::Browser(format!(
                "{} for the sign-in redirect",
                last_err.unwrap_or_else(|| "no address to listen on".into())
            )));
        }
        Ok(RedirectListener { listeners, redirect: redirect.clone() })
    }

    /// Waits for the redirect that carries `state`; returns what it brought.
    pub async fn wait(self, state: &str) -> Result<Callback, AuthError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Callback>(1);
        let redirect = Arc::new(self.redirect);
        let state = Arc::new(state.to_string());
        let mut accepting = vec![];
        for listener in self.listeners {
            let (tx, redirect, state) = (tx.clone(), redirect.clone(), state.clone());
            accepting.push(tokio::spawn(async move {
                while let Ok((sock, _)) = listener.accept().await {
                    let (tx, redirect, state) = (tx.clone(), redirect.clone(), state.clone());
                    tokio::spawn(async move {
                        if let Some(cb) = serve_one(sock, &redirect, &state).await {
                            let _ = tx.send(cb).await;
                        }
                    });
                }
            }));
        }
        drop(tx);
        let got = rx.recv().await.ok_or_else(|| AuthError::Browser("the redirect listener stopped".into()));
        for a in accepting {
            a.abort();
        }
        got
    }
}

/// One connection: the redirect with this sign-in's state is answered with what happened and handed
/// back; anything else gets its answer and is forgotten.
async fn serve_one(mut sock: tokio::net::TcpStream, redirect: &reqwest::Url, state: &str) -> Option<Callback> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 8192];
    let n = match tokio::time::timeout(REQUEST_TIMEOUT, sock.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => n,
        _ => return None,
    };
    let head = String::from_utf8_lossy(&buf[..n]);
    let target = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("/").to_string();
    let reply = |status: &str, body: String| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let path_only = target.split('?').next().unwrap_or("/");
    if path_only != redirect.path() {
        let _ = sock.write_all(reply("404 Not Found", String::new()).as_bytes()).await;
        return None;
    }
    let cb = redirect.join(&target).ok().and_then(|u| Callback::from_url(u.as_str()).ok());
    match cb {
        Some(cb) if cb.state.as_deref() == Some(state) => {
            let body = match (&cb.error, &cb.code) {
                (Some(e), _) => page(
                    "Sign-in refused",
                    &format!("The sign-in was refused ({}). Return to Agent Companion and try again.", html_text(e)),
                ),
                (None, Some(_)) => page(
                    "Almost done",
                    "You can close this tab and return to Agent Companion, which finishes the sign-in.",
                ),
                (None, None) => page(
                    "Sign-in incomplete",
                    "The sign-in came back without a code. Return to Agent Companion and try again.",
                ),
            };
            let _ = sock.write_all(reply("200 OK", body).as_bytes()).await;
            Some(cb)
        }
        _ => {
            let body = page("Not this sign-in", "This link is not the sign-in Agent Companion is waiting for.");
            let _ = sock.write_all(reply("400 Bad Request", body).as_bytes()).await;
            None
        }
    }
}

/// Text for an HTML page.
fn html_text(s: &str) -> String {
    s.chars()
        .take(200)
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
