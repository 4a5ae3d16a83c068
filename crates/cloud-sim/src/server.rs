//! The listeners: one router per service on its own port, served by an accept loop that can drop a
//! connection on purpose (the "reset after the write" fault), and the handle that owns them.

use crate::config::SimConfig;
use crate::data::Population;
use crate::faults::{FaultKind, FaultRule};
use crate::genesys::{
    self, api as gapi, history as ghistory, notifications as gnote, oauth as goauth, participants as gpart,
};
use crate::http::{ConnAbort, Service, bearer, genesys_error, genesys_rate_limited, html_page, sf_error};
use crate::salesforce::{self, api as sapi, oauth as soauth};
use crate::scenario::{self, CallSpec, PlaceError, PlacedCall, ScenarioError, ScenarioProgress, ScenarioSpec};
use crate::state::{Shared, SimState};
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, patch, post};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// Base URLs of a running simulator, printed as one JSON line at start.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SimUrls {
    /// Genesys REST, like `https://api.mypurecloud.com`.
    pub genesys_api: String,
    /// Genesys OAuth, like `https://login.mypurecloud.com`.
    pub genesys_login: String,
    /// Genesys notifications, like `wss://streaming.mypurecloud.com`.
    pub genesys_streaming: String,
    /// The Salesforce instance URL.
    pub salesforce: String,
    /// The Salesforce login host.
    pub salesforce_login: String,
    /// The `/_sim/` control API.
    pub control: String,
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The simulator only listens on loopback.
    #[error("refusing to bind {0}: the simulator listens on loopback addresses only")]
    NotLoopback(std::net::IpAddr),
    /// A port could not be bound.
    #[error("cannot listen on {addr} for {service}: {source}")]
    Bind {
        service: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running simulator. Dropping it stops the listeners.
pub struct SimHandle {
    state: Shared,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle").field("urls", self.urls()).finish()
    }
}

impl SimHandle {
    /// Binds every listener and starts serving.
    pub async fn start(config: SimConfig) -> Result<SimHandle, StartError> {
        if !config.bind.is_loopback() {
            return Err(StartError::NotLoopback(config.bind));
        }
        let ports = config.ports;
        let bind = config.bind;
        let tls = config.tls.clone();
        let state: Shared = Arc::new(SimState::new(config));
        let wanted = [
            ports.genesys_api,
            ports.genesys_login,
            ports.genesys_streaming,
            ports.salesforce,
            ports.salesforce_login,
            ports.control,
        ];
        let mut listeners = Vec::new();
        for (service, port) in Service::ALL.into_iter().zip(wanted) {
            let addr = SocketAddr::new(bind, port);
            let l = TcpListener::bind(addr).await.map_err(|source| StartError::Bind {
                service: service.key(),
                addr,
                source,
            })?;
            listeners.push((service, l));
        }
        // With TLS, the clouds' URLs use the certificate's host name and https/wss.
        let url = |i: usize, plain: &str, secure: &str| {
            let a = listeners[i].1.local_addr().expect("bound");
            match (&tls, listeners[i].0) {
                (Some(t), s) if s != Service::Control => format!("{secure}://{}:{}", t.host, a.port()),
                _ => format!("{plain}://{a}"),
            }
        };
        let urls = SimUrls {
            genesys_api: url(0, "http", "https"),
            genesys_login: url(1, "http", "https"),
            genesys_streaming: url(2, "ws", "wss"),
            salesforce: url(3, "http", "https"),
            salesforce_login: url(4, "http", "https"),
            control: url(5, "http", "http"),
        };
        state.urls.set(urls).expect("set once");
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        for (service, listener) in listeners {
            let router = router_for(service, state.clone());
            let acceptor = tls.as_ref().filter(|_| service != Service::Control).map(|t| t.acceptor());
            tasks.push(tokio::spawn(serve(listener, router, acceptor, rx.clone())));
        }
        tasks.push(tokio::spawn(reaper(state.clone(), rx)));
        Ok(SimHandle { state, shutdown, tasks })
    }

    /// The base URLs.
    pub fn urls(&self) -> &SimUrls {
        self.state.urls()
    }

    /// The seeded population (callers, contacts, expected pop results).
    pub fn population(&self) -> &Population {
        &self.state.population
    }

    /// Places one call.
    pub fn place_call(&self, spec: CallSpec) -> Result<PlacedCall, PlaceError> {
        scenario::place_call(&self.state, spec, None, Vec::new())
    }

    /// Starts a scenario; returns its id.
    pub fn start_scenario(&self, spec: ScenarioSpec) -> Result<String, ScenarioError> {
        scenario::start_scenario(&self.state, spec)
    }

    /// A placed call (scenario calls included).
    pub fn placed_call(&self, conversation_id: &str) -> Option<PlacedCall> {
        self.state.calls.get(conversation_id)
    }

