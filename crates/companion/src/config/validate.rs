//! Values that are well-formed but not acceptable: bad URLs and schemes, zero intervals, names that
//! are not API names. Each error names the key and the layer that set it.

use super::{ConfigError, LoadedConfig};
use crate::hosts::{self, CloudHosts};

fn is_identifier_path(s: &str) -> bool {
    let ident = |p: &str| {
        let mut cs = p.chars();
        cs.next().is_some_and(|c| c.is_ascii_alphabetic()) && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    !s.is_empty() && s.len() <= 80 && s.split('.').count() <= 2 && s.split('.').all(ident)
}

pub(super) fn validate(l: &LoadedConfig) -> Result<(), ConfigError> {
    let c = &l.config;
    let bad = |key: &str, message: String| ConfigError::Invalid { key: key.into(), layer: l.origin(key), message };
    if crate::phone::country(&c.phone.default_country).is_none() {
        return Err(bad(
            "phone.default_country",
            format!("`{}` is not an ISO 3166 country code such as US or GB", c.phone.default_country),
        ));
    }
    let v = &c.salesforce.api_version;
    if !v.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|x| x.is_ascii_digit()) && b.bytes().all(|x| x.is_ascii_digit())
    }) {
        return Err(bad("salesforce.api_version", format!("`{v}` is not a version such as 62.0")));
    }
    // Tokens go to these: the clouds' own hosts over TLS (plain only on loopback, for a simulator).
    let token_hosts = [
        ("genesys.api_base", Some(c.genesys.api()), CloudHosts::Genesys, false),
        ("genesys.login_base", Some(c.genesys.login()), CloudHosts::Genesys, false),
        ("genesys.streaming_base", Some(c.genesys.streaming()), CloudHosts::Genesys, true),
        ("salesforce.login_base", Some(c.salesforce.login_base.clone()), CloudHosts::Salesforce, false),
        ("salesforce.instance_url", c.salesforce.instance_url.clone(), CloudHosts::Salesforce, false),
    ];
    for (key, url, cloud, socket) in token_hosts {
        let Some(url) = url else { continue };
        if let Err(e) = hosts::check(cloud, &url, socket) {
            return Err(bad(key, e.to_string()));
        }
    }
    // The redirect URIs are where the browser brings the code back: this machine's loopback.
    for (key, url) in
        [("genesys.redirect_uri", &c.genesys.redirect_uri), ("salesforce.redirect_uri", &c.salesforce.redirect_uri)]
    {
        match reqwest::Url::parse(url) {
            Ok(u) if u.scheme() == "http" && u.host().as_ref().is_some_and(hosts::is_loopback) => {}
            _ => return Err(bad(key, format!("`{url}` is not an http URL on this machine's loopback address"))),
        }
    }
    for (key, ports) in [
        ("genesys.redirect_fallback_ports", &c.genesys.redirect_fallback_ports),
        ("salesforce.redirect_fallback_ports", &c.salesforce.redirect_fallback_ports),
    ] {
        if ports.contains(&0) {
            return Err(bad(key, "a redirect port must be a fixed port registered on the OAuth client, not 0".into()));
        }
    }
    if let Some(host) = &c.salesforce.lightning_host
        && let Err(e) = hosts::check(
            CloudHosts::Salesforce,
            &if host.contains("://") { host.clone() } else { format!("https://{host}") },
            false,
        )
    {
        return Err(bad("salesforce.lightning_host", e.to_string()));
    }
    if let Some(feed) = &c.updates.feed_url
        && let Err(e) = crate::updates::feed_url(feed)
    {
        return Err(bad("updates.feed_url", e.to_string()));
    }
    if let Some(proxy) = &c.network.proxy
        && let Err(e) = crate::net::proxy::parse_proxy(proxy)
    {
        return Err(bad("network.proxy", e.to_string()));
    }
    if c.genesys.region.is_empty()
        || !c.genesys.region.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-')
    {
        return Err(bad(
            "genesys.region",
            format!("`{}` is not a region domain such as mypurecloud.com", c.genesys.region),
        ));
    }
    for (key, value) in [
        ("cache.positive_ttl_secs", c.cache.positive_ttl_secs),
        ("cache.negative_ttl_secs", c.cache.negative_ttl_secs),
        ("cache.purge_interval_secs", c.cache.purge_interval_secs),
        ("pop.lookup_budget_ms", c.pop.lookup_budget_ms),
        ("genesys.silence_timeout_secs", c.genesys.silence_timeout_secs),
        ("genesys.reconnect_initial_ms", c.genesys.reconnect_initial_ms),
        ("store.journal_retention_hours", c.store.journal_retention_hours),
        ("store.retention_days", c.store.retention_days),
        ("updates.check_interval_hours", c.updates.check_interval_hours),
    ] {
        if value == 0 {
            return Err(bad(key, "must be above 0".into()));
        }
    }
    if !(1..=744).contains(&c.recovery.window_hours) {
        return Err(bad("recovery.window_hours", "must be between 1 and 744 hours (31 days)".into()));
    }
    if !(1..=1440).contains(&c.recovery.interval_minutes) {
        return Err(bad("recovery.interval_minutes", "must be between 1 and 1440 minutes".into()));
    }
    if c.genesys.reconnect_max_ms < c.genesys.reconnect_initial_ms {
        return Err(bad("genesys.reconnect_max_ms", "must be at least genesys.reconnect_initial_ms".into()));
    }
    if !(1..=200).contains(&c.outbox.batch_size) {
        return Err(bad("outbox.batch_size", "must be between 1 and 200 (the sObject Collections limit)".into()));
    }
    if c.outbox.retry_initial_ms == 0 || c.outbox.retry_max_ms < c.outbox.retry_initial_ms {
        return Err(bad("outbox.retry_max_ms", "retry delays must be above 0, the longest at least the first".into()));
    }
    if !(0.0..=1.0).contains(&c.outbox.budget_slowdown_ratio) {
        return Err(bad("outbox.budget_slowdown_ratio", "must be a share between 0 and 1".into()));
    }
    let d = &c.disposition;
    for (key, v, optional) in [
        ("disposition.object", &d.object, false),
        ("disposition.external_id_field", &d.external_id_field, false),
        ("disposition.code_field", &d.code_field, false),
        ("disposition.reason_field", &d.reason_field, false),
        ("disposition.timestamp_field", &d.timestamp_field, false),
        ("disposition.contact_field", &d.contact_field, true),
        ("disposition.agent_extension_field", &d.agent_extension_field, true),
        ("disposition.media_field", &d.media_field, true),
        ("task.external_id_field", &c.task.external_id_field, false),
    ] {
        if !(optional && v.is_empty()) && (!is_identifier_path(v) || v.contains('.')) {
            return Err(bad(key, format!("`{v}` is not an API name")));
        }
    }
    if c.search.objects.is_empty() {
        return Err(bad("search.objects", "at least one object must be searched".into()));
    }
    for o in &c.search.objects {
        if !is_identifier_path(&o.name) || o.name.contains('.') {
            return Err(bad("search.objects", format!("`{}` is not an sObject API name", o.name)));
        }
        if !o.fields.iter().any(|f| f == "Id") {
            return Err(bad("search.objects", format!("the fields of {} must include Id", o.name)));
        }
        if let Some(f) = o.fields.iter().find(|f| !is_identifier_path(f)) {
            return Err(bad(
                "search.objects",
                format!("`{f}` is not a field name (letters, digits, _ and one optional relationship dot)"),
            ));
        }
    }
    Ok(())
}
