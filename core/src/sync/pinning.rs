//! Public-key pinning: a device that is given pins trusts the server's certificate if
//! and only if its public key is one of them, whoever signed it.
//!
//! A pin is `sha256/` and the base64 of SHA-256 over a certificate's
//! SubjectPublicKeyInfo (the form HPKP and Android's network security configuration
//! use; `passage-server serve` prints its own). Apps give two: the server key's, and
//! a backup key kept offline for the day the first must be replaced, so that a device
//! in the field keeps working through a key change. With pins, no certificate
//! authority is trusted: a certificate from a compromised or coerced authority, or one
//! a phone's owner was made to install, is refused, and a self-signed certificate of
//! an organisation's own server is accepted. The name and validity of the certificate
//! are still checked, and the handshake's signatures as rustls always does.

use std::sync::Arc;

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// A pinned public key: SHA-256 of its SubjectPublicKeyInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpkiPin(pub [u8; 32]);

impl std::str::FromStr for SpkiPin {
    type Err = Error;

    fn from_str(text: &str) -> Result<SpkiPin> {
        let bad = || {
            Error::InvalidInput(format!(
                "{text:?} is not a pin: sha256/ and the base64 of 32 bytes (passage-server prints its own)"
            ))
        };
        let encoded = text.trim().strip_prefix("sha256/").ok_or_else(bad)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| bad())?;
        Ok(SpkiPin(bytes.try_into().map_err(|_| bad())?))
    }
}

impl std::fmt::Display for SpkiPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sha256/{}",
            base64::engine::general_purpose::STANDARD.encode(self.0)
        )
    }
}

impl SpkiPin {
    /// The pin of a certificate's public key.
    pub fn of_certificate(der: &[u8]) -> Option<SpkiPin> {
        let cert = CertificateDer::from(der.to_vec());
        let parsed = webpki::EndEntityCert::try_from(&cert).ok()?;
        Some(SpkiPin(
            Sha256::digest(parsed.subject_public_key_info().as_ref()).into(),
        ))
    }
}

/// Trusts exactly the pinned keys (see the module's documentation).
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    pins: Vec<SpkiPin>,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    pub(crate) fn new(pins: Vec<SpkiPin>, provider: Arc<CryptoProvider>) -> PinnedVerifier {
        PinnedVerifier { pins, provider }
    }
}

fn refused(why: String) -> rustls::Error {
    rustls::Error::General(why)
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| refused(format!("the server's certificate cannot be read: {e}")))?;
        let pin = SpkiPin(Sha256::digest(cert.subject_public_key_info().as_ref()).into());
        if !self.pins.contains(&pin) {
            return Err(refused(format!(
                "the server's key ({pin}) is not one of the pinned keys: another server, or a network in between"
            )));
        }
        cert.verify_is_valid_for_subject_name(server_name).map_err(|e| {
            refused(format!(
                "the server's certificate is not for {server_name:?}: {e}"
            ))
        })?;
        check_validity(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Checks that `now` is within the certificate's validity period, read from the
/// certificate itself: the pin says whose key it is, not whether the certificate is
/// still good, and this holds whoever signed it (the server itself or an authority).
/// A certificate whose dates cannot be read is refused.
fn check_validity(end_entity: &CertificateDer<'_>, now: UnixTime) -> std::result::Result<(), rustls::Error> {
    use x509_cert::der::Decode as _;
    let cert = x509_cert::Certificate::from_der(end_entity.as_ref())
        .map_err(|e| refused(format!("the server's certificate cannot be read: {e}")))?;
    let validity = &cert.tbs_certificate.validity;
    let now = now.as_secs();
    if now < validity.not_before.to_unix_duration().as_secs() {
        return Err(refused(
            "the server's certificate is not valid yet (is the phone's clock right?)".into(),
        ));
    }
    if now > validity.not_after.to_unix_duration().as_secs() {
        return Err(refused("the server's certificate has expired".into()));
    }
    Ok(())
}
