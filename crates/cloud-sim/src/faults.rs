//! Fault injection: rules that fire by rate or on the next N matching requests (or socket frames).

use crate::http::Service;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Delay the response by `latency_ms`, then answer normally.
    Latency,
    /// Answer with a JSON 5xx (`status`, default 503) in the cloud's error shape.
    ServerError,
    /// Answer with an HTML 5xx page, as a load balancer or maintenance page would.
    HtmlServerError,
    /// 429 with `Retry-After` (`retry_after_secs`, default 2).
    RateLimit,
    /// Salesforce 403 `REQUEST_LIMIT_EXCEEDED` "TotalRequests Limit exceeded." (Genesys: a 429).
    LimitExceeded,
    /// Salesforce 403 `REQUEST_LIMIT_EXCEEDED` for concurrent long-running requests.
    ConcurrentLimit,
    /// Expire the bearer token of the request, then answer (401).
    TokenExpired,
    /// Salesforce 401 "This session is not valid for use with the REST API".
    ApiDisabled,
    /// OAuth token endpoints: 400 `invalid_grant` "expired access/refresh token" (a refresh refused).
    InvalidGrant,
    /// Apply the request, then drop the connection without a response.
    ResetAfterWrite,
    /// Drop the connection without applying the request.
    ResetBeforeWrite,
    /// Socket frames: drop the WebSocket without a close frame.
    DropSocket,
    /// Socket frames: send `v2.system.socket_closing`, then close after the grace period.
    SocketClosing,
    /// Socket frames: send the event twice.
    DuplicateFrame,
    /// Socket frames: hold the event back and send it after the next one.
    ReorderFrame,
}

impl FaultKind {
    /// True for the kinds evaluated per socket frame rather than per HTTP request.
    pub fn is_frame_fault(self) -> bool {
        matches!(
            self,
            FaultKind::DropSocket | FaultKind::SocketClosing | FaultKind::DuplicateFrame | FaultKind::ReorderFrame
        )
    }
}

/// A rule as posted to `POST /_sim/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The fault.
    pub kind: FaultKind,
    /// Which listener it applies to; every one but control when absent.
    #[serde(default)]
    pub service: Option<Service>,
    /// Only requests whose path contains this.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Only requests of this method.
    #[serde(default)]
    pub method: Option<String>,
    /// Probability per matching request, 0..=1.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Fire on the next N matching requests, then retire.
    #[serde(default)]
    pub count: Option<u32>,
    /// For `latency`.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// For `server_error` / `html_server_error`.
    #[serde(default)]
    pub status: Option<u16>,
    /// For `rate_limit`.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
}

/// Why a fault spec was refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultSpecError {
    /// Neither or both of rate and count.
    #[error("give exactly one of `rate` (0..=1) or `count` (≥ 1)")]
    Trigger,
    /// Rate outside 0..=1.
    #[error("`rate` must be between 0 and 1")]
    Rate,
    /// Latency without a duration.
    #[error("`latency` needs `latency_ms`")]
    Latency,
    /// Status not a 5xx.
    #[error("`status` must be a 5xx code")]
    Status,
}

impl FaultSpec {
    fn validate(&self) -> Result<(), FaultSpecError> {
        match (self.rate, self.count) {
            (Some(r), None) if (0.0..=1.0).contains(&r) => {}
            (Some(_), None) => return Err(FaultSpecError::Rate),
            (None, Some(c)) if c >= 1 => {}
            _ => return Err(FaultSpecError::Trigger),
        }
        if self.kind == FaultKind::Latency && self.latency_ms.is_none() {
            return Err(FaultSpecError::Latency);
        }
        if self.status.is_some_and(|s| !(500..=599).contains(&s)) {
            return Err(FaultSpecError::Status);
        }
        Ok(())
    }
}

/// A rule with its id and how often it fired.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRule {
    /// Rule id.
    pub id: u64,
    /// The rule.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Times it fired.
    pub fired: u64,
}

/// The faults to apply to one HTTP request.
#[derive(Debug, Default, Clone)]
pub struct RequestFaults {
    /// Total added latency.
    pub latency_ms: u64,
    /// The first non-latency fault that fired, if any.
    pub action: Option<FaultRule>,
}

/// The faults to apply to one socket frame.
#[derive(Debug, Default, Clone, Copy)]
pub struct FrameFault {
    pub drop_socket: bool,
    pub socket_closing: bool,
    pub duplicate: bool,
    pub reorder: bool,
}

/// All active rules.
#[derive(Debug, Default)]
pub struct FaultBook {
    rules: Vec<FaultRule>,
    next_id: u64,
}

