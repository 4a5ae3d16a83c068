//! Sign-in with Authorization Code + PKCE (S256) for both clouds, through the `oauth2` crate. The
//! "browser" is a seam: the desktop opens the system browser and listens on the loopback redirect;
//! against the simulator, which approves at once, following the redirect over HTTP is enough.

use crate::config::{GenesysConfig, SalesforceConfig};
use crate::net::Network;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EmptyExtraTokenFields, ExtraTokenFields, PkceCodeChallenge,
    RedirectUrl, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::future::Future;

mod system_browser;

pub use system_browser::{RedirectListener, SystemBrowser};

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A configured URL is not usable.
    #[error("the sign-in URL is not valid: {0}")]
    BadUrl(String),
    /// The browser step failed or was refused.
    #[error("the sign-in page did not complete: {0}")]
    Browser(String),
    /// The redirect came back with another `state`: not our request.
    #[error("the sign-in answer did not match the request (state mismatch); try again")]
    StateMismatch,
    /// The identity provider said no.
    #[error("the sign-in was refused: {0}")]
    Refused(String),
    /// The code exchange failed.
    #[error("the token exchange failed: {0}")]
    Exchange(String),
}

/// A completed sign-in.
#[derive(Clone, Serialize)]
pub struct Tokens {
    #[serde(skip)]
    pub access_token: String,
    /// Salesforce only; Genesys gives a PKCE client none.
    #[serde(skip)]
    pub refresh_token: Option<String>,
    /// Seconds the access token lives, when the server says (Genesys does, Salesforce does not).
    pub expires_in_secs: Option<u64>,
    /// Salesforce's instance URL.
    pub instance_url: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Token values never reach logs.
        f.debug_struct("Tokens")
            .field("expires_in_secs", &self.expires_in_secs)
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

/// What the redirect URI received.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Callback {
    /// Reads the query of a redirect URL.
    pub fn from_url(url: &str) -> Result<Callback, AuthError> {
        let u = reqwest::Url::parse(url).map_err(|e| AuthError::Browser(format!("bad redirect {e}")))?;
        let mut c = Callback::default();
        for (k, v) in u.query_pairs() {
            match k.as_ref() {
                "code" => c.code = Some(v.into_owned()),
                "state" => c.state = Some(v.into_owned()),
                "error" => c.error = Some(v.into_owned()),
                "error_description" => c.error_description = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(c)
    }
}

/// Shows the authorization page to the user and returns what came back to the redirect URI.
pub trait Browser {
    /// Makes ready to take the redirect and says which redirect URI this sign-in uses: the configured
    /// one, or (the system browser on a shared host) the first of its pool whose port is free.
    fn redirect_uri(&self, configured: &str) -> impl Future<Output = Result<String, AuthError>> + Send {
        let uri = configured.to_string();
        async move { Ok(uri) }
    }
    /// Opens `url`; resolves with the redirect's parameters.
    fn authorize(&self, url: &reqwest::Url) -> impl Future<Output = Result<Callback, AuthError>> + Send;
}

/// Where sign-in pages open: the one place this choice is made (the desk, `companion run` and
/// `companion login` all take one).
#[derive(Debug, Clone)]
pub enum BrowserChoice {
    /// The system browser, with a loopback listener on each cloud's redirect URI.
    System { timeout: std::time::Duration },
    /// The simulator's sign-in pages approve at once: following the redirect is the whole sign-in.
    #[cfg(feature = "demo")]
    Simulator,
}

impl BrowserChoice {
    /// The system browser, waiting five minutes for the person.
    pub fn system() -> BrowserChoice {
        BrowserChoice::System { timeout: std::time::Duration::from_secs(300) }
    }

    /// The browser for a cloud whose redirect URI is `redirect_uri`.
    /// The browser for a cloud: its redirect URI and the ports tried after it (`redirect_fallback_ports`).
    pub fn for_redirect<'a>(
        &'a self,
        redirect_uri: &str,
        fallback_ports: &[u16],
        network: &'a Network,
    ) -> ChosenBrowser<'a> {
        ChosenBrowser {
            choice: self,
            system: match self {
                BrowserChoice::System { timeout } => {
                    Some(SystemBrowser::new(redirect_uri, fallback_ports.to_vec(), *timeout))
                }
                #[cfg(feature = "demo")]
                BrowserChoice::Simulator => None,
            },
            network,
        }
    }

    /// Whether sign-ins are approved by the simulator (the demo).
    pub fn is_simulated(&self) -> bool {
        !matches!(self, BrowserChoice::System { .. })
    }
}

