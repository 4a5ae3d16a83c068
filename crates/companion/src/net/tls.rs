//! Whom a TLS connection trusts: the operating system's verifier (its trust store, with the roots IT
//! deploys through GPO, Intune, Jamf or `update-ca-certificates`) plus the managed extra CA files, e.g.
//! a TLS-inspecting proxy's. One configuration serves HTTP and the notification socket.

use super::NetworkError;
use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads every certificate of a PEM file (one or more `BEGIN CERTIFICATE` blocks).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetworkError> {
    let unreadable = |reason: String| NetworkError::CaFile { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(unreadable("holds no `BEGIN CERTIFICATE` block".into()));
    }
    Ok(certs)
}

/// The TLS client configuration: the platform verifier with the extra roots, or (where the system
/// has no trust store at all, e.g. a stripped thin client) the Mozilla roots compiled in, plus them.
pub fn client_config(extra_ca_files: &[PathBuf]) -> Result<Arc<ClientConfig>, NetworkError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut extra = vec![];
    for path in extra_ca_files {
        extra.extend(read_ca_file(path)?);
    }
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new_with_extra_roots(extra.clone(), provider.clone()) {
            Ok(v) => Arc::new(v),
            Err(e) => {
                tracing::warn!(error = %e, "the system's trust store could not be used; using the built-in roots");
                bundled_verifier(extra, provider.clone())?
            }
        };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetworkError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn bundled_verifier(
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, NetworkError> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for cert in extra {
        roots.add(cert).map_err(|e| NetworkError::Tls(format!("an extra CA certificate is not usable: {e}")))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| NetworkError::Tls(e.to_string()))?;
    Ok(verifier)
}
