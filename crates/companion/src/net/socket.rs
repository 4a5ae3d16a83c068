//! The notification socket through the network layer: direct, or tunnelled through the proxy with
//! HTTP `CONNECT` (what browsers do for `wss://`), then TLS with the layer's trust.

use super::proxy::ProxyHop;
use super::{Network, explain};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

/// An open WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a socket did not open.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("`{0}` is not a ws:// or wss:// URL")]
    NotASocketUrl(String),
    #[error("the proxy {proxy} could not be reached: {reason}")]
    ProxyUnreachable { proxy: String, reason: String },
    #[error(
        "the proxy {proxy} asks for a user and password (407 Proxy Authentication Required): set them in network.proxy as http://user:password@host:port"
    )]
    ProxyAuthentication { proxy: String },
    #[error("the proxy {proxy} refused the tunnel to {target}: {answer}")]
    ProxyRefused { proxy: String, target: String, answer: String },
    #[error(
        "the proxy {0} is an https:// proxy, which the notification socket cannot use: give an http:// one in network.proxy"
    )]
    TlsProxy(String),
    #[error("{host} could not be reached: {reason}")]
    Unreachable { host: String, reason: String },
    /// The server answered the upgrade with an HTTP status (the network path works).
    #[error("{host} answered the socket with HTTP {status}")]
    Refused { host: String, status: u16 },
    #[error("{0}")]
    Handshake(String),
}

impl Network {
    /// Opens a WebSocket to `url` through the proxy that applies to it, trusting what HTTP trusts.
    pub async fn open_socket(&self, url: &str, limits: WebSocketConfig) -> Result<Socket, SocketError> {
        let parsed = Url::parse(url).map_err(|_| SocketError::NotASocketUrl(url.chars().take(200).collect()))?;
        let (Some(host), Some(port), true) =
            (parsed.host_str(), parsed.port_or_known_default(), matches!(parsed.scheme(), "ws" | "wss"))
        else {
            return Err(SocketError::NotASocketUrl(url.chars().take(200).collect()));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let stream = match self.proxy.hop(&parsed) {
            Some(hop) => tunnel(&hop, &host, port).await?,
            None => TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| SocketError::Unreachable { host: host.clone(), reason: e.to_string() })?,
        };
        let _ = stream.set_nodelay(true);
        let connector = Connector::Rustls(self.tls.clone());
        match tokio_tungstenite::client_async_tls_with_config(url, stream, Some(limits), Some(connector)).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                Err(SocketError::Refused { host, status: r.status().as_u16() })
            }
            Err(e) => Err(SocketError::Handshake(format!("the socket to {host} did not open: {}", explain(&e)))),
        }
    }
}

/// The most a proxy's answer to `CONNECT` may be before the tunnel (its status line and headers).
const MAX_CONNECT_ANSWER: usize = 16 * 1024;

/// Opens a `CONNECT` tunnel to `host:port` through the proxy.
async fn tunnel(hop: &ProxyHop, host: &str, port: u16) -> Result<TcpStream, SocketError> {
    let proxy = hop.authority.clone();
    if hop.tls {
        return Err(SocketError::TlsProxy(proxy));
    }
    let mut stream = TcpStream::connect(&proxy)
        .await
        .map_err(|e| SocketError::ProxyUnreachable { proxy: proxy.clone(), reason: e.to_string() })?;
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = hop.authorization.as_ref().and_then(|a| a.to_str().ok()) {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    let lost = |e: std::io::Error| SocketError::ProxyUnreachable { proxy: proxy.clone(), reason: e.to_string() };
    stream.write_all(request.as_bytes()).await.map_err(lost)?;
    // Read byte by byte up to the blank line: nothing of the tunnelled stream may be consumed.
    let mut answer = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= MAX_CONNECT_ANSWER {
            return Err(SocketError::ProxyRefused { proxy, target, answer: "an endless answer".into() });
        }
        if stream.read(&mut byte).await.map_err(lost)? == 0 {
            return Err(SocketError::ProxyRefused { proxy, target, answer: "closed the connection".into() });
        }
        answer.push(byte[0]);
    }
    let status_line = String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string();
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) => Ok(stream),
        Some(407) => Err(SocketError::ProxyAuthentication { proxy }),
        _ => Err(SocketError::ProxyRefused { proxy, target, answer: status_line.chars().take(200).collect() }),
    }
}
