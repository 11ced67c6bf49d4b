//! Enrolment: one-time codes that a person types (or scans) on a new device, and the
//! device tokens they are exchanged for (`POST /v1/enrol`, docs/protocol.md).
//!
//! A code is 60 random bits in Crockford's base32, `K7QF-M2XD-9TRA`: no I, L, O or U
//! to misread, case and dashes ignored when typed. It is stored as its SHA-256 only,
//! works once, and expires (7 days for talents and caseworkers; a family share code
//! lives as long as the share). A device token is 32 random bytes in base64url,
//! stored as its SHA-256 only, so a copy of the database lets nobody sync; it is
//! revocable, and a family token expires with its share. Guessing a code online is
//! hopeless: 2^60 codes, each valid for days at most and only until first use.

use base64::Engine as _;
use passage_core::{CaseId, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::storage::{AuditEntry, Device, NewDevice, Storage, StorageError, Timestamp};

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code, without its dashes.
const CODE_CHARS: usize = 12;
/// How long a talent's or caseworker's enrolment code stays valid.
pub const DEFAULT_CODE_TTL: i64 = 7 * 24 * 3600;
/// Longest device name kept.
const MAX_DEVICE_NAME: usize = 100;

/// Random bytes from the operating system.
fn random<const N: usize>() -> Result<[u8; N], StorageError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| StorageError::Backend(format!("no randomness from the OS: {e}")))?;
    Ok(bytes)
}

/// A new enrolment code, `XXXX-XXXX-XXXX`.
pub fn new_code() -> Result<String, StorageError> {
    let bits = u64::from_le_bytes(random::<8>()?);
    let mut out = String::with_capacity(CODE_CHARS + 2);
    for i in 0..CODE_CHARS {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let digit = (bits >> (5 * i)) & 31;
        out.push(char::from(ALPHABET[digit as usize]));
    }
    Ok(out)
}

/// The code as stored and compared: upper case, no dashes or spaces, and the letters
/// Crockford reads as digits (I and L as 1, O as 0) turned into them. `None` if it
/// cannot be a code.
pub fn normalize_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_CHARS);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == CODE_CHARS).then_some(out)
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

pub fn code_hash(normalized: &str) -> [u8; 32] {
    sha256(normalized)
}

/// A new device token: 32 random bytes, base64url without padding.
pub fn new_token() -> Result<String, StorageError> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?))
}

pub fn token_hash(token: &str) -> [u8; 32] {
    sha256(token)
}

/// A duration as people write it: `30d`, `12h`, `90m`, `2w`. In seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    // Split before the last character, on a character boundary whatever was typed.
    let (split, _) = text.char_indices().last()?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let unit = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        "w" => 7 * 24 * 3600,
        _ => return None,
    };
    number.checked_mul(unit)
}

/// What an admin command issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub device: i64,
    pub code: String,
    pub code_expires_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// Who a new code is for.
#[derive(Clone, Copy, Debug)]
pub enum Grant<'a> {
    Talent(&'a CaseId),
    Caseworker(i64),
    /// Family of the case, until the share's expiry.
    Family(&'a CaseId, Timestamp),
}

/// Issues a one-time code (inside the caller's transaction).
pub fn issue(
    tx: &mut dyn crate::storage::Tx,
    grant: Grant<'_>,
    now: Timestamp,
) -> Result<Issued, StorageError> {
    let code = new_code()?;
    let normalized = normalize_code(&code).ok_or_else(|| StorageError::Backend("bad new code".into()))?;
    let (role, case, caseworker, code_expires_at, expires_at) = match grant {
        Grant::Talent(case) => (Role::Talent, Some(case), None, now + DEFAULT_CODE_TTL, None),
        Grant::Caseworker(id) => (Role::Caseworker, None, Some(id), now + DEFAULT_CODE_TTL, None),
        Grant::Family(case, until) => (Role::Family, Some(case), None, until, Some(until)),
    };
    let device = tx.add_device(&NewDevice {
        role,
        case,
        caseworker,
        code_hash: code_hash(&normalized),
        code_expires_at,
        expires_at,
        created_at: now,
    })?;
    Ok(Issued {
        device,
        code,
        code_expires_at,
        expires_at,
    })
}

/// `POST /v1/enrol` body.
#[derive(Debug, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    pub device: String,
    /// A secret the device chose for this enrolment (16 to 128 characters). Sent
    /// again with the same code, it proves that a retry comes from the device that
    /// redeemed the code first, whose answer was lost.
    pub proof: String,
}

/// Length of an enrolment proof, in characters.
const PROOF_CHARS: std::ops::RangeInclusive<usize> = 16..=128;