/// A [`BrowserChoice`] for one cloud's redirect URI.
#[derive(Debug)]
pub struct ChosenBrowser<'a> {
    #[cfg_attr(not(feature = "demo"), allow(dead_code))]
    choice: &'a BrowserChoice,
    system: Option<SystemBrowser>,
    #[cfg_attr(not(feature = "demo"), allow(dead_code))]
    network: &'a Network,
}

impl Browser for ChosenBrowser<'_> {
    async fn redirect_uri(&self, configured: &str) -> Result<String, AuthError> {
        match &self.system {
            Some(system) => system.redirect_uri(configured).await,
            None => Ok(configured.to_string()),
        }
    }

    async fn authorize(&self, url: &reqwest::Url) -> Result<Callback, AuthError> {
        if let Some(system) = &self.system {
            return system.authorize(url).await;
        }
        match self.choice {
            BrowserChoice::System { .. } => Err(AuthError::Browser("no system browser was prepared".into())),
            #[cfg(feature = "demo")]
            BrowserChoice::Simulator => FollowRedirect(oauth_http(self.network)?).authorize(url).await,
        }
    }
}

/// For identity providers that approve without a person (the simulator): GET the authorization URL and
/// read the `Location` of the 302. Only in builds with the `demo` feature.
#[cfg(feature = "demo")]
#[derive(Debug, Clone)]
pub struct FollowRedirect(pub reqwest::Client);

#[cfg(feature = "demo")]
impl Browser for FollowRedirect {
    async fn authorize(&self, url: &reqwest::Url) -> Result<Callback, AuthError> {
        let r = self
            .0
            .get(url.clone())
            .send()
            .await
            .map_err(|e| AuthError::Browser(crate::net::explain(&e.without_url())))?;
        let location = r.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).ok_or_else(|| {
            AuthError::Browser(format!("the authorization page answered {} without a redirect", r.status()))
        })?;
        Callback::from_url(location)
    }
}

/// A client for the token exchange: never follows redirects (OAuth 2.0 security advice).
pub fn oauth_http(network: &Network) -> Result<reqwest::Client, AuthError> {
    network
        .builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| AuthError::Exchange(format!("no HTTPS client could be made: {e}")))
}

fn check_callback(cb: Callback, csrf: &CsrfToken) -> Result<String, AuthError> {
    if cb.state.as_deref() != Some(csrf.secret().as_str()) {
        return Err(AuthError::StateMismatch);
    }
    if let Some(e) = cb.error {
        return Err(AuthError::Refused(cb.error_description.map(|d| format!("{e}: {d}")).unwrap_or(e)));
    }
    cb.code.ok_or_else(|| AuthError::Browser("the redirect carried no code".into()))
}

fn url<T>(make: impl FnOnce(String) -> Result<T, oauth2::url::ParseError>, s: String) -> Result<T, AuthError> {
    make(s.clone()).map_err(|e| AuthError::BadUrl(format!("{s}: {e}")))
}

/// A client for the authorization code flow: an authorization and a token endpoint, a redirect URI;
/// `T` is the token response (Salesforce's carries extra fields).
type CodeFlowClient<T> = oauth2::Client<
    BasicErrorResponse,
    T,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// Authorization Code + PKCE (S256) against one identity provider: the browser step, the `state`
/// check, the code exchange. Both clouds sign in through this.
async fn code_flow<T>(
    client_id: &str,
    authorize: String,
    token: String,
    redirect_uri: &str,
    network: &Network,
    browser: &impl Browser,
) -> Result<T, AuthError>
where
    T: TokenResponse + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let redirect_uri = browser.redirect_uri(redirect_uri).await?;
    let client: CodeFlowClient<T> = oauth2::Client::new(ClientId::new(client_id.to_string()))
        .set_auth_uri(url(AuthUrl::new, authorize)?)
        .set_token_uri(url(TokenUrl::new, token)?)
        .set_redirect_uri(url(RedirectUrl::new, redirect_uri)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf) = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
    let code = check_callback(browser.authorize(&auth_url).await?, &csrf)?;
    client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http(network)?)
        .await
        .map_err(|e| AuthError::Exchange(crate::net::explain(&e)))
}

/// Signs in to Genesys Cloud.
pub async fn genesys(cfg: &GenesysConfig, network: &Network, browser: &impl Browser) -> Result<Tokens, AuthError> {
    let login = cfg.login();
    let (authorize, token_url) = (format!("{login}/oauth/authorize"), format!("{login}/oauth/token"));
    let token: StandardTokenResponse<EmptyExtraTokenFields, BasicTokenType> =
        code_flow(&cfg.client_id, authorize, token_url, &cfg.redirect_uri, network, browser).await?;
    Ok(Tokens {
        access_token: token.access_token().secret().clone(),
        refresh_token: None,
        expires_in_secs: token.expires_in().map(|d| d.as_secs()),
        instance_url: None,
    })
}

