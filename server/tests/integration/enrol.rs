//! Enrolment: one-time codes for talents, caseworkers and family, exchanged for
//! device tokens over `POST /v1/enrol`.

use passage_core::Role;

use crate::support::{CASEWORKER, Server, code_in, sync_request};

#[test]
fn each_role_enrols_once_per_code() {
    let server = Server::start();
    let case = server.case();

    let code = server.code(&["enrol", "talent", case.as_str()]);
    assert_eq!(code.len(), 14, "{code}");
    // Typed in lower case, without dashes: still the code.
    let typed = code.replace('-', "").to_lowercase();
    let (status, answer) = server.enrol(&typed, "Rana's phone");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["role"], "talent");
    assert_eq!(answer["cases"], serde_json::json!([case.as_str()]));
    assert_eq!(answer["expires_at"], serde_json::Value::Null);
    assert_eq!(answer["token"].as_str().unwrap().len(), 43);
    // A second use of the same code: 401.
    let (status, answer) = server.enrol(&code, "someone else's phone");
    assert_eq!(status, 401);
    assert!(
        answer["error"].as_str().unwrap().contains("not valid"),
        "{answer}"
    );

    let code = server.code(&["enrol", "caseworker", CASEWORKER]);
    let (status, answer) = server.enrol(&code, "Amira's laptop");
    assert_eq!(status, 200);
    assert_eq!(answer["role"], "caseworker");
    assert_eq!(answer["cases"], serde_json::json!([case.as_str()]));

    let out = server.admin_ok(&["enrol", "family", case.as_str(), "--expires-in", "30d"]);
    assert!(out.contains("access ends: "), "{out}");
    let (status, answer) = server.enrol(&code_in(&out), "Mother's phone");
    assert_eq!(status, 200);
    assert_eq!(answer["role"], "family");
    let expires: chrono::DateTime<chrono::Utc> = answer["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "{days}");

    // Listed: three active devices and the caseworker's first code (from `caseworker
    // add`), still pending.
    let tokens = server.admin_ok(&["tokens", "--case", case.as_str()]);
    assert_eq!(
        tokens.lines().filter(|l| l.contains("active")).count(),
        3,
        "{tokens}"
    );
    assert!(
        tokens.contains("Mother's phone") && tokens.contains("code pending"),
        "{tokens}"
    );
}

#[test]
fn bad_enrolments_are_refused() {
    let server = Server::start();
    let case = server.case();
    for code in ["", "K7QF-M2XD-9TRA", "not a code at all", "K7QF"] {
        let (status, _) = server.enrol(code, "a phone");
        assert_eq!(status, 401, "{code:?}");
    }
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let (status, _) = server.enrol(&code, "   ");
    assert_eq!(status, 400);
    let reply = server.post(
        "/v1/enrol",
        &[("Content-Type", "application/json")],
        b"{\"code\": 12",
    );
    assert_eq!(reply.status, 400);
    // A revoked code no longer works, and the bad attempts did not use it up.
    let tokens = server.admin_ok(&["tokens"]);
    let id = tokens
        .lines()
        .find(|l| l.contains("talent") && l.contains("code pending"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    server.admin_ok(&["token", "revoke", &id]);
    assert_eq!(server.enrol(&code, "a phone").0, 401);
    // A fresh one does.
    let code = server.code(&["enrol", "talent", case.as_str()]);
    server.device(Role::Talent, "Rana Haddad", &code);
}

#[test]
fn a_lost_enrolment_answer_can_be_asked_for_again() {
    use passage_core::sync::wire::{self};
    let server = Server::start();
    let case = server.case();
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let sync_with = |token: &str| {
        let body = wire::encode(&sync_request(vec![], Some(vec![])));
        let auth = format!("Bearer {token}");
        server
            .post(
                "/v1/sync",
                &[
                    ("Authorization", auth.as_str()),
                    ("Content-Type", wire::CONTENT_TYPE),
                ],
                &body,
            )
            .status
    };
    let proof = "a secret only Rana's phone knows";
    // The server commits the first redemption; its answer is lost on the way.
    let (status, lost) = server.enrol_with_proof(&code, "Rana's phone", proof);
    assert_eq!(status, 200);
    // The phone tries again with the same code and proof: a new token, and the one
    // nobody received no longer works.
    let (status, again) = server.enrol_with_proof(&code, "Rana's phone", proof);
    assert_eq!(status, 200, "{again}");
    assert_ne!(lost["token"], again["token"]);
    assert_eq!(sync_with(lost["token"].as_str().expect("token")), 401);
    // Another device may not take the code over, even under the same name.
    assert_eq!(server.enrol(&code, "someone else's phone").0, 401);
    assert_eq!(server.enrol(&code, "Rana's phone").0, 401);
    // Once the phone has synced, the code is spent for good, proof or not.
    assert_eq!(sync_with(again["token"].as_str().expect("token")), 200);
    assert_eq!(server.enrol_with_proof(&code, "Rana's phone", proof).0, 401);
}
