//! What an Automerge change declares, measured from its bytes before Automerge reads it.
//!
//! Automerge keeps a change's operations in run-length-encoded columns, and its parser
//! walks every operation they declare. A hundred bytes can declare a run of billions of
//! operations, or one operation with billions of predecessors: the walk would then hold
//! a core, and the server's write lock, for minutes, and applying the change would
//! allocate for each of them. Automerge also inflates a compressed change chunk with no
//! limit. So bytes from another machine pass through [`measure`] first. It reads the
//! chunk header and the runs of every column, in time proportional to the bytes and
//! without allocating for the runs, and refuses compressed chunks and any column that
//! declares more rows than allowed. Passage peers send changes uncompressed
//! (`Change::raw_bytes`), so refusing compressed ones costs them nothing.
//!
//! The layout read here is Automerge's binary format: a chunk header (magic bytes,
//! checksum, type, length), then the change's dependencies, actor, sequence number,
//! first operation, time, message, other actors, column metadata and column data.

use std::fmt;

/// The most operations one change may declare. A Passage edit writes a few fields
/// (a note is one string value), and a new case's journey a few thousand: this leaves
/// room for any change a Passage device makes while bounding the parser's walk.
pub(crate) const MAX_CHANGE_OPERATIONS: u64 = 25_000;

/// Actor ids longer than this are refused: Passage's are 16 bytes, and Automerge
/// copies an operation's actor id into every reference it expands, so a long one
/// multiplies memory by the operations that name it.
const MAX_ACTOR_BYTES: u64 = 32;

/// A string of a run-length column (a map key, a mark's name) counts as one row per
/// this many bytes it holds, beyond the first: Automerge copies the string for every
/// row of its run, so a run's memory is its rows times its string's length, and this
/// keeps that within the same bound as the rows. Map keys of Passage documents are
/// shorter than this and count once.
const STRING_ROW_BYTES: u64 = 32;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHANGE_CHUNK: u8 = 1;
const COMPRESSED_CHANGE_CHUNK: u8 = 2;

/// Bits of a column specification: the deflate flag and the type.
const DEFLATE_BIT: u64 = 0b1000;
const TYPE_BITS: u64 = 0b0111;
/// The column type whose values count the rows of the columns it groups.
const GROUP: u64 = 0;
/// Column types whose values are signed deltas, and strings.
const DELTA: u64 = 3;
const STRING: u64 = 5;

/// Why a change was refused before Automerge read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShapeError {
    /// The bytes are not an uncompressed change chunk of Automerge's format.
    Malformed(String),
    /// A column declares more rows than allowed.
    TooManyOperations { limit: u64 },
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::Malformed(why) => write!(f, "not a change Automerge may read: {why}"),
            ShapeError::TooManyOperations { limit } => {
                write!(f, "the change declares more than the {limit} operations allowed")
            }
        }
    }
}

impl std::error::Error for ShapeError {}

fn malformed(why: impl Into<String>) -> ShapeError {
    ShapeError::Malformed(why.into())
}

/// The most rows any column of the change declares (counting, for the predecessor
/// groups, the predecessors they announce): an upper bound on the operations Automerge
/// walks and applies for it. Refuses the change when that exceeds `max_rows`, when it
/// is a compressed chunk, or when its layout does not hold together.
pub(crate) fn measure(bytes: &[u8], max_rows: u64) -> Result<u64, ShapeError> {
    let mut chunk = Reader(bytes);
    if chunk.take(4)? != MAGIC {
        return Err(malformed("it does not start with Automerge's magic bytes"));
    }
    chunk.take(4)?;
    match chunk.byte()? {
        CHANGE_CHUNK => {}
        COMPRESSED_CHANGE_CHUNK => {
            return Err(malformed("it is compressed; changes travel uncompressed"));
        }
        other => return Err(malformed(format!("chunk type {other} is not a change"))),
    }
    let len = chunk.uleb()?;
    let mut body = Reader(chunk.take(len)?);
    if !chunk.0.is_empty() {
        return Err(malformed("bytes follow the change"));
    }
    let deps = body.uleb()?;
    body.take(
        deps.checked_mul(32)
            .ok_or_else(|| malformed("too many dependencies"))?,
    )?;
    body.actor()?;
    body.uleb()?; // sequence number
    body.uleb()?; // first operation
    body.sleb()?; // time
    body.prefixed()?; // message
    let other_actors = body.uleb()?;
    for _ in 0..other_actors {
        // Each takes at least one byte, so this loop ends with the bytes.
        body.actor()?;
    }
    let columns = body.uleb()?;
    let mut specs = Vec::new();
    for _ in 0..columns {
        // Each entry takes at least two bytes, so this loop ends with the bytes.
        let spec = body.uleb()?;
        let len = body.uleb()?;
        specs.push((spec, len));
    }
    let mut most = 0;
    for (spec, len) in specs {
        let data = body.take(len)?;
        most = most.max(column_rows(spec, data, max_rows)?);
    }
    Ok(most)
}