/// The extra fields of Salesforce's token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SalesforceFields {
    pub instance_url: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
}

impl ExtraTokenFields for SalesforceFields {}

/// Signs in to Salesforce.
pub async fn salesforce(
    cfg: &SalesforceConfig,
    network: &Network,
    browser: &impl Browser,
) -> Result<Tokens, AuthError> {
    let login = cfg.login_base.trim_end_matches('/');
    let (authorize, token_url) =
        (format!("{login}/services/oauth2/authorize"), format!("{login}/services/oauth2/token"));
    let token: StandardTokenResponse<SalesforceFields, BasicTokenType> =
        code_flow(&cfg.client_id, authorize, token_url, &cfg.redirect_uri, network, browser).await?;
    Ok(Tokens {
        access_token: token.access_token().secret().clone(),
        refresh_token: token.refresh_token().map(|r| r.secret().clone()),
        expires_in_secs: None,
        instance_url: Some(token.extra_fields().instance_url.clone()),
    })
}

/// Revokes a Salesforce token (a refresh token revokes its sessions too).
pub async fn salesforce_revoke(cfg: &SalesforceConfig, network: &Network, token: &str) -> Result<(), AuthError> {
    let url = format!("{}/services/oauth2/revoke", cfg.login_base.trim_end_matches('/'));
    let r = oauth_http(network)?
        .post(url)
        .form(&[("token", token)])
        .send()
        .await
        .map_err(|e| AuthError::Exchange(crate::net::explain(&e)))?;
    match r.status().as_u16() {
        200 => Ok(()),
        // Already invalid: nothing left to revoke.
        400 => Ok(()),
        s => Err(AuthError::Exchange(format!("the revocation answered HTTP {s}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    async fn get(port: u16, target: &str) -> (u16, String) {
        let r = reqwest::get(format!("http://127.0.0.1:{port}{target}")).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    #[tokio::test]
    async fn the_redirect_listener_survives_stray_and_slow_connections_and_ends_only_on_its_state() {
        let port = free_port();
        let redirect = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/oauth/genesys")).unwrap();
        let waiting = tokio::spawn(RedirectListener::bind(&redirect).await.unwrap().wait("s-123"));
        // A connection that says nothing holds up nobody.
        let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(get(port, "/favicon.ico").await.0, 404);
        let (status, page) = get(port, "/oauth/genesys?code=stolen&state=not-ours").await;
        assert_eq!(status, 400, "a redirect without this sign-in's state ends nothing");
        assert!(page.contains("not the sign-in"), "{page}");
        assert!(!waiting.is_finished());
        let (status, page) =
            get(port, "/oauth/genesys?error=access_denied&error_description=%3Cb%3Eno%3C/b%3E&state=s-123").await;
        assert_eq!(status, 200);
        assert!(
            page.contains("Sign-in refused") && !page.contains("<b>"),
            "the page says what happened, as text: {page}"
        );
        let cb = waiting.await.unwrap().unwrap();
        assert_eq!(cb.error.as_deref(), Some("access_denied"));
    }

    #[tokio::test]
    async fn a_redirect_with_a_code_is_handed_back_and_ipv6_loopback_is_bracketed() {
        let port = free_port();
        let redirect = reqwest::Url::parse(&format!("http://localhost:{port}/OauthRedirect")).unwrap();
        let waiting = tokio::spawn(RedirectListener::bind(&redirect).await.unwrap().wait("st"));
        let (status, page) = get(port, "/OauthRedirect?code=abc&state=st").await;
        assert_eq!(status, 200);
        assert!(page.contains("return to Agent Companion"), "{page}");
        assert_eq!(waiting.await.unwrap().unwrap().code.as_deref(), Some("abc"));
        // [::1] where this machine has IPv6: the redirect parses and binds with its brackets.
        let v6 = reqwest::Url::parse(&format!("http://[::1]:{}/cb", free_port())).unwrap();
        if let Ok(l) = RedirectListener::bind(&v6).await {
            assert_eq!(l.listeners.len(), 1);
        }
        let remote = reqwest::Url::parse("http://example.com:8765/cb").unwrap();
        assert!(matches!(RedirectListener::bind(&remote).await, Err(AuthError::BadUrl(_))));
    }
}
