//! Signing in to the two clouds and keeping the sign-ins: one session per cloud ([`Clouds`]), created
//! signed out and changed in place by every sign-in and sign-out, so the engine, the pusher and the
//! desk never hold copies of a token that could drift apart.

use crate::auth::{self, BrowserChoice};
use crate::config::Config;
use crate::genesys::rest::{GenesysClient, GenesysError};
use crate::hosts::{self, CloudHosts};
use crate::salesforce::errors::SfErrorKind;
use crate::salesforce::{PersistRefreshToken, Refresh, SalesforceClient};
use crate::secrets::{SecretStore, StoredSignIn, key, load, save};
use std::sync::Arc;

/// Why signing in to the clouds failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("sign-in failed: {0}")]
    Auth(#[from] auth::AuthError),
    #[error("{0}")]
    Genesys(#[from] GenesysError),
    #[error("Salesforce gave no instance URL and none is configured")]
    NoInstance,
    #[error("the Salesforce instance is not to be trusted with a token: {0}")]
    Host(#[from] crate::hosts::HostError),
    #[error("Salesforce could not be reached to resume the kept sign-in ({0}); it is kept for the next try")]
    Salesforce(crate::salesforce::errors::SfError),
    #[error("signed out on this machine, but {cloud:?} could not be told to revoke the sign-in: {reason}")]
    NotRevoked { cloud: Cloud, reason: String },
    #[error("not signed in")]
    NotSignedIn,
    #[error("{0}")]
    Network(#[from] crate::net::NetworkError),
}

/// One of the two clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    Genesys,
    Salesforce,
}

/// When a sign-in may ask the person.
#[derive(Debug, Clone, Copy)]
pub enum Prompt<'a> {
    /// Only a kept sign-in that still works (nobody has to act).
    Never,
    /// A kept sign-in that still works, else the browser.
    IfNeeded(&'a BrowserChoice),
    /// The browser, whatever is kept (`companion login`).
    Always(&'a BrowserChoice),
}

impl<'a> Prompt<'a> {
    fn browser(self) -> Option<&'a BrowserChoice> {
        match self {
            Prompt::Never => None,
            Prompt::IfNeeded(b) | Prompt::Always(b) => Some(b),
        }
    }
}

/// The session of each cloud. Cloning shares them.
#[derive(Debug, Clone)]
pub struct Clouds {
    pub genesys: Arc<GenesysClient>,
    pub salesforce: Arc<SalesforceClient>,
    /// The proxy and trust every connection to either cloud uses.
    pub network: crate::net::Network,
}

impl Clouds {
    /// Both sessions, signed out, over one HTTP client (its connection pools and TLS roots are shared;
    /// an error, never a panic, when no TLS client can be made).
    pub fn signed_out(cfg: &Config) -> Result<Clouds, SignInError> {
        let network = crate::net::Network::new(&cfg.network)?;
        Ok(Clouds {
            genesys: Arc::new(GenesysClient::new(&network, &cfg.genesys.api(), String::new())),
            salesforce: Arc::new(SalesforceClient::new(
                network.http(),
                cfg.salesforce.instance_url.as_deref().unwrap_or_default(),
                &cfg.salesforce,
                String::new(),
            )),
            network,
        })
    }

    /// The signed-in agent's Genesys user id.
    pub fn user_id(&self) -> Option<String> {
        self.genesys.user_id()
    }

    /// Both clouds at once: kept sign-ins when they still work, else the browser; the new sign-ins are
    /// kept in `secrets`.
    pub async fn connect(
        cfg: &Config,
        secrets: &Arc<dyn SecretStore>,
        browser: &BrowserChoice,
    ) -> Result<Clouds, SignInError> {
        let clouds = Clouds::signed_out(cfg)?;
        for cloud in [Cloud::Genesys, Cloud::Salesforce] {
            if !clouds.sign_in(cloud, cfg, secrets, Prompt::IfNeeded(browser)).await? {
                return Err(SignInError::NotSignedIn);
            }
        }
        Ok(clouds)
    }

    /// Signs one cloud's session in. Returns false when nothing kept works and `prompt` allows no
    /// browser.
    pub async fn sign_in(
        &self,
        cloud: Cloud,
        cfg: &Config,
        secrets: &Arc<dyn SecretStore>,
        prompt: Prompt<'_>,
    ) -> Result<bool, SignInError> {
        match cloud {
            Cloud::Genesys => self.sign_in_genesys(cfg, secrets.as_ref(), prompt).await,
            Cloud::Salesforce => self.sign_in_salesforce(cfg, secrets, prompt).await,
        }
    }

    /// Genesys gives a desktop app no refresh token: a kept access token is used while it has more
    /// than a minute left.
    async fn sign_in_genesys(
        &self,
        cfg: &Config,
        secrets: &dyn SecretStore,
        prompt: Prompt<'_>,
    ) -> Result<bool, SignInError> {
        let now = chrono::Utc::now().timestamp_millis();
        let gkey = key("genesys", &cfg.genesys.client_id, &cfg.genesys.login());
        let kept = match prompt {
            Prompt::Always(_) => None,
            _ => load(secrets, &gkey)
                .ok()
                .flatten()
                .filter(|s| s.access_token.is_some() && s.expires_at_ms.is_some_and(|e| e > now + 60_000)),
        };
        let (sign_in, fresh) = match (kept, prompt.browser()) {
            (Some(s), _) => (s, false),
            (None, None) => return Ok(false),
            (None, Some(b)) => {
                let g = auth::genesys(
                    &cfg.genesys,
                    &self.network,
                    &b.for_redirect(&cfg.genesys.redirect_uri, &cfg.genesys.redirect_fallback_ports, &self.network),
                )
                .await?;
                let s = StoredSignIn {
                    access_token: Some(g.access_token),
                    expires_at_ms: g.expires_in_secs.map(|e| now + e as i64 * 1000),
                    ..Default::default()
                };
                if let Err(e) = save(secrets, &gkey, &s) {
                    tracing::warn!(error = %e, "the Genesys sign-in could not be kept in the keychain");
                }
                (s, true)
            }
        };
        let token = sign_in.access_token.clone().unwrap_or_default();
        self.genesys.set_token(token.clone());
        match self.genesys.me().await {
            Ok((user_id, user_name)) => {
                self.genesys.signed_in(token, user_id, user_name, sign_in.expires_at_ms);
                Ok(true)
            }
            Err(e) if e.needs_sign_in() && !fresh => {
                // The kept token was revoked elsewhere: forget it and sign in again.
                self.genesys.signed_out();
                let _ = secrets.delete(&gkey);
                Box::pin(self.sign_in_genesys(cfg, secrets, prompt)).await
            }
            Err(e) => {
                self.genesys.signed_out();
                Err(e.into())
            }
        }
    }

    /// Salesforce: a kept refresh token that still refreshes, else the browser. A rotated refresh
    /// token is kept at once.
    async fn sign_in_salesforce(
        &self,
        cfg: &Config,
        secrets: &Arc<dyn SecretStore>,
        prompt: Prompt<'_>,
    ) -> Result<bool, SignInError> {
        let skey = key("salesforce", &cfg.salesforce.client_id, &cfg.salesforce.login_base);
        let token_url = format!("{}/services/oauth2/token", cfg.salesforce.login_base.trim_end_matches('/'));
        let persist = {
            let (secrets, skey) = (secrets.clone(), skey.clone());
            Arc::new(move |rotated: &str| {
                if let Ok(Some(mut s)) = load(secrets.as_ref(), &skey) {
                    s.refresh_token = Some(rotated.to_string());
                    if let Err(e) = save(secrets.as_ref(), &skey, &s) {
                        tracing::warn!(error = %e, "the rotated Salesforce refresh token could not be kept");
                    }
                }
            }) as PersistRefreshToken
        };
        let refresh_with = |refresh_token: String| Refresh {
            token_url: token_url.clone(),
            client_id: cfg.salesforce.client_id.clone(),
            refresh_token: std::sync::Mutex::new(refresh_token),
            persist: Some(persist.clone()),
        };
        let kept = match prompt {
            Prompt::Always(_) => None,
            _ => load(secrets.as_ref(), &skey)
                .ok()
                .flatten()
                .filter(|s| s.refresh_token.is_some() && s.instance_url.is_some()),
        };
        if let Some(s) = kept {
            let instance = cfg.salesforce.instance_url.clone().or(s.instance_url.clone()).unwrap_or_default();
            // A keychain entry another program wrote could name any host: the token goes only to Salesforce.
            hosts::check(CloudHosts::Salesforce, &instance, false)?;
            let refresh = refresh_with(s.refresh_token.clone().unwrap_or_default());
            self.salesforce.signed_in(&instance, String::new(), Some(refresh));
            match self.salesforce.refresh_session().await {
                Ok(()) => return Ok(true),
                // Salesforce refused the refresh token: it is dead, forget it and sign in again.
                Err(e) if e.kind == SfErrorKind::Session => {
                    self.salesforce.signed_out();
                    let _ = secrets.delete(&skey);
                }
                // An outage is not a refusal: the kept sign-in stays for the next try.
                Err(e) => {
                    self.salesforce.signed_out();
                    return Err(SignInError::Salesforce(e));
                }
            }
        }
        let Some(browser) = prompt.browser() else { return Ok(false) };
        let s = auth::salesforce(
            &cfg.salesforce,
            &self.network,
            &browser.for_redirect(&cfg.salesforce.redirect_uri, &cfg.salesforce.redirect_fallback_ports, &self.network),
        )
        .await?;
        let instance = cfg.salesforce.instance_url.clone().or(s.instance_url.clone()).ok_or(SignInError::NoInstance)?;
        hosts::check(CloudHosts::Salesforce, &instance, false)?;
        let refresh = s.refresh_token.map(|rt| {
            let kept = StoredSignIn {
                refresh_token: Some(rt.clone()),
                instance_url: Some(instance.clone()),
                ..Default::default()
            };
            if let Err(e) = save(secrets.as_ref(), &skey, &kept) {
                tracing::warn!(error = %e, "the Salesforce sign-in could not be kept in the keychain");
            }
            refresh_with(rt)
        });
        self.salesforce.signed_in(&instance, s.access_token, refresh);
        Ok(true)
    }

    /// Signs out of a cloud: the token is revoked there, and forgotten here (session and keychain).
    /// Returns whether there was a sign-in to end.
    pub async fn sign_out(&self, cloud: Cloud, cfg: &Config, secrets: &dyn SecretStore) -> Result<bool, SignInError> {
        let k = match cloud {
            Cloud::Genesys => key("genesys", &cfg.genesys.client_id, &cfg.genesys.login()),
            Cloud::Salesforce => key("salesforce", &cfg.salesforce.client_id, &cfg.salesforce.login_base),
        };
        let kept = load(secrets, &k).ok().flatten();
        let mut found = kept.is_some();
        // Revoked there if the cloud answers; forgotten here (session and keychain) whatever it says.
        let revoked: Result<(), String> = match cloud {
            Cloud::Genesys => {
                let token = kept.and_then(|s| s.access_token).unwrap_or_else(|| self.genesys.token());
                let told = if token.is_empty() {
                    Ok(())
                } else {
                    found = true;
                    self.genesys.set_token(token);
                    match self.genesys.sign_out().await {
                        Ok(()) | Err(GenesysError::Unauthorized(_)) => Ok(()),
                        Err(e) => Err(e.to_string()),
                    }
                };
                self.genesys.signed_out();
                told
            }
            Cloud::Salesforce => {
                let session = self
                    .salesforce
                    .refresh_token()
                    .or_else(|| Some(self.salesforce.access_token()).filter(|t| !t.is_empty()));
                let told = match kept.and_then(|s| s.refresh_token).or(session) {
                    Some(t) => {
                        found = true;
                        auth::salesforce_revoke(&cfg.salesforce, &self.network, &t).await.map_err(|e| e.to_string())
                    }
                    None => Ok(()),
                };
                self.salesforce.signed_out();
                told
            }
        };
        let _ = secrets.delete(&k);
        revoked.map_err(|reason| SignInError::NotRevoked { cloud, reason })?;
        Ok(found)
    }
}

#[cfg(feature = "demo")]
impl Clouds {
    /// Both sessions signed in against the simulator (it approves at once), keeping nothing.
    pub async fn simulated(cfg: &Config) -> Result<Clouds, SignInError> {
        let secrets: Arc<dyn SecretStore> =
            Arc::new(crate::secrets::MemoryOnly::new("simulated sign-ins are kept in memory only"));
        Clouds::connect(cfg, &secrets, &BrowserChoice::Simulator).await
    }
}
