//! HTTPS: the server's certificate and key, loaded for rustls (on the ring provider,
//! like the device's client), and the pin devices may keep of its public key.
//!
//! Device tokens are bearer secrets and every body carries personal data: the server
//! speaks plain HTTP only on a loopback address (behind a reverse proxy on the same
//! machine), or where the operator says so explicitly (`--plain-http`, behind a proxy
//! that terminates TLS elsewhere). [`check_plain`] is that rule.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest as _, Sha256};

use crate::error::{Result, ServerError};

/// The TLS configuration of a certificate chain and its private key (PEM files).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let input = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        ServerError::Input(format!("the TLS {what} {} cannot be read: {e}", path.display()))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| input("certificate", cert, &e))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| input("certificate", cert, &e))?;
    if chain.is_empty() {
        return Err(input("certificate", cert, &"no certificate in it"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| input("key", key, &e))?;
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Input(format!("TLS cannot be set up: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| ServerError::Input(format!("the TLS certificate and key do not go together: {e}")))?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The pin of the first certificate's public key, as devices are given it:
/// `sha256/` and the base64 of SHA-256 over its SubjectPublicKeyInfo.
pub fn pin_of(cert: &Path) -> Result<String> {
    let first = CertificateDer::pem_file_iter(cert)
        .map_err(|e| ServerError::Input(format!("the TLS certificate cannot be read: {e}")))?
        .next()
        .ok_or_else(|| ServerError::Input("no certificate in the TLS certificate file".into()))?
        .map_err(|e| ServerError::Input(format!("the TLS certificate cannot be read: {e}")))?;
    let parsed = webpki::EndEntityCert::try_from(&first)
        .map_err(|e| ServerError::Input(format!("the TLS certificate cannot be parsed: {e}")))?;
    let spki = parsed.subject_public_key_info();
    Ok(format!(
        "sha256/{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki.as_ref()))
    ))
}

/// Refuses plain HTTP on an address other machines can reach, unless asked for.
pub fn check_plain(flag: &str, addr: SocketAddr, plain_allowed: bool) -> Result<()> {
    if addr.ip().is_loopback() || plain_allowed {
        return Ok(());
    }
    Err(ServerError::Input(format!(
        "--{flag} {addr} is not a loopback address, and plain HTTP there would carry tokens and \
         health data in the clear: give --tls-cert and --tls-key, or --plain-http if a proxy in \
         front terminates TLS"
    )))
}
