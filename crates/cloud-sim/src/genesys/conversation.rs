//! A simulated inbound voice conversation and the full snapshots the notification topic carries.

use crate::clock::iso;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// An earlier agent participant of the same user is alerting; it will time out.
    EarlierAlerting,
    /// The agent's phone is ringing.
    Alerting,
    /// Agent and customer are talking.
    Connected,
    /// The call ended; the agent is in after-call work.
    AfterCallWork,
    /// Wrap-up submitted, or the caller gave up while it rang.
    Done,
}

/// The wrap-up an agent assigns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Wrapup {
    /// The wrap-up code id.
    pub code: String,
    /// Free text.
    #[serde(default)]
    pub notes: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Seconds spent in wrap-up.
    #[serde(default, rename = "durationSeconds")]
    pub duration_seconds: Option<u64>,
}

/// One agent participant (there may be an earlier one that timed out).
#[derive(Debug, Clone)]
pub struct AgentLeg {
    pub participant_id: String,
    pub call_id: String,
    pub user_id: String,
    pub user_name: String,
    pub alert_ms: i64,
    pub connected_ms: Option<i64>,
    pub disconnected_ms: Option<i64>,
    pub disconnect_type: Option<&'static str>,
    pub acw_start_ms: Option<i64>,
    pub acw_end_ms: Option<i64>,
    pub wrapup: Option<(Wrapup, i64)>,
}

/// A conversation between a customer and one of the seeded agents.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub start_ms: i64,
    /// The customer's address as Genesys shows it (`tel:+1…`, `sip:anonymous@…`, or anything a test sends).
    pub ani: String,
    pub dnis: String,
    pub customer_name: String,
    pub customer_participant_id: String,
    pub customer_call_id: String,
    pub ivr_participant_id: String,
    pub acd_participant_id: String,
    pub queue_id: String,
    pub queue_name: String,
    pub attributes: BTreeMap<String, String>,
    pub earlier_agent: Option<AgentLeg>,
    pub agent: AgentLeg,
    pub phase: Phase,
    pub customer_end_ms: Option<i64>,
    /// Snapshot counter, for tests that look at ordering.
    pub revision: u64,
}

fn ts(ms: i64) -> String {
    let t: DateTime<Utc> = Utc.timestamp_millis_opt(ms).single().unwrap_or_else(Utc::now);
    iso(t)
}

fn opt_ts(ms: Option<i64>) -> Value {
    ms.map(|m| Value::String(ts(m))).unwrap_or(Value::Null)
}

fn displayable(address: &str) -> String {
    address.strip_prefix("tel:").unwrap_or(address).to_string()
}

fn empty_media(p: &mut Map<String, Value>) {
    for k in
        ["callbacks", "chats", "cobrowsesessions", "emails", "messages", "screenshares", "socialExpressions", "videos"]
    {
        p.insert(k.into(), json!([]));
    }
}

fn insert_some(m: &mut Map<String, Value>, k: &str, v: Value) {
    if !v.is_null() {
        m.insert(k.into(), v);
    }
}

impl Conversation {
    /// True until the wrap-up is in (or the caller abandoned).
    pub fn is_active(&self) -> bool {
        self.phase != Phase::Done
    }

    /// The participant ids of this user's agent legs.
    pub fn involves_user(&self, user_id: &str) -> bool {
        self.agent.user_id == user_id
    }

    /// Moves to the next phase. `wrapup` is used when leaving after-call work.
    /// Returns false when there is nothing further to do.
    pub fn step(&mut self, now: i64, wrapup: Option<Wrapup>) -> bool {
        match self.phase {
            Phase::EarlierAlerting => {
                if let Some(e) = self.earlier_agent.as_mut() {
                    e.disconnected_ms = Some(now);
                    e.disconnect_type = Some("timeout");
                }
                self.agent.alert_ms = now;
                self.phase = Phase::Alerting;
            }
            Phase::Alerting => {
                self.agent.connected_ms = Some(now);
                self.phase = Phase::Connected;
            }
            Phase::Connected => {
                self.agent.disconnected_ms = Some(now);
                self.agent.disconnect_type = Some("peer");
                self.agent.acw_start_ms = Some(now);
                self.customer_end_ms = Some(now);
                self.phase = Phase::AfterCallWork;
            }
            Phase::AfterCallWork => {
                let w = wrapup.unwrap_or(Wrapup {
                    code: String::new(),
                    notes: String::new(),
                    tags: vec![],
                    duration_seconds: None,
                });
                self.submit_wrapup(now, w);
            }
            Phase::Done => return false,
        }
        self.revision += 1;
        true
    }

