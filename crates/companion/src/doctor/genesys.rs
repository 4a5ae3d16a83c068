//! The Genesys half of `doctor` with a kept sign-in: what the agent's role allows, and a real
//! notification channel opened and its socket connected.

use super::{Check, check};
use crate::genesys::rest::GenesysClient;
use std::time::Duration;

/// A notification channel created for the signed-in agent and its socket opened through the network
/// layer: what the feed does at every start.
pub async fn notification_channel_check(genesys: &GenesysClient) -> Option<Check> {
    genesys.user_id()?;
    let name = "Genesys: notification channel";
    let channel = match genesys.create_channel().await {
        Ok(c) => c,
        Err(e) => return Some(check(name, false, format!("no channel could be created: {e}"), None)),
    };
    let limits = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
    let opened =
        tokio::time::timeout(Duration::from_secs(10), genesys.network().open_socket(&channel.connect_uri, limits));
    Some(match opened.await {
        Ok(Ok(mut socket)) => {
            let _ = socket.close(None).await;
            check(name, true, "a channel was created and its socket opened", None)
        }
        Ok(Err(e)) => check(
            name,
            false,
            format!("the channel's socket did not open: {e}"),
            Some("allow WebSockets (wss) to the streaming host through the proxy and firewall".into()),
        ),
        Err(_) => check(name, false, "the channel's socket did not open in 10 s", None),
    })
}

/// What the signed-in agent's Genesys role allows the companion to do: apply wrap-ups (when
/// `genesys.apply_wrapups` is on). None when nobody is signed in on this desktop (the check needs a
/// kept sign-in) or applying is turned off. Participant attribute writes (the identification carried
/// to the next agent) name no permission in the API: the app reports the first refusal.
pub async fn genesys_permission_check(cfg: &crate::config::Config, genesys: &GenesysClient) -> Option<Check> {
    if !cfg.genesys.apply_wrapups || genesys.user_id().is_none() {
        return None;
    }
    let permission = crate::engine::WRAPUP_PERMISSION;
    Some(match genesys.has_permission(permission).await {
        Ok(true) => {
            check("Genesys: wrap-ups set here are applied in Genesys", true, format!("the role has {permission}"), None)
        }
        Ok(false) => check(
            "Genesys: wrap-ups set here are applied in Genesys",
            false,
            format!(
                "the agent's role lacks {permission}: a wrap-up set in the companion reaches Salesforce but not Genesys"
            ),
            Some(format!("grant {permission} to the agents' role, or set genesys.apply_wrapups = false")),
        ),
        Err(e) => check("Genesys: wrap-up permission", false, format!("could not be read: {e}"), None),
    })
}

/// Whether the read-back of interactions handled while the app was closed can see every media (the
/// analytics details query needs either analytics permission; without one it reads the call history,
/// calls only). `None` when the read-back is off or nobody is signed in.
pub async fn readback_permission_check(cfg: &crate::config::Config, genesys: &GenesysClient) -> Option<Check> {
    if !cfg.recovery.enabled || genesys.user_id().is_none() {
        return None;
    }
    let name = "Genesys: interactions handled while the app was closed";
    let [detail_view, agent_view] = crate::engine::ANALYTICS_PERMISSIONS;
    let mut missing = true;
    for p in [detail_view, agent_view] {
        match genesys.has_permission(p).await {
            Ok(true) => {
                missing = false;
                break;
            }
            Ok(false) => {}
            Err(e) => return Some(check(name, false, format!("the permission could not be read: {e}"), None)),
        }
    }
    Some(if missing {
        check(
            name,
            false,
            format!(
                "the role has neither {detail_view} nor {agent_view}: only calls are recovered, not chats, emails or messages"
            ),
            Some(format!("grant {agent_view} to the agents' role")),
        )
    } else {
        check(name, true, format!("every media is read back ({} h)", cfg.recovery.window_hours), None)
    })
}
