//! Links into Salesforce that the app opens in the browser. Only https URLs on the org's own host are
//! built, and only from a validated record id, so nothing a caller or an IVR supplies can steer the
//! browser elsewhere.

use super::ids;
use crate::config::SalesforceConfig;

/// Why a link was not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("`{0}` is not a Salesforce record id")]
    NotARecordId(String),
    #[error("records open only over https; {0} is not an https Salesforce address")]
    NotHttps(String),
    #[error("the Salesforce address `{0}` is not a valid host")]
    BadHost(String),
}

/// The Lightning base (`https://host`) for the configured org.
pub fn lightning_base(cfg: &SalesforceConfig, instance_url: &str) -> Result<String, LinkError> {
    let configured =
        cfg.lightning_host.as_deref().map(|h| if h.contains("://") { h.to_string() } else { format!("https://{h}") });
    let base = configured.unwrap_or_else(|| instance_url.to_string());
    let Some(rest) = base.strip_prefix("https://") else { return Err(LinkError::NotHttps(base)) };
    let host = rest.trim_end_matches('/');
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !valid {
        return Err(LinkError::BadHost(base));
    }
    // My Domain instance hosts have a Lightning twin; other hosts redirect there themselves.
    let host = match host.strip_suffix(".my.salesforce.com") {
        Some(domain) if cfg.lightning_host.is_none() => format!("{domain}.lightning.force.com"),
        _ => host.to_string(),
    };
    Ok(format!("https://{host}"))
}

/// `https://<org>/lightning/r/<Object>/<id18>/view` for a validated id.
pub fn record_url(cfg: &SalesforceConfig, instance_url: &str, record_id: &str) -> Result<String, LinkError> {
    let id = ids::to_id18(record_id).ok_or_else(|| LinkError::NotARecordId(record_id.chars().take(40).collect()))?;
    let base = lightning_base(cfg, instance_url)?;
    // Unknown key prefixes still open: Salesforce resolves the object from the id.
    let object = ids::object_of(&id).unwrap_or("Contact");
    Ok(format!("{base}/lightning/r/{object}/{id}/view"))
}

/// The new-contact page with the caller's number filled in (digits and `+` only).
pub fn new_contact_url(cfg: &SalesforceConfig, instance_url: &str, address: Option<&str>) -> Result<String, LinkError> {
    let base = lightning_base(cfg, instance_url)?;
    if let Some(email) = address.and_then(|a| crate::screenpop::address::email(a).ok()) {
        // Only an address that passed the check reaches the URL, encoded twice like the number.
        let once: String = url::form_urlencoded::byte_serialize(email.as_bytes()).collect();
        let twice: String = url::form_urlencoded::byte_serialize(once.as_bytes()).collect();
        return Ok(format!("{base}/lightning/o/Contact/new?defaultFieldValues=Email%3D{twice}"));
    }
    let number: String = address.unwrap_or("").chars().filter(|c| c.is_ascii_digit() || *c == '+').take(16).collect();
    if number.is_empty() {
        return Ok(format!("{base}/lightning/o/Contact/new"));
    }
    // defaultFieldValues is itself URL-encoded: `+` becomes %2B.
    Ok(format!("{base}/lightning/o/Contact/new?defaultFieldValues=Phone%3D{}", number.replace('+', "%252B")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg() -> SalesforceConfig {
        SalesforceConfig::default()
    }

    #[test]
    fn record_links_use_the_lightning_twin_of_a_my_domain() {
        let url = record_url(&cfg(), "https://acme.my.salesforce.com", "0038c00000000gI").unwrap();
        assert_eq!(url, "https://acme.lightning.force.com/lightning/r/Contact/0038c00000000gIAAQ/view");
        let lead = record_url(&cfg(), "https://na1.salesforce.com/", "00Q8c00000000gI").unwrap();
        assert!(lead.starts_with("https://na1.salesforce.com/lightning/r/Lead/00Q8c00000000gI"), "{lead}");
    }

    #[test]
    fn hostile_ids_and_hosts_are_refused() {
        for bad in ["javascript:alert(1)", "0038c00000000gI/../../x", "", "0038c00000000gIAAA"] {
            assert!(matches!(
                record_url(&cfg(), "https://acme.my.salesforce.com", bad),
                Err(LinkError::NotARecordId(_))
            ));
        }
        assert!(matches!(record_url(&cfg(), "http://127.0.0.1:8080", "0038c00000000gI"), Err(LinkError::NotHttps(_))));
        for host in ["https://evil.com@acme.my.salesforce.com", "https://acme.my.salesforce.com/x?y", "https://"] {
            assert!(matches!(record_url(&cfg(), host, "0038c00000000gI"), Err(LinkError::BadHost(_))), "{host}");
        }
        let configured = SalesforceConfig { lightning_host: Some("acme.lightning.force.com".into()), ..cfg() };
        assert!(
            record_url(&configured, "http://127.0.0.1:1", "0038c00000000gI")
                .unwrap()
                .starts_with("https://acme.lightning.force.com/")
        );
    }

    #[test]
    fn new_contact_carries_only_the_number() {
        let url = new_contact_url(&cfg(), "https://acme.my.salesforce.com", Some("+14155550100")).unwrap();
        assert_eq!(
            url,
            "https://acme.lightning.force.com/lightning/o/Contact/new?defaultFieldValues=Phone%3D%252B14155550100"
        );
        let hostile = new_contact_url(&cfg(), "https://acme.my.salesforce.com", Some("+1&x=<script>")).unwrap();
        assert!(hostile.ends_with("Phone%3D%252B1"), "{hostile}");
    }

    proptest! {
        #[test]
        fn every_built_link_is_https_on_the_org_host(id in "[A-Za-z0-9]{15}", junk in ".{0,20}") {
            let url = record_url(&cfg(), "https://acme.my.salesforce.com", &id).unwrap();
            prop_assert!(url.starts_with("https://acme.lightning.force.com/lightning/r/"));
            prop_assert!(url.bytes().all(|b| b.is_ascii_alphanumeric() || b"/:._".contains(&b)));
            let _ = record_url(&cfg(), "https://acme.my.salesforce.com", &junk);
        }
    }
}