/// The rows one column declares; for a group column, the larger of its rows and the
/// sum of its counts (the rows of the columns it groups); for a string column, its
/// rows weighed by their strings' lengths ([`STRING_ROW_BYTES`]).
fn column_rows(spec: u64, data: &[u8], max_rows: u64) -> Result<u64, ShapeError> {
    if spec & DEFLATE_BIT != 0 {
        return Err(malformed("a column is compressed"));
    }
    let mut column = Reader(data);
    let mut rows: u64 = 0;
    let mut grouped: u64 = 0;
    let over = |n: u64| {
        if n > max_rows {
            Err(ShapeError::TooManyOperations { limit: max_rows })
        } else {
            Ok(n)
        }
    };
    match spec & TYPE_BITS {
        // Values: raw bytes whose lengths another column gives.
        7 => return Ok(0),
        // Booleans: alternating run lengths, false first.
        4 => {
            while !column.0.is_empty() {
                rows = over(rows.saturating_add(column.uleb()?))?;
            }
        }
        kind => {
            // Run-length encoding: a positive count and one value repeated, a negative
            // count and that many values, or zero and a count of nulls.
            while !column.0.is_empty() {
                let count = column.sleb()?;
                if count > 0 {
                    let n = count.unsigned_abs();
                    let value = column.value(kind)?;
                    rows = over(rows.saturating_add(n.saturating_mul(weight(kind, value))))?;
                    if kind == GROUP {
                        grouped = over(grouped.saturating_add(n.saturating_mul(value)))?;
                    }
                } else if count < 0 {
                    let n = count.unsigned_abs();
                    for _ in 0..n {
                        // Each value takes at least one byte: the loop ends with the bytes.
                        let value = column.value(kind)?;
                        rows = over(rows.saturating_add(weight(kind, value)))?;
                        if kind == GROUP {
                            grouped = over(grouped.saturating_add(value))?;
                        }
                    }
                } else {
                    rows = over(rows.saturating_add(column.uleb()?))?;
                }
            }
        }
    }
    Ok(rows.max(grouped))
}

/// What one row of a run-length column counts for: one, or for a string of `value`
/// bytes, one more per [`STRING_ROW_BYTES`].
fn weight(kind: u64, value: u64) -> u64 {
    if kind == STRING {
        1 + value / STRING_ROW_BYTES
    } else {
        1
    }
}