    /// The agent participants a conversation has shown so far (ids, in the order they alerted): a
    /// leg the caller hung up before reaching never shows.
    pub fn shown_participants(&self, conversation_id: &str) -> Vec<String> {
        let gs = self.state.genesys();
        gs.conversations
            .get(conversation_id)
            .map(|c| c.legs.iter().filter(|l| l.visible).map(|l| l.participant_id.clone()).collect())
            .unwrap_or_default()
    }

    /// A conversation as `GET /api/v2/conversations/{id}` shows it now.
    pub fn conversation(&self, conversation_id: &str) -> Option<serde_json::Value> {
        self.state.genesys().conversations.get(conversation_id).map(|c| c.snapshot())
    }

    /// A scenario's progress.
    pub fn scenario(&self, id: &str) -> Option<ScenarioProgress> {
        self.state.calls.scenario(id)
    }

    /// Request counters, as `GET /_sim/stats` shows them.
    pub fn stats(&self) -> serde_json::Value {
        crate::control::stats_json(&self.state)
    }

    /// Stops the listeners and open sockets.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        gnote::drop_sockets(&self.state, None);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn reaper(state: Shared, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => gnote::reap_expired(&state),
            _ = stop.changed() => return,
        }
    }
}

fn trim_trailing_slash(req: &mut Request) {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
}

async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stop = stop.clone();
        match tls.clone() {
            None => {
                tokio::spawn(serve_connection(stream, router, stop));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
                    if let Ok(Ok(tls)) = handshake {
                        serve_connection(tls, router, stop).await;
                    }
                });
            }
        }
    }
}

async fn serve_connection<Io>(io: Io, router: Router, mut stop: watch::Receiver<bool>)
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let abort = Arc::new(Notify::new());
    let conn_abort = ConnAbort(abort.clone());
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(conn_abort.clone());
        let mut req = req.map(Body::new);
        trim_trailing_slash(&mut req);
        router.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), svc).with_upgrades();
    tokio::select! {
        _ = conn => {}
        _ = abort.notified() => {}
        _ = stop.changed() => {}
    }
}