impl FaultBook {
    /// Adds a rule; returns its id.
    pub fn add(&mut self, spec: FaultSpec) -> Result<u64, FaultSpecError> {
        spec.validate()?;
        self.next_id += 1;
        self.rules.push(FaultRule { id: self.next_id, spec, fired: 0 });
        Ok(self.next_id)
    }

    /// The active rules.
    pub fn list(&self) -> &[FaultRule] {
        &self.rules
    }

    /// Removes one rule, or all.
    pub fn remove(&mut self, id: Option<u64>) -> usize {
        let before = self.rules.len();
        match id {
            Some(id) => self.rules.retain(|r| r.id != id),
            None => self.rules.clear(),
        }
        before - self.rules.len()
    }

    fn fire(rule: &mut FaultRule, rng: &mut impl Rng) -> bool {
        let hit = match (rule.spec.rate, rule.spec.count.as_mut()) {
            (Some(r), _) => rng.random_bool(r),
            (None, Some(c)) if *c > 0 => {
                *c -= 1;
                true
            }
            _ => false,
        };
        if hit {
            rule.fired += 1;
        }
        hit
    }

    fn retire_spent(&mut self) {
        self.rules.retain(|r| r.spec.count != Some(0));
    }

    /// Evaluates the HTTP rules for one request.
    pub fn on_request(&mut self, service: Service, method: &str, path: &str, rng: &mut impl Rng) -> RequestFaults {
        let mut out = RequestFaults::default();
        for rule in self.rules.iter_mut().filter(|r| !r.spec.kind.is_frame_fault()) {
            let s = &rule.spec;
            let service_ok = match s.service {
                Some(want) => want == service,
                None => service != Service::Control,
            };
            if !service_ok
                || s.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(method))
                || s.path_contains.as_deref().is_some_and(|p| !path.contains(p))
            {
                continue;
            }
            // A fault that could not apply (an action when one already fired) is not consumed.
            if s.kind != FaultKind::Latency && out.action.is_some() {
                continue;
            }
            if Self::fire(rule, rng) {
                if rule.spec.kind == FaultKind::Latency {
                    out.latency_ms += rule.spec.latency_ms.unwrap_or(0);
                } else {
                    out.action = Some(rule.clone());
                }
            }
        }
        self.retire_spent();
        out
    }

    /// Evaluates the socket-frame rules for one event frame on one socket.
    pub fn on_frame(&mut self, rng: &mut impl Rng) -> FrameFault {
        let mut out = FrameFault::default();
        if !self.rules.iter().any(|r| r.spec.kind.is_frame_fault()) {
            return out;
        }
        for rule in self.rules.iter_mut().filter(|r| r.spec.kind.is_frame_fault()) {
            if Self::fire(rule, rng) {
                match rule.spec.kind {
                    FaultKind::DropSocket => out.drop_socket = true,
                    FaultKind::SocketClosing => out.socket_closing = true,
                    FaultKind::DuplicateFrame => out.duplicate = true,
                    FaultKind::ReorderFrame => out.reorder = true,
                    _ => {}
                }
            }
        }
        self.retire_spent();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn spec(kind: FaultKind) -> FaultSpec {
        FaultSpec {
            kind,
            service: None,
            path_contains: None,
            method: None,
            rate: None,
            count: Some(2),
            latency_ms: None,
            status: None,
            retry_after_secs: None,
        }
    }

    #[test]
    fn count_rules_fire_exactly_n_times_then_retire() {
        let mut book = FaultBook::default();
        book.add(spec(FaultKind::ServerError)).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let fired: Vec<bool> =
            (0..4).map(|_| book.on_request(Service::Salesforce, "GET", "/x", &mut rng).action.is_some()).collect();
        assert_eq!(fired, [true, true, false, false]);
        assert!(book.list().is_empty());
    }

    #[test]
    fn control_is_never_faulted_by_default_and_filters_apply() {
        let mut book = FaultBook::default();
        let mut s = spec(FaultKind::ServerError);
        s.path_contains = Some("/composite".into());
        book.add(s).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert!(book.on_request(Service::Control, "GET", "/composite", &mut rng).action.is_none());
        assert!(book.on_request(Service::Salesforce, "GET", "/search", &mut rng).action.is_none());
        assert!(book.on_request(Service::Salesforce, "PATCH", "/composite/sobjects", &mut rng).action.is_some());
    }

    #[test]
    fn invalid_specs_are_refused() {
        let mut book = FaultBook::default();
        let mut s = spec(FaultKind::Latency);
        assert!(book.add(s.clone()).is_err());
        s.latency_ms = Some(5);
        s.rate = Some(0.5);
        assert!(book.add(s.clone()).is_err(), "rate and count together");
        s.count = None;
        s.rate = Some(1.5);
        assert!(book.add(s).is_err());
    }
}