    /// The caller hangs up before the agent answers.
    pub fn abandon(&mut self, now: i64) {
        if matches!(self.phase, Phase::Alerting | Phase::EarlierAlerting) {
            self.agent.disconnected_ms = Some(now);
            self.agent.disconnect_type = Some("peer");
            if let Some(e) = self.earlier_agent.as_mut().filter(|e| e.disconnected_ms.is_none()) {
                e.disconnected_ms = Some(now);
                e.disconnect_type = Some("peer");
            }
            self.customer_end_ms = Some(now);
            self.phase = Phase::Done;
            self.revision += 1;
        }
    }

    /// Records the agent's wrap-up and ends after-call work.
    pub fn submit_wrapup(&mut self, now: i64, mut w: Wrapup) {
        let start = self.agent.acw_start_ms.unwrap_or(now);
        if w.duration_seconds.is_none() {
            w.duration_seconds = Some(((now - start).max(0) / 1000) as u64);
        }
        self.agent.wrapup = Some((w, now));
        self.agent.acw_end_ms = Some(now);
        self.phase = Phase::Done;
    }

    fn customer_participant(&self) -> Value {
        let ended = self.customer_end_ms;
        let state = if ended.is_some() { "disconnected" } else { "connected" };
        let mut call = Map::new();
        call.insert("id".into(), json!(self.customer_call_id));
        call.insert("state".into(), json!(state));
        call.insert("initialState".into(), json!("offering"));
        call.insert("direction".into(), json!("inbound"));
        call.insert("recording".into(), json!(false));
        call.insert("recordingState".into(), json!("none"));
        call.insert("muted".into(), json!(false));
        call.insert("confined".into(), json!(false));
        call.insert("held".into(), json!(false));
        call.insert("securePause".into(), json!(false));
        call.insert("provider".into(), json!("Edge"));
        call.insert("connectedTime".into(), json!(ts(self.start_ms)));
        insert_some(&mut call, "disconnectedTime", opt_ts(ended));
        if ended.is_some() {
            call.insert("disconnectType".into(), json!("endpoint"));
        }
        call.insert(
            "self".into(),
            json!({"name": self.customer_name, "nameRaw": self.customer_name, "addressNormalized": self.ani, "addressRaw": self.ani, "addressDisplayable": displayable(&self.ani)}),
        );
        call.insert(
            "other".into(),
            json!({"nameRaw": "", "addressNormalized": self.dnis, "addressRaw": self.dnis, "addressDisplayable": displayable(&self.dnis)}),
        );
        call.insert("afterCallWorkRequired".into(), json!(false));
        let mut p = Map::new();
        p.insert("id".into(), json!(self.customer_participant_id));
        p.insert("startTime".into(), json!(ts(self.start_ms)));
        p.insert("connectedTime".into(), json!(ts(self.start_ms)));
        insert_some(&mut p, "endTime", opt_ts(ended));
        p.insert("purpose".into(), json!("customer"));
        p.insert("name".into(), json!(self.customer_name));
        p.insert("address".into(), json!(self.ani));
        p.insert("ani".into(), json!(self.ani));
        p.insert("dnis".into(), json!(self.dnis));
        p.insert("wrapupRequired".into(), json!(false));
        p.insert("attributes".into(), json!(self.attributes));
        p.insert("calls".into(), Value::Array(vec![Value::Object(call)]));
        empty_media(&mut p);
        Value::Object(p)
    }

