//! The conversation as the notification topic and `GET /api/v2/conversations/{id}` show it: every
//! participant with its media entries (`calls[]` or `callbacks[]`), and `recentTransfers`.

use super::conversation::{AgentLeg, Conversation, Direction, Media};
use crate::clock::iso;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};

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

const MEDIA_LISTS: [&str; 9] = [
    "calls",
    "callbacks",
    "chats",
    "cobrowsesessions",
    "emails",
    "messages",
    "screenshares",
    "socialExpressions",
    "videos",
];

/// Puts `entry` in the media list of `media` and empty lists for the others.
fn media_lists(p: &mut Map<String, Value>, media: Media, entry: Value) {
    for k in MEDIA_LISTS {
        p.insert(k.into(), json!([]));
    }
    p.insert(media.path().into(), json!([entry]));
}

fn insert_some(m: &mut Map<String, Value>, k: &str, v: Value) {
    if !v.is_null() {
        m.insert(k.into(), v);
    }
}

/// The fields of a voice call's media entry that the simulator never changes.
fn call_flags(m: &mut Map<String, Value>) {
    for (k, v) in [
        ("recording", json!(false)),
        ("recordingState", json!("none")),
        ("muted", json!(false)),
        ("confined", json!(false)),
        ("securePause", json!(false)),
        ("provider", json!("Edge")),
    ] {
        m.insert(k.into(), v);
    }
}

fn address(name: &str, addr: &str) -> Value {
    json!({"name": name, "nameRaw": name, "addressNormalized": addr, "addressRaw": addr, "addressDisplayable": displayable(addr)})
}

impl Conversation {
    fn customer_participant(&self) -> Value {
        let ended = self.customer_end_ms;
        let state = if ended.is_some() { "disconnected" } else { "connected" };
        let mut m = Map::new();
        m.insert("id".into(), json!(self.customer_call_id));
        m.insert("state".into(), json!(state));
        m.insert(
            "initialState".into(),
            json!(if self.direction == Direction::Inbound { "offering" } else { "contacting" }),
        );
        m.insert("direction".into(), json!(self.direction.as_str()));
        m.insert("held".into(), json!(false));
        m.insert("connectedTime".into(), json!(ts(self.start_ms)));
        insert_some(&mut m, "disconnectedTime", opt_ts(ended));
        if ended.is_some() {
            m.insert("disconnectType".into(), json!("endpoint"));
        }
        match self.media {
            Media::Call => {
                call_flags(&mut m);
                m.insert("self".into(), address(&self.customer_name, &self.ani));
                m.insert("other".into(), address("", &self.dnis));
            }
            Media::Callback => {
                // A callback's customer carries the numbers to call, not an address.
                m.insert("callbackNumbers".into(), json!([displayable(&self.ani)]));
                m.insert("callbackUserName".into(), json!(self.customer_name));
                m.insert("skipEnabled".into(), json!(true));
                m.insert("timeoutSeconds".into(), json!(0));
            }
        }
        m.insert("afterCallWorkRequired".into(), json!(false));
        let mut p = Map::new();
        p.insert("id".into(), json!(self.customer_participant_id));
        p.insert("startTime".into(), json!(ts(self.start_ms)));
        p.insert("connectedTime".into(), json!(ts(self.start_ms)));
        insert_some(&mut p, "endTime", opt_ts(ended));
        let outbound_call = self.direction == Direction::Outbound && self.media == Media::Call;
        p.insert("purpose".into(), json!(if outbound_call { "external" } else { "customer" }));
        p.insert("name".into(), json!(self.customer_name));
        if self.media == Media::Call {
            p.insert("address".into(), json!(self.ani));
            p.insert("ani".into(), json!(if outbound_call { &self.dnis } else { &self.ani }));
            p.insert("dnis".into(), json!(if outbound_call { &self.ani } else { &self.dnis }));
        }
        p.insert("wrapupRequired".into(), json!(false));
        p.insert("attributes".into(), json!(self.attributes));
        media_lists(&mut p, self.media, Value::Object(m));
        Value::Object(p)
    }

