//! HTTPS and WSS for the cloud-facing listeners: a certificate authority made at start and a
//! server certificate it signs for the host name the URLs use. The control API stays plain HTTP.

use std::sync::Arc;

/// What the listeners present, and the authority a client must trust to accept it.
#[derive(Clone)]
pub struct SimTls {
    /// The host name in the URLs (and in the certificate), e.g. `localhost`.
    pub host: String,
    /// The authority's certificate (PEM): what a client adds to its trust.
    pub ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for SimTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTls").field("host", &self.host).finish_non_exhaustive()
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("the simulator's TLS could not be set up: {0}")]
pub struct TlsSetupError(String);

impl SimTls {
    /// A new authority and a certificate for `host` (and 127.0.0.1, ::1) signed by it.
    pub fn generate(host: &str) -> Result<SimTls, TlsSetupError> {
        let err = |e: rcgen::Error| TlsSetupError(e.to_string());
        let ca_key = rcgen::KeyPair::generate().map_err(err)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Cloud simulator test CA");
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let key = rcgen::KeyPair::generate().map_err(err)?;
        let mut params =
            rcgen::CertificateParams::new(vec![host.to_string(), "127.0.0.1".into(), "::1".into()]).map_err(err)?;
        params.distinguished_name.push(rcgen::DnType::CommonName, host);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).map_err(err)?;

        let chain = vec![cert.der().clone()];
        let private = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
            .map_err(|e| TlsSetupError(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| TlsSetupError(e.to_string()))?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(SimTls { host: host.to_string(), ca_pem: ca_cert.pem(), server: Arc::new(server) })
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.clone())
    }
}