    fn system_participant(&self, id: &str, purpose: &str, name: &str, start: i64, end: Option<i64>) -> Value {
        let state = if end.is_some() { "disconnected" } else { "connected" };
        let mut call = json!({
            "id": format!("{id}-call"), "state": state, "direction": "inbound", "recording": false,
            "recordingState": "none", "muted": false, "confined": false, "held": false, "provider": "Edge",
            "connectedTime": ts(start),
            "self": {"nameRaw": name, "addressNormalized": self.dnis, "addressRaw": self.dnis, "addressDisplayable": displayable(&self.dnis)},
            "other": {"nameRaw": self.customer_name, "addressNormalized": self.ani, "addressRaw": self.ani, "addressDisplayable": displayable(&self.ani)},
        });
        if let Some(e) = end {
            call["disconnectedTime"] = json!(ts(e));
            call["disconnectType"] = json!("transfer");
        }
        let mut p = Map::new();
        p.insert("id".into(), json!(id));
        p.insert("startTime".into(), json!(ts(start)));
        p.insert("connectedTime".into(), json!(ts(start)));
        insert_some(&mut p, "endTime", opt_ts(end));
        p.insert("purpose".into(), json!(purpose));
        p.insert("name".into(), json!(name));
        p.insert("address".into(), json!(self.dnis));
        if purpose == "acd" {
            p.insert("queueId".into(), json!(self.queue_id));
        }
        p.insert("wrapupRequired".into(), json!(false));
        p.insert("attributes".into(), json!({}));
        p.insert("calls".into(), json!([call]));
        empty_media(&mut p);
        Value::Object(p)
    }

    fn agent_participant(&self, leg: &AgentLeg, is_current: bool) -> Value {
        let state = if leg.disconnected_ms.is_some() {
            "disconnected"
        } else if leg.connected_ms.is_some() {
            "connected"
        } else {
            "alerting"
        };
        let answered = leg.connected_ms.is_some();
        let acw = if !is_current || !answered {
            json!({"state": "notApplicable"})
        } else if leg.wrapup.is_some() {
            json!({"state": "complete", "startTime": opt_ts(leg.acw_start_ms), "endTime": opt_ts(leg.acw_end_ms)})
        } else if leg.acw_start_ms.is_some() {
            json!({"state": "pending", "startTime": opt_ts(leg.acw_start_ms)})
        } else {
            json!({"state": "unknown"})
        };
        let wrapup = leg.wrapup.as_ref().map(|(w, end)| {
            json!({"code": w.code, "notes": w.notes, "tags": w.tags, "durationSeconds": w.duration_seconds, "endTime": ts(*end)})
        });
        let mut call = Map::new();
        call.insert("id".into(), json!(leg.call_id));
        call.insert("state".into(), json!(state));
        call.insert("initialState".into(), json!("alerting"));
        call.insert("direction".into(), json!("inbound"));
        call.insert("recording".into(), json!(false));
        call.insert("recordingState".into(), json!("none"));
        call.insert("muted".into(), json!(false));
        call.insert("confined".into(), json!(false));
        call.insert("held".into(), json!(false));
        call.insert("securePause".into(), json!(false));
        call.insert("provider".into(), json!("Edge"));
        call.insert("peerId".into(), json!(self.customer_call_id));
        insert_some(&mut call, "connectedTime", opt_ts(leg.connected_ms));
        insert_some(&mut call, "disconnectedTime", opt_ts(leg.disconnected_ms));
        if let Some(t) = leg.disconnect_type {
            call.insert("disconnectType".into(), json!(t));
        }
        call.insert(
            "self".into(),
            json!({"nameRaw": leg.user_name, "addressNormalized": format!("sip:{}@localhost", leg.user_id), "addressRaw": format!("sip:{}@localhost", leg.user_id), "addressDisplayable": "Unavailable"}),
        );
        call.insert(
            "other".into(),
            json!({"name": self.customer_name, "nameRaw": self.customer_name, "addressNormalized": self.ani, "addressRaw": self.ani, "addressDisplayable": displayable(&self.ani)}),
        );
        call.insert("afterCallWork".into(), acw);
        call.insert("afterCallWorkRequired".into(), json!(is_current && answered));
        if let Some(w) = &wrapup {
            call.insert("wrapup".into(), w.clone());
        }
        let mut p = Map::new();
        p.insert("id".into(), json!(leg.participant_id));
        p.insert("startTime".into(), json!(ts(leg.alert_ms)));
        insert_some(&mut p, "connectedTime", opt_ts(leg.connected_ms));
        insert_some(&mut p, "endTime", opt_ts(leg.disconnected_ms));
        p.insert("userId".into(), json!(leg.user_id));
        p.insert("queueId".into(), json!(self.queue_id));
        p.insert("purpose".into(), json!("agent"));
        p.insert("name".into(), json!(leg.user_name));
        p.insert("address".into(), json!(format!("sip:{}@localhost", leg.user_id)));
        p.insert("wrapupRequired".into(), json!(is_current && answered));
        p.insert("wrapupExpected".into(), json!(is_current && answered));
        if is_current && answered {
            p.insert("wrapupPrompt".into(), json!("mandatory"));
            p.insert("wrapupTimeoutMs".into(), json!(300_000));
        }
        p.insert("alertingTimeoutMs".into(), json!(8_000));
        insert_some(&mut p, "startAcwTime", opt_ts(leg.acw_start_ms));
        insert_some(&mut p, "endAcwTime", opt_ts(leg.acw_end_ms));
        if let Some(w) = wrapup {
            p.insert("wrapup".into(), w);
        }
        p.insert("attributes".into(), json!({}));
        p.insert("calls".into(), Value::Array(vec![Value::Object(call)]));
        empty_media(&mut p);
        Value::Object(p)
    }

