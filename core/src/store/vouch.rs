//! What the sync server vouched for about each change: the person of the device it
//! received the change from, that device's role, and when. Kept per document and
//! change, sealed like the document (names are personal data), and read by the
//! history, which shows the server's word next to what each change's note claims.

use std::collections::HashMap;

use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::db::Db;
use crate::access::Role;
use crate::error::Result;
use crate::ids::DocId;

/// What the server vouched for about one change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voucher {
    /// The role of the device the server received the change from; `None` when the
    /// server made the change itself.
    pub role: Option<Role>,
    /// The person that device speaks for, as the server knows them.
    pub name: String,
    /// When the server received it (for this device's own changes: when the server
    /// acknowledged them, by this device's clock).
    pub received_at: DateTime<Utc>,
    /// Whether this device delivered the change itself.
    #[serde(default)]
    pub own: bool,
}

fn aad(doc: &DocId, hash: &[u8]) -> Vec<u8> {
    let mut aad = b"passage voucher v1\0".to_vec();
    aad.extend_from_slice(doc.to_string().as_bytes());
    aad.push(0);
    aad.extend_from_slice(hash);
    aad
}

impl Db {
    /// Records vouchers; a change that has one keeps it.
    pub(crate) fn record_vouchers(&mut self, doc: &DocId, vouchers: &[(ChangeHash, Voucher)]) -> Result<()> {
        if vouchers.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let fail = |e| crate::error::Error::storage(&path, e);
        let keys = self.keys.as_ref();
        let tx = self.conn.transaction().map_err(fail)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT OR IGNORE INTO vouchers (doc_id, hash, voucher) VALUES (?1, ?2, ?3)")
                .map_err(fail)?;
            let id = doc.to_string();
            let seal = Db::sealer(keys, &tx, doc)?;
            for (hash, voucher) in vouchers {
                let json = serde_json::to_vec(voucher).unwrap_or_default();
                let stored = match &seal {
                    Some(seal) => seal.seal(&aad(doc, hash.as_ref()), &json)?,
                    None => json,
                };
                insert.execute(params![id, hash.as_ref(), stored]).map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)
    }

    /// The vouchers of a document's changes, by change hash. One that does not open or
    /// read is left out: the change then shows as not vouched for.
    pub(crate) fn vouchers(&self, doc: &DocId) -> Result<HashMap<ChangeHash, Voucher>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash, voucher FROM vouchers WHERE doc_id = ?1")
            .map_err(|e| self.fail(e))?;
        let rows: Vec<(Vec<u8>, Vec<u8>)> = stmt
            .query_map([doc.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.fail(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.fail(e))?;
        let mut out = HashMap::with_capacity(rows.len());
        // A sealed store whose document has no key any more (erased) opens none.
        let seal = match &self.keys {
            Some(keys) if !rows.is_empty() => match keys.sealer(&self.conn, doc)? {
                Some(seal) => Some(seal),
                None => return Ok(out),
            },
            _ => None,
        };
        for (hash, stored) in rows {
            let Ok(change) = ChangeHash::try_from(hash.as_slice()) else {
                continue;
            };
            let json = match &seal {
                Some(seal) => seal.open(&aad(doc, &hash), &stored),
                None => Some(stored),
            };
            if let Some(voucher) = json.and_then(|j| serde_json::from_slice(&j).ok()) {
                out.insert(change, voucher);
            }
        }
        Ok(out)
    }
}