/// `POST /v1/enrol` answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrolAnswer {
    pub token: String,
    pub role: String,
    pub cases: Vec<String>,
    pub expires_at: Option<String>,
    /// The person the device speaks for, as the server knows them (the case's talent,
    /// the caseworker); what the server vouches for in the history of its changes.
    pub person: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// 400: the request cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// 401: the code is unknown, used, revoked or expired.
    #[error("this enrolment code is not valid (unknown, already used, revoked or expired)")]
    InvalidCode,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Exchanges a code for a device token, and audits the enrolment.
pub fn redeem(
    storage: &dyn Storage,
    request: &EnrolRequest,
    now: Timestamp,
) -> Result<EnrolAnswer, EnrolError> {
    let name = request.device.trim();
    if name.is_empty() || name.chars().count() > MAX_DEVICE_NAME {
        return Err(EnrolError::BadRequest(format!(
            "the device name must have 1 to {MAX_DEVICE_NAME} characters"
        )));
    }
    // An operator's terminal shows device names (`tokens`, `audit`): a name that moves
    // the cursor, clears the screen or turns text around could forge what it shows.
    if name.chars().any(crate::text::is_control) {
        return Err(EnrolError::BadRequest(
            "the device name has control characters".into(),
        ));
    }
    if !PROOF_CHARS.contains(&request.proof.chars().count()) {
        return Err(EnrolError::BadRequest(format!(
            "the proof must have {} to {} characters",
            PROOF_CHARS.start(),
            PROOF_CHARS.end()
        )));
    }
    let normalized = normalize_code(&request.code);
    let token = new_token()?;
    let proof = sha256(&request.proof);
    let mut tx = storage.begin()?;
    let device = match &normalized {
        Some(code) => tx.redeem_code(&code_hash(code), &token_hash(&token), &proof, name, now)?,
        None => None,
    };
    let Some(device) = device else {
        // Nothing to store for a wrong code (and no device to audit): it is logged and
        // counted by the caller, and the transaction is dropped.
        return Err(EnrolError::InvalidCode);
    };
    let cases = enrolled_cases(&mut *tx, &device)?;
    tx.audit(&AuditEntry {
        at: now,
        device: Some(device.id),
        role: Some(device.role),
        action: "enrol".into(),
        case: device.case.clone(),
        doc: None,
        allowed: true,
        reason: None,
        bytes_in: 0,
        bytes_out: 0,
    })?;
    tx.commit()?;
    Ok(EnrolAnswer {
        token,
        role: device.role.as_str().to_owned(),
        cases,
        expires_at: device.expires_at.map(crate::time_text),
        person: device.person().map(str::to_owned),
    })
}

/// The cases a device was enrolled for: its own, or its caseworker's.
fn enrolled_cases(tx: &mut dyn crate::storage::Tx, device: &Device) -> Result<Vec<String>, StorageError> {
    if let Some(case) = &device.case {
        return Ok(vec![case.to_string()]);
    }
    let Some(caseworker) = &device.caseworker else {
        return Ok(vec![]);
    };
    Ok(tx
        .cases()?
        .into_iter()
        .filter(|c| c.caseworker.as_ref().is_some_and(|w| w.id == caseworker.id))
        .map(|c| c.case.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typable_and_forgiving() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), 14);
        assert_eq!(code.as_bytes()[4], b'-');
        let normalized = normalize_code(&code).unwrap();
        assert_eq!(normalize_code(&code.to_lowercase()), Some(normalized.clone()));
        assert_eq!(normalize_code(&normalized), Some(normalized));
        assert_eq!(normalize_code("k7qf m2xd 9tra"), Some("K7QFM2XD9TRA".into()));
        assert_eq!(normalize_code("K7QF-M2XD-9TRI"), Some("K7QFM2XD9TR1".into()));
        assert_eq!(normalize_code("K7QF-M2XD-9TRU"), None);
        assert_eq!(normalize_code("K7QF-M2XD"), None);
        assert_eq!(normalize_code("K7QF-M2XD-9TRAé"), None);
    }

    #[test]
    fn tokens_are_long_and_url_safe() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), 43);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(token, new_token().unwrap());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Some(30 * 86_400));
        assert_eq!(parse_duration("12h"), Some(43_200));
        assert_eq!(parse_duration("2w"), Some(14 * 86_400));
        assert_eq!(parse_duration("90m"), Some(5_400));
        assert_eq!(parse_duration("0d"), None);
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("-3d"), None);
        assert_eq!(parse_duration("3é"), None);
    }
}