    fn system_participant(&self, id: &str, purpose: &str, name: &str, start: i64, end: Option<i64>) -> Value {
        let state = if end.is_some() { "disconnected" } else { "connected" };
        let mut entry = json!({
            "id": format!("{id}-call"), "state": state, "direction": "inbound", "held": false,
            "connectedTime": ts(start),
        });
        if self.media == Media::Call {
            entry["self"] = address(name, &self.dnis);
            entry["other"] = address(&self.customer_name, &self.ani);
            entry["provider"] = json!("Edge");
        }
        if let Some(e) = end {
            entry["disconnectedTime"] = json!(ts(e));
            entry["disconnectType"] = json!("transfer");
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
        media_lists(&mut p, self.media, entry);
        Value::Object(p)
    }

    fn agent_participant(&self, leg: &AgentLeg) -> Value {
        let state = if leg.disconnected_ms.is_some() {
            "disconnected"
        } else if leg.connected_ms.is_some() {
            "connected"
        } else {
            leg.initial_state
        };
        let answered = leg.connected_ms.is_some();
        let acw = if !answered {
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
        let mut m = Map::new();
        m.insert("id".into(), json!(leg.call_id));
        m.insert("state".into(), json!(state));
        m.insert("initialState".into(), json!(leg.initial_state));
        m.insert("direction".into(), json!(leg.direction.as_str()));
        m.insert("held".into(), json!(leg.held));
        m.insert("peerId".into(), json!(self.customer_call_id));
        insert_some(&mut m, "connectedTime", opt_ts(leg.connected_ms));
        insert_some(&mut m, "disconnectedTime", opt_ts(leg.disconnected_ms));
        if let Some(t) = leg.disconnect_type {
            m.insert("disconnectType".into(), json!(t));
        }
        match self.media {
            Media::Call => {
                call_flags(&mut m);
                m.insert("self".into(), address(&leg.user_name, &format!("sip:{}@localhost", leg.user_id)));
                m.insert("other".into(), address(&self.customer_name, &self.ani));
            }
            Media::Callback => {
                m.insert("callbackNumbers".into(), json!([displayable(&self.ani)]));
                m.insert("callbackUserName".into(), json!(self.customer_name));
            }
        }
        m.insert("afterCallWork".into(), acw);
        m.insert("afterCallWorkRequired".into(), json!(answered));
        if let Some(w) = &wrapup {
            m.insert("wrapup".into(), w.clone());
        }
        let mut p = Map::new();
        p.insert("id".into(), json!(leg.participant_id));
        p.insert("startTime".into(), json!(ts(leg.alert_ms)));
        insert_some(&mut p, "connectedTime", opt_ts(leg.connected_ms));
        insert_some(&mut p, "endTime", opt_ts(leg.disconnected_ms));
        p.insert("userId".into(), json!(leg.user_id));
        if let Some(q) = &leg.queue_id {
            p.insert("queueId".into(), json!(q));
        }
        p.insert("purpose".into(), json!(leg.purpose));
        p.insert("name".into(), json!(leg.user_name));
        p.insert("address".into(), json!(format!("sip:{}@localhost", leg.user_id)));
        p.insert("wrapupRequired".into(), json!(answered));
        p.insert("wrapupExpected".into(), json!(answered));
        if answered {
            p.insert("wrapupPrompt".into(), json!("mandatory"));
            p.insert("wrapupTimeoutMs".into(), json!(300_000));
        }
        p.insert("alertingTimeoutMs".into(), json!(8_000));
        if let Some(c) = &leg.consult_participant_id {
            p.insert("consultParticipantId".into(), json!(c));
        }
        insert_some(&mut p, "startAcwTime", opt_ts(leg.acw_start_ms));
        insert_some(&mut p, "endAcwTime", opt_ts(leg.acw_end_ms));
        if let Some(w) = wrapup {
            p.insert("wrapup".into(), w);
        }
        p.insert("attributes".into(), json!(leg.attributes));
        media_lists(&mut p, self.media, Value::Object(m));
        Value::Object(p)
    }

    /// The full snapshot.
    pub fn snapshot(&self) -> Value {
        let mut participants = vec![self.customer_participant()];
        if self.direction == Direction::Inbound || self.media == Media::Callback {
            let ivr_end = self.start_ms + 1;
            let first_answer = self.legs.iter().find_map(|l| l.connected_ms);
            let acd_end = first_answer.or(self.customer_end_ms);
            if self.media == Media::Call {
                participants.push(self.system_participant(
                    &self.ivr_participant_id,
                    "ivr",
                    "Main IVR",
                    self.start_ms,
                    Some(ivr_end),
                ));
            }
            participants.push(self.system_participant(
                &self.acd_participant_id,
                "acd",
                &self.queue_name,
                ivr_end,
                acd_end,
            ));
        }
        participants.extend(self.legs.iter().filter(|l| l.visible).map(|l| self.agent_participant(l)));
        let transfers: Vec<Value> = self
            .recent_transfers
            .iter()
            .map(|t| {
                json!({"id": t.id, "state": t.state, "dateIssued": ts(t.issued_ms), "transferType": t.transfer_type,
                       "initiator": {"userId": t.initiator_user_id}, "modifiedBy": {"userId": t.initiator_user_id},
                       "destination": {"userId": t.destination_user_id}})
            })
            .collect();
        let mut c = Map::new();
        c.insert("id".into(), json!(self.id));
        c.insert("startTime".into(), json!(ts(self.start_ms)));
        if !self.is_active() {
            let end = self.legs.iter().filter_map(|l| l.acw_end_ms.or(l.disconnected_ms)).max();
            c.insert("endTime".into(), opt_ts(end.or(self.customer_end_ms)));
        }
        c.insert("address".into(), json!(self.dnis));
        c.insert("maxParticipants".into(), json!(participants.len()));
        c.insert("recordingState".into(), json!("none"));
        c.insert("participants".into(), Value::Array(participants));
        c.insert("recentTransfers".into(), Value::Array(transfers));
        c.insert("divisions".into(), json!([]));
        Value::Object(c)
    }

    /// The flatter body of `v2.users.{id}.conversations.calls`.
    pub fn calls_snapshot(&self) -> Value {
        let snap = self.snapshot();
        let list = self.media.path();
        let participants: Vec<Value> = snap["participants"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let call = &p[list][0];
                        json!({
                            "id": p["id"], "name": p["name"], "address": p.get("address").cloned().unwrap_or(Value::Null), "purpose": p["purpose"],
                            "userId": p.get("userId").cloned().unwrap_or(Value::Null), "queueId": p.get("queueId").cloned().unwrap_or(Value::Null),
                            "state": call["state"], "direction": call["direction"], "held": call["held"], "ani": self.ani, "dnis": self.dnis,
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
}