/// A cursor over bytes that fails, rather than panics, when they run out.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], ShapeError> {
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.0.len())
            .ok_or_else(|| malformed("a length runs past the end"))?;
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, ShapeError> {
        Ok(self.take(1)?[0])
    }

    fn uleb(&mut self) -> Result<u64, ShapeError> {
        leb128::read::unsigned(&mut self.0).map_err(|e| malformed(format!("a number does not read: {e}")))
    }

    fn sleb(&mut self) -> Result<i64, ShapeError> {
        leb128::read::signed(&mut self.0).map_err(|e| malformed(format!("a number does not read: {e}")))
    }

    /// Skips a length-prefixed byte string; returns its length.
    fn prefixed(&mut self) -> Result<u64, ShapeError> {
        let len = self.uleb()?;
        self.take(len).map(|_| len)
    }

    /// Skips an actor id, refusing one longer than [`MAX_ACTOR_BYTES`].
    fn actor(&mut self) -> Result<(), ShapeError> {
        if self.prefixed()? > MAX_ACTOR_BYTES {
            return Err(malformed(format!(
                "an actor id is longer than {MAX_ACTOR_BYTES} bytes"
            )));
        }
        Ok(())
    }

    /// Reads one value of a run-length-encoded column of type `kind`: the number for
    /// integer kinds (group counts among them), the length for strings, zero for
    /// deltas.
    fn value(&mut self, kind: u64) -> Result<u64, ShapeError> {
        match kind {
            DELTA => self.sleb().map(|_| 0),
            STRING => self.prefixed(),
            _ => self.uleb(),
        }
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT, ScalarValue};

    use super::*;

    fn last_change(doc: &mut AutoCommit) -> Vec<u8> {
        doc.commit();
        let change = doc.get_last_local_change().expect("a change");
        change.raw_bytes().to_vec()
    }

    /// A change chunk built by hand: one actor, no dependencies, the given columns.
    /// The checksum is left zero, which Automerge's parser does not check.
    fn chunk(columns: &[(u64, Vec<u8>)]) -> Vec<u8> {
        chunk_by(&[7; 16], columns)
    }

    fn chunk_by(actor: &[u8], columns: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        let uleb = |out: &mut Vec<u8>, n: u64| leb128::write::unsigned(out, n).map(drop).unwrap();
        uleb(&mut body, 0); // dependencies
        uleb(&mut body, actor.len() as u64);
        body.extend(actor);
        uleb(&mut body, 1); // seq
        uleb(&mut body, 1); // start op
        leb128::write::signed(&mut body, 0).unwrap(); // time
        uleb(&mut body, 0); // message
        uleb(&mut body, 0); // other actors
        uleb(&mut body, columns.len() as u64);
        for (spec, data) in columns {
            uleb(&mut body, *spec);
            uleb(&mut body, data.len() as u64);
        }
        for (_, data) in columns {
            body.extend(data);
        }
        let mut out = MAGIC.to_vec();
        out.extend([0; 4]);
        out.push(CHANGE_CHUNK);
        uleb(&mut out, body.len() as u64);
        out.extend(body);
        out
    }

    /// A run of `n` equal values: a signed count, then the value.
    fn run(n: i64, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        leb128::write::signed(&mut out, n).unwrap();
        out.extend(value);
        out
    }

    /// The columns of `n` operations that each set the root's key "k" to null.
    fn bulk_sets(n: i64) -> Vec<u8> {
        chunk(&[
            (1 << 4 | 5, run(n, &[1, b'k'])), // key: "k"
            (3 << 4 | 4, {
                let mut v = Vec::new();
                leb128::write::unsigned(&mut v, n as u64).unwrap();
                v
            }), // insert: n false
            (4 << 4 | 2, run(n, &[1])),       // action: set
            (5 << 4 | 6, run(n, &[0])),       // value metadata: null
            (7 << 4, run(n, &[0])),           // no predecessors
        ])
    }

    #[test]
    fn every_kind_of_change_passes_with_at_least_its_operations() {
        let mut doc = AutoCommit::new();
        let mut changes = Vec::new();
        doc.put(ROOT, "status", "todo").unwrap();
        changes.push(last_change(&mut doc));
        let note = doc.put_object(ROOT, "note", ObjType::Text).unwrap();
        doc.splice_text(&note, 0, 0, &"مرحبا, hello ".repeat(300))
            .unwrap();
        changes.push(last_change(&mut doc));
        doc.splice_text(&note, 10, 2000, "").unwrap();
        changes.push(last_change(&mut doc));
        let list = doc.put_object(ROOT, "tasks", ObjType::List).unwrap();
        for i in 0..200 {
            let task = doc.insert_object(&list, i, ObjType::Map).unwrap();
            doc.put(&task, "id", i as i64).unwrap();
            doc.put(&task, "done", i % 3 == 0).unwrap();
            doc.put(&task, "at", ScalarValue::Timestamp(1_700_000_000 + i as i64))
                .unwrap();
        }
        changes.push(last_change(&mut doc));
        doc.put(ROOT, "count", ScalarValue::counter(1)).unwrap();
        doc.increment(ROOT, "count", 5).unwrap();
        doc.delete(&list, 3).unwrap();
        doc.put(ROOT, "bytes", vec![0_u8, 1, 2]).unwrap();
        changes.push(last_change(&mut doc));
        for bytes in changes {
            let change = automerge::Change::try_from(bytes.as_slice()).unwrap();
            let rows = measure(&bytes, MAX_CHANGE_OPERATIONS).unwrap();
            assert!(
                rows >= change.len() as u64,
                "{rows} rows for {} operations",
                change.len()
            );
            assert!(
                rows <= 2 * change.len() as u64 + 1,
                "{rows} rows for {} operations",
                change.len()
            );
        }
    }

    #[test]
    fn a_hand_built_change_is_what_automerge_reads() {
        // The builder below is the attack's: it must describe changes Automerge accepts.
        let bytes = bulk_sets(1_000);
        let change = automerge::Change::try_from(bytes.as_slice()).unwrap();
        assert_eq!(change.len(), 1_000);
        assert_eq!(measure(&bytes, MAX_CHANGE_OPERATIONS), Ok(1_000));
    }

    #[test]
    fn declared_runs_beyond_the_limit_are_refused_in_time_proportional_to_the_bytes() {
        let too_many = ShapeError::TooManyOperations {
            limit: MAX_CHANGE_OPERATIONS,
        };
        for (name, bytes) in [
            ("a trillion operations", bulk_sets(1 << 40)),
            // Two operations announcing 2^20 predecessors each.
            (
                "a million predecessors each",
                chunk(&[(7 << 4, run(2, &[0x80, 0x80, 0x40]))]),
            ),
            (
                "a run of nulls",
                chunk(&[(4 << 4 | 2, vec![0, 0xff, 0xff, 0xff, 0xff, 0x0f])]),
            ),
            (
                "booleans",
                chunk(&[(3 << 4 | 4, vec![0xff, 0xff, 0xff, 0xff, 0x0f])]),
            ),
        ] {
            assert_eq!(
                measure(&bytes, MAX_CHANGE_OPERATIONS),
                Err(too_many.clone()),
                "{name}"
            );
        }
    }

    #[test]
    fn long_strings_count_for_the_copies_automerge_makes_and_long_actors_are_refused() {
        // 20,000 rows of a 1 MB mark name: 20,000 copies of it once applied.
        let mut name = Vec::new();
        leb128::write::unsigned(&mut name, 1 << 20).unwrap();
        name.extend(vec![b'm'; 1 << 20]);
        let marks = chunk(&[(10 << 4 | 5, run(20_000, &name))]);
        assert_eq!(
            measure(&marks, MAX_CHANGE_OPERATIONS),
            Err(ShapeError::TooManyOperations {
                limit: MAX_CHANGE_OPERATIONS
            })
        );
        // Keys of Passage's length count once per row.
        let mut key = vec![23];
        key.extend(b"complete_talent_profile");
        assert_eq!(
            measure(&chunk(&[(1 << 4 | 5, run(1_000, &key))]), MAX_CHANGE_OPERATIONS),
            Ok(1_000)
        );
        // Actor ids: Passage's 16 bytes pass, a megabyte does not.
        assert_eq!(measure(&chunk_by(&[7; 32], &[]), MAX_CHANGE_OPERATIONS), Ok(0));
        let long = chunk_by(&vec![7; 1 << 20], &[]);
        assert!(
            matches!(measure(&long, MAX_CHANGE_OPERATIONS), Err(ShapeError::Malformed(why)) if why.contains("actor")),
        );
    }

    #[test]
    fn compressed_and_broken_chunks_are_refused() {
        let mut doc = AutoCommit::new();
        let note = doc.put_object(ROOT, "note", ObjType::Text).unwrap();
        doc.splice_text(&note, 0, 0, &"a".repeat(2_000)).unwrap();
        doc.commit();
        let mut change = doc.get_last_local_change().unwrap();
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], COMPRESSED_CHANGE_CHUNK, "Automerge compressed it");
        let raw = change.raw_bytes().to_vec();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("compressed", compressed),
            ("empty", vec![]),
            ("truncated", raw[..raw.len() - 10].to_vec()),
            ("trailing bytes", [raw.clone(), vec![0]].concat()),
            ("wrong magic", [vec![0; 4], raw[4..].to_vec()].concat()),
            ("a document", doc.save()),
            (
                "a compressed column",
                chunk(&[(4 << 4 | DEFLATE_BIT | 2, run(1, &[1]))]),
            ),
            (
                "a length past the end",
                chunk(&[(1 << 4 | 5, run(1, &[0xff, 0x7f, b'k']))]),
            ),
        ];
        for (name, bytes) in cases {
            assert!(
                matches!(
                    measure(&bytes, MAX_CHANGE_OPERATIONS),
                    Err(ShapeError::Malformed(_))
                ),
                "{name}"
            );
        }
    }
}