    /// The full snapshot, as both the notification topic and `GET /api/v2/conversations/{id}` show it.
    pub fn snapshot(&self) -> Value {
        let ivr_end = self.start_ms + 1;
        let acd_end = self.agent.connected_ms.or(self.customer_end_ms);
        let mut participants = vec![
            self.customer_participant(),
            self.system_participant(&self.ivr_participant_id, "ivr", "Main IVR", self.start_ms, Some(ivr_end)),
            self.system_participant(&self.acd_participant_id, "acd", &self.queue_name, ivr_end, acd_end),
        ];
        if let Some(e) = &self.earlier_agent {
            participants.push(self.agent_participant(e, false));
        }
        if self.phase != Phase::EarlierAlerting {
            participants.push(self.agent_participant(&self.agent, true));
        }
        let mut c = Map::new();
        c.insert("id".into(), json!(self.id));
        c.insert("startTime".into(), json!(ts(self.start_ms)));
        if self.phase == Phase::Done {
            c.insert("endTime".into(), opt_ts(self.agent.acw_end_ms.or(self.customer_end_ms)));
        }
        c.insert("address".into(), json!(self.dnis));
        c.insert("maxParticipants".into(), json!(participants.len()));
        c.insert("recordingState".into(), json!("none"));
        c.insert("participants".into(), Value::Array(participants));
        c.insert("divisions".into(), json!([]));
        Value::Object(c)
    }

    /// The flatter body of `v2.users.{id}.conversations.calls`.
    pub fn calls_snapshot(&self) -> Value {
        let snap = self.snapshot();
        let participants: Vec<Value> = snap["participants"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let call = &p["calls"][0];
                        json!({
                            "id": p["id"], "name": p["name"], "address": p["address"], "purpose": p["purpose"],
                            "userId": p.get("userId").cloned().unwrap_or(Value::Null), "queueId": p.get("queueId").cloned().unwrap_or(Value::Null),
                            "state": call["state"], "direction": call["direction"], "held": false, "ani": self.ani, "dnis": self.dnis,
                            "connectedTime": p.get("connectedTime").cloned().unwrap_or(Value::Null),
                            "endTime": p.get("endTime").cloned().unwrap_or(Value::Null),
                            "disconnectType": call.get("disconnectType").cloned().unwrap_or(Value::Null),
                            "wrapupRequired": p["wrapupRequired"], "wrapup": p.get("wrapup").cloned().unwrap_or(Value::Null),
                            "afterCallWork": call.get("afterCallWork").cloned().unwrap_or(Value::Null),
                            "attributes": p["attributes"],
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({"id": self.id, "participants": participants, "recordingState": "none"})
    }

    /// The participant id of an agent leg of this user, current one first.
    pub fn agent_participant_of(&self, user_id: &str, participant_id: &str) -> Option<bool> {
        if self.agent.participant_id == participant_id {
            return Some(self.agent.user_id == user_id);
        }
        if let Some(e) = &self.earlier_agent
            && e.participant_id == participant_id
        {
            return Some(e.user_id == user_id);
        }
        None
    }
}
