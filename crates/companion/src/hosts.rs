//! Where a token may go: only to the clouds' own hosts, over TLS. Every URL a token is sent to (the
//! configured bases, the instance URL Salesforce's token response or the keychain names, the socket
//! URL a Genesys channel names) passes one of these checks first. Plain `http`/`ws` is accepted on the
//! loopback interface only (a local simulator); nothing leaves the machine unencrypted.

/// The domains of Salesforce's own hosts (My Domain, instances, Lightning, sandboxes, Government
/// Cloud Plus, the China region).
const SALESFORCE_DOMAINS: &[&str] =
    &["salesforce.com", "force.com", "cloudforce.com", "salesforce.mil", "sfcrmproducts.cn"];

/// The domains of Genesys Cloud's regions (`api.`, `login.`, `streaming.` hosts under them).
const GENESYS_DOMAINS: &[&str] = &[
    "mypurecloud.com",
    "mypurecloud.ie",
    "mypurecloud.de",
    "mypurecloud.jp",
    "mypurecloud.com.au",
    "pure.cloud",
    "us-gov-pure.cloud",
    "eusc-pure.cloud",
];

/// Why a URL may not carry a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("`{0}` is not a URL")]
    NotAUrl(String),
    #[error("`{url}` is not {scheme}: a token never travels unencrypted off this machine")]
    NotEncrypted { url: String, scheme: &'static str },
    #[error("`{url}` is not a {cloud} host ({domains}): a token goes only to the cloud's own hosts")]
    Foreign { url: String, cloud: &'static str, domains: String },
}

/// Which cloud, and so which hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudHosts {
    Salesforce,
    Genesys,
}

impl CloudHosts {
    fn domains(self) -> &'static [&'static str] {
        match self {
            CloudHosts::Salesforce => SALESFORCE_DOMAINS,
            CloudHosts::Genesys => GENESYS_DOMAINS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            CloudHosts::Salesforce => "Salesforce",
            CloudHosts::Genesys => "Genesys Cloud",
        }
    }
}

/// Whether a host is this machine's loopback interface.
pub fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks a URL a token will be sent to: `https` (or `wss` for a socket) on one of the cloud's
/// domains, or plain on loopback. Returns the parsed URL.
pub fn check(cloud: CloudHosts, url: &str, socket: bool) -> Result<reqwest::Url, HostError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| HostError::NotAUrl(url.chars().take(200).collect()))?;
    let host = parsed.host().ok_or_else(|| HostError::NotAUrl(url.chars().take(200).collect()))?;
    let (secure, plain) = if socket { ("wss", "ws") } else { ("https", "http") };
    let loopback = is_loopback(&host);
    if parsed.scheme() != secure && !(loopback && parsed.scheme() == plain) {
        return Err(HostError::NotEncrypted { url: url.chars().take(200).collect(), scheme: secure });
    }
    // Credentials in the URL would be sent too; a cloud's URL never has them.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(HostError::NotAUrl(url.chars().take(200).collect()));
    }
    let own = match host {
        url::Host::Domain(d) => {
            let d = d.to_ascii_lowercase();
            cloud.domains().iter().any(|dom| d == *dom || d.ends_with(&format!(".{dom}")))
        }
        _ => false,
    };
    if !(own || loopback) {
        return Err(HostError::Foreign {
            url: url.chars().take(200).collect(),
            cloud: cloud.name(),
            domains: cloud.domains().iter().map(|d| format!("*.{d}")).collect::<Vec<_>>().join(", "),
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_clouds_own_https_hosts_pass_and_loopback_may_be_plain() {
        for ok in [
            "https://acme.my.salesforce.com",
            "https://acme--uat.sandbox.my.salesforce.com/",
            "https://na139.salesforce.com",
            "https://acme.my.salesforce.mil",
            "http://127.0.0.1:18004",
            "http://localhost:1717",
        ] {
            assert!(check(CloudHosts::Salesforce, ok, false).is_ok(), "{ok}");
        }
        for ok in ["https://api.mypurecloud.ie", "https://login.usw2.pure.cloud", "https://api.use2.us-gov-pure.cloud"]
        {
            assert!(check(CloudHosts::Genesys, ok, false).is_ok(), "{ok}");
        }
        assert!(check(CloudHosts::Genesys, "wss://streaming.mypurecloud.com/channels/streaming-0-x", true).is_ok());
        assert!(check(CloudHosts::Genesys, "ws://127.0.0.1:9/channels/x", true).is_ok());
    }

    #[test]
    fn plain_foreign_and_look_alike_hosts_are_refused() {
        let refused = |cloud, url: &str, socket| check(cloud, url, socket).unwrap_err();
        assert!(matches!(
            refused(CloudHosts::Salesforce, "http://acme.my.salesforce.com", false),
            HostError::NotEncrypted { .. }
        ));
        assert!(matches!(refused(CloudHosts::Salesforce, "https://evil.example", false), HostError::Foreign { .. }));
        assert!(matches!(
            refused(CloudHosts::Salesforce, "https://salesforce.com.evil.example", false),
            HostError::Foreign { .. }
        ));
        assert!(matches!(
            refused(CloudHosts::Salesforce, "https://evilsalesforce.com", false),
            HostError::Foreign { .. }
        ));
        assert!(matches!(
            refused(CloudHosts::Salesforce, "https://u:p@acme.my.salesforce.com", false),
            HostError::NotAUrl(_)
        ));
        assert!(matches!(
            refused(CloudHosts::Genesys, "ws://streaming.mypurecloud.com/channels/x", true),
            HostError::NotEncrypted { .. }
        ));
        assert!(matches!(refused(CloudHosts::Genesys, "wss://attacker.example/x", true), HostError::Foreign { .. }));
        assert!(matches!(refused(CloudHosts::Genesys, "http://10.0.0.5:80", false), HostError::NotEncrypted { .. }));
        assert!(refused(CloudHosts::Genesys, "https://api.mypurecloud.com", true).to_string().contains("wss"));
    }

    proptest! {
        #[test]
        fn any_text_is_a_url_checked_or_refused(s in ".{0,80}") {
            let _ = check(CloudHosts::Salesforce, &s, false);
        }
    }
}