fn router_for(service: Service, state: Shared) -> Router {
    let r = match service {
        Service::GenesysApi => Router::new()
            .route("/api/v2/users/me", get(gapi::users_me))
            .route("/api/v2/tokens/me", get(gapi::tokens_me).delete(gapi::delete_tokens_me))
            .route("/api/v2/conversations", get(gapi::conversations))
            .route("/api/v2/conversations/{id}", get(gapi::conversation))
            .route("/api/v2/conversations/calls/history", get(ghistory::call_history))
            .route("/api/v2/analytics/conversations/details/query", post(ghistory::details_query))
            .route("/api/v2/conversations/{cid}/participants/{pid}", patch(gpart::patch))
            .route("/api/v2/conversations/{cid}/participants/{pid}/wrapup", get(gpart::wrapup))
            .route("/api/v2/conversations/{cid}/participants/{pid}/wrapupcodes", get(gpart::wrapup_codes))
            .route("/api/v2/conversations/{cid}/participants/{pid}/attributes", patch(gpart::patch_attributes))
            .route(
                "/api/v2/conversations/{media}/{cid}/participants/{pid}/attributes",
                patch(gpart::patch_media_attributes),
            )
            .route(
                "/api/v2/conversations/{media}/{cid}/participants/{pid}/communications/{comm}/wrapup",
                post(gpart::post_communication_wrapup),
            )
            .route("/api/v2/routing/wrapupcodes", get(gapi::wrapup_codes))
            .route("/api/v2/authorization/divisionspermitted/paged/me", get(gpart::divisions_permitted))
            .route("/api/v2/notifications/channels", get(gnote::list_channels).post(gnote::create_channel))
            .route("/api/v2/notifications/channels/{id}", head(gnote::head_channel))
            .route(
                "/api/v2/notifications/channels/{id}/subscriptions",
                get(gnote::get_subscriptions)
                    .put(gnote::put_subscriptions)
                    .post(gnote::post_subscriptions)
                    .delete(gnote::delete_subscriptions),
            )
            .route_layer(middleware::from_fn_with_state(state.clone(), genesys::api_gate))
            .fallback(|| async {
                genesys_error(StatusCode::NOT_FOUND, "not.found", "The requested resource was not found.")
            }),
        Service::GenesysLogin => Router::new()
            .route("/oauth/authorize", get(goauth::authorize))
            .route("/oauth/token", post(goauth::token))
            .fallback(|| async { html_page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.") }),
        Service::GenesysStreaming => Router::new()
            .route("/channels/{id}", get(gnote::socket))
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found").into_response() }),
        Service::Salesforce => {
            let data = Router::new()
                .route("/services/data/{v}", get(sapi::resources))
                .route("/services/data/{v}/search", get(sapi::search))
                .route("/services/data/{v}/query", get(sapi::query))
                .route(
                    "/services/data/{v}/parameterizedSearch",
                    get(sapi::parameterized_get).post(sapi::parameterized_post),
                )
                .route("/services/data/{v}/limits", get(sapi::limits))
                .route("/services/data/{v}/sobjects/{object}", post(sapi::create))
                .route("/services/data/{v}/sobjects/{object}/{id}", get(sapi::retrieve))
                .route("/services/data/{v}/sobjects/{object}/{field}/{value}", patch(sapi::upsert))
                .route("/services/data/{v}/composite/sobjects/{object}/{field}", patch(sapi::upsert_collection))
                .fallback(|| async {
                    sf_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist")
                })
                .layer(middleware::from_fn_with_state(state.clone(), salesforce::data_gate));
            Router::new().route("/services/data", get(sapi::versions)).merge(data)
        }
        Service::SalesforceLogin => Router::new()
            .route("/services/oauth2/authorize", get(soauth::authorize))
            .route("/services/oauth2/token", post(soauth::token))
            .route("/services/oauth2/revoke", post(soauth::revoke))
            .route("/id/{org}/{user}", get(soauth::identity))
            .fallback(|| async { html_page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.") }),
        // The control API mints tokens and places calls: only programs on this machine may use it,
        // and a web page that rebinds a name to 127.0.0.1 is turned away by its Host header.
        Service::Control => crate::control::router().layer(middleware::from_fn(loopback_host_only)),
    };
    r.layer(middleware::from_fn_with_state((state.clone(), service), observe)).with_state(state)
}

/// Refuses a request whose `Host` is not this machine's loopback (DNS rebinding from a browser).
async fn loopback_host_only(req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let name =
        host.rsplit_once(':').map_or(host, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { host });
    let loopback_ip = name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if loopback_ip || matches!(name, "localhost" | "[::1]") {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "the control API answers loopback hosts only").into_response()
    }
}

/// Counts every request and applies the faults that match it.
async fn observe(State((state, service)): State<(Shared, Service)>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| path.clone());
    let endpoint = format!("{} {method} {route}", service.key());
    let faults = {
        let mut rng = state.rng();
        state.faults().on_request(service, &method, &path, &mut *rng)
    };
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let resp = match faults.action {
        None => next.run(req).await,
        Some(rule) => match apply_fault(&state, service, &rule, req, next).await {
            Some(r) => r,
            None => {
                state.stats.record(&endpoint, 0);
                // The connection is being dropped: never answer.
                return std::future::pending().await;
            }
        },
    };
    state.stats.record(&endpoint, resp.status().as_u16());
    resp
}

/// Answers for a fault; `None` means the connection was told to drop.
async fn apply_fault(state: &Shared, service: Service, rule: &FaultRule, req: Request, next: Next) -> Option<Response> {
    let spec = &rule.spec;
    let genesys = service.is_genesys();
    let abort = req.extensions().get::<ConnAbort>().cloned();
    let status = StatusCode::from_u16(spec.status.unwrap_or(503)).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let r = match spec.kind {
        FaultKind::ServerError if genesys => {
            genesys_error(status, "service.unavailable", "The service is currently unavailable.")
        }
        FaultKind::ServerError => sf_error(status, "SERVER_UNAVAILABLE", "Server is unavailable"),
        FaultKind::HtmlServerError => html_page(
            status,
            &format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("Error")),
            "The server is temporarily unable to service your request. Please try again later.",
        ),
        FaultKind::RateLimit if genesys => genesys_rate_limited(spec.retry_after_secs.unwrap_or(2)),
        FaultKind::RateLimit => {
            let mut r =
                sf_error(StatusCode::TOO_MANY_REQUESTS, "REQUEST_LIMIT_EXCEEDED", "Too many requests. Retry later.");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(spec.retry_after_secs.unwrap_or(2)));
            r
        }
        FaultKind::LimitExceeded | FaultKind::ConcurrentLimit if genesys => {
            genesys_rate_limited(spec.retry_after_secs.unwrap_or(60))
        }
        FaultKind::LimitExceeded => {
            sf_error(StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        }
        FaultKind::ConcurrentLimit => sf_error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        ),
        FaultKind::InvalidGrant => {
            crate::http::oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired access/refresh token")
        }
        FaultKind::ApiDisabled if genesys => {
            genesys_error(StatusCode::UNAUTHORIZED, "bad.credentials", "Invalid login credentials.")
        }
        FaultKind::ApiDisabled => salesforce::invalid_session("This session is not valid for use with the REST API"),
        FaultKind::TokenExpired => {
            if let Some(t) = bearer(req.headers()).map(str::to_owned) {
                if genesys {
                    genesys::expire_token(state, &t);
                } else {
                    salesforce::expire_session(state, &t);
                }
            }
            next.run(req).await
        }
        FaultKind::ResetAfterWrite => {
            let _ = next.run(req).await;
            if let Some(a) = abort {
                a.0.notify_one()
            }
            return None;
        }
        FaultKind::ResetBeforeWrite => {
            if let Some(a) = abort {
                a.0.notify_one()
            }
            return None;
        }
        FaultKind::Latency
        | FaultKind::DropSocket
        | FaultKind::SocketClosing
        | FaultKind::DuplicateFrame
        | FaultKind::ReorderFrame => next.run(req).await,
    };
    Some(r)
}
