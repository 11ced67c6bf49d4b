//! Transport: HTTPS with rustls, public-key pinning on the device (a primary and a
//! backup pin), and plain HTTP only to loopback or where asked for explicitly.

use std::path::{Path, PathBuf};
use std::process::Command;

use passage_core::sync::SpkiPin;
use passage_core::{ErrorKind, Role};

use crate::support::{BIN, Phone, Server, quick_client_options, runtime};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files in
/// `dir`; and the pin of its key.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf, SpkiPin) {
    let key = rcgen::KeyPair::generate().expect("a key pair");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("certificate parameters");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, cert.pem()).expect("the certificate file");
    std::fs::write(&key_path, key.serialize_pem()).expect("the key file");
    let pin = SpkiPin::of_certificate(cert.der()).expect("a pin");
    (cert_path, key_path, pin)
}

fn phone_with_pins(pins: Vec<SpkiPin>) -> Phone {
    let mut options = quick_client_options();
    options.pins = pins;
    options.retries = 0;
    Phone::with_options(Role::Talent, crate::support::TALENT, options)
}

#[test]
fn a_pinned_device_refuses_another_key_and_the_backup_pin_connects() {
    let certs = tempfile::tempdir().expect("a directory");
    let (cert, key, pin) = self_signed(certs.path(), "server");
    let (_, _, other) = self_signed(certs.path(), "other");
    let server = Server::start_with(&[
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ]);
    // The server prints the pin of its key, the same the device computes.
    assert_eq!(server.tls_pin.as_deref(), Some(pin.to_string().as_str()));
    let port = server.addr.rsplit(':').next().expect("a port");
    let url = format!("https://localhost:{port}");
    let case = server.case();
    let rt = runtime();

    // Pinned to another key: refused, whatever the certificate says; nothing recorded.
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let stranger = phone_with_pins(vec![other]);
    let e = stranger
        .try_enrol(rt.handle(), &url, &code)
        .expect_err("another key");
    assert_eq!(e.kind(), ErrorKind::RetryLater, "{e}");
    assert!(e.to_string().contains("pinned"), "{e}");
    assert!(stranger.store.sync_server().expect("read").is_none());
    // Without pins, a self-signed certificate is no authority's: refused too.
    let trusting = phone_with_pins(vec![]);
    let e = trusting
        .try_enrol(rt.handle(), &url, &code)
        .expect_err("no authority");
    assert_eq!(e.kind(), ErrorKind::RetryLater, "{e}");
    // The primary pin is another key's, the backup pin is the server's: it connects,
    // enrols and syncs.
    let phone = phone_with_pins(vec![other, pin]);
    phone.enrol(rt.handle(), &url, &code);
    let report = phone.sync(rt.handle()).expect("a sync over HTTPS");
    assert!(report.complete, "{report:?}");
    assert_eq!(
        phone.store.journey(&case).expect("the journey").talent_name,
        crate::support::TALENT
    );
}

#[test]
fn plain_http_is_for_loopback_unless_asked_for() {
    let data = tempfile::tempdir().expect("data");
    let refused = Command::new(BIN)
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("--tls-cert") && why.contains("--plain-http"),
        "{why}"
    );
    // Behind a proxy that terminates TLS, the operator says so.
    let mut serving = Command::new(BIN)
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "0.0.0.0:0", "--plain-http"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serving.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("a line");
    let _ = serving.kill();
    let _ = serving.wait();
    assert!(line.starts_with("listening on 0.0.0.0:"), "{line}");

    // A device does not send its token in the clear to another machine: refused before
    // any connection (192.0.2.1 is a documentation address, never reached).
    let rt = runtime();
    let phone = Phone::new(Role::Talent, crate::support::TALENT);
    let e = phone
        .try_enrol(rt.handle(), "http://192.0.2.1:7878", "K7QF-M2XD-9TRA")
        .expect_err("plain http to another machine");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("https://"), "{e}");
}

/// A certificate for `localhost` signed by a certificate authority of its own (not
/// self-signed), valid from `from` to `to` (years), written with its issuer as the
/// chain the server sends; and the pin of its key.
fn authority_signed(dir: &Path, name: &str, from: i32, to: i32) -> (PathBuf, PathBuf, SpkiPin) {
    let ca_key = rcgen::KeyPair::generate().expect("a key pair");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).expect("the CA");
    let key = rcgen::KeyPair::generate().expect("a key pair");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("parameters");
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(to, 1, 1);
    let cert = params.signed_by(&key, &ca, &ca_key).expect("signed by the CA");
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, format!("{}{}", cert.pem(), ca.pem())).expect("the chain file");
    std::fs::write(&key_path, key.serialize_pem()).expect("the key file");
    (
        cert_path,
        key_path,
        SpkiPin::of_certificate(cert.der()).expect("a pin"),
    )
}

fn https_server(cert: &Path, key: &Path) -> (Server, String) {
    let server = Server::start_with(&[
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ]);
    let port = server.addr.rsplit(':').next().expect("a port").to_owned();
    (server, format!("https://localhost:{port}"))
}

/// The pin says whose key it is, not whether the certificate is still good: an
/// expired certificate is refused whoever signed it, and one in date connects.
#[test]
fn a_pinned_certificate_signed_by_an_authority_must_still_be_in_date() {
    let certs = tempfile::tempdir().expect("a directory");
    let rt = runtime();
    let (cert, key, pin) = authority_signed(certs.path(), "expired", 2020, 2021);
    let (server, url) = https_server(&cert, &key);
    let case = server.case();
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let e = phone_with_pins(vec![pin])
        .try_enrol(rt.handle(), &url, &code)
        .expect_err("an expired certificate");
    assert!(e.to_string().contains("expired"), "{e}");
    drop(server);

    let (cert, key, pin) = authority_signed(certs.path(), "current", 2020, 2090);
    let (server, url) = https_server(&cert, &key);
    let case = server.case();
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let phone = phone_with_pins(vec![pin]);
    phone.enrol(rt.handle(), &url, &code);
    assert!(phone.sync(rt.handle()).expect("a sync").complete);
}

/// Pins are the store's, not one client's: once set, a client built without them (a
/// background worker, a second process) refuses to reach any server for that store,
/// rather than trusting certificate authorities behind the owner's back.
#[test]
fn pins_kept_in_the_store_bind_every_client_that_syncs_it() {
    let certs = tempfile::tempdir().expect("a directory");
    let (cert, key, pin) = self_signed(certs.path(), "server");
    let (server, url) = https_server(&cert, &key);
    let case = server.case();
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let rt = runtime();
    let unpinned = phone_with_pins(vec![]);
    unpinned.store.set_pins(&[pin]).expect("pins kept");
    let e = unpinned
        .try_enrol(rt.handle(), &url, &code)
        .expect_err("a client without the store's pins");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("pinned"), "{e}");
    assert!(unpinned.store.sync_server().expect("read").is_none());
    assert_eq!(unpinned.store.pins().expect("pins"), vec![pin]);
    // A client with the store's pin enrols and syncs it.
    let phone = phone_with_pins(vec![pin]);
    phone.store.set_pins(&[pin]).expect("pins kept");
    phone.enrol(rt.handle(), &url, &code);
    assert!(phone.sync(rt.handle()).expect("a sync").complete);
    phone.store.set_pins(&[]).expect("pins cleared");
    assert!(phone.store.pins().expect("pins").is_empty());
}
