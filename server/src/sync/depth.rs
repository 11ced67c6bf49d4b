//! How deep a pushed batch nests the objects it creates, worked out before `diff`.
//!
//! Automerge's `diff` gives every patch its full path from the root, so a batch that
//! nests maps n deep costs time in n² to diff (measured: 4,000 levels, three seconds,
//! while the exchange holds the database's write lock). No path of our documents is
//! deeper than `passage_core::policy::max_depth`, so a batch creating an object below
//! that is refused from its operations alone, in one pass: each object the batch
//! creates is one level below the object it was created in, and objects the document
//! already had are looked up in it (they are shallow, or they would not be stored).

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{AutoCommit, ExpandedChange, Prop, ReadDoc};

/// Where an object the batch creates lives: the object it was created in, and under
/// which key.
struct Created {
    parent: ObjectId,
    key: String,
}

/// An object created deeper than `limit`, as the path down to it (cut after one
/// level past the limit); `None` if every created object is within the limit.
/// `changes` are the batch, already applied to `doc`.
pub(super) fn too_deep(doc: &AutoCommit, changes: &[ExpandedChange], limit: usize) -> Option<String> {
    let mut created: HashMap<OpId, Created> = HashMap::new();
    for change in changes {
        for (i, op) in change.operations.iter().enumerate() {
            if matches!(op.action, OpType::Make(_)) {
                let id = OpId(change.start_op.get() + i as u64, change.actor_id.clone());
                let key = match &op.key {
                    Key::Map(name) => name.to_string(),
                    // A list element's index depends on the whole list; its place in
                    // the path is enough here.
                    Key::Seq(_) => "-".to_owned(),
                };
                created.insert(
                    id,
                    Created {
                        parent: op.obj.clone(),
                        key,
                    },
                );
            }
        }
    }
    let mut depths: HashMap<OpId, usize> = HashMap::new();
    for start in created.keys() {
        if depths.contains_key(start) {
            continue;
        }
        // Walk up to a known depth (the root, an object of the document, or one
        // already measured), then number the way back down.
        let mut chain = vec![start.clone()];
        let base = loop {
            let Some(last) = chain.last() else { break 0 };
            let parent = match created.get(last) {
                Some(c) => &c.parent,
                None => break 0,
            };
            match parent {
                ObjectId::Root => break 0,
                ObjectId::Id(p) => {
                    if let Some(d) = depths.get(p) {
                        break *d;
                    }
                    if created.contains_key(p) {
                        if chain.len() > created.len() {
                            // A cycle cannot come from Automerge; refuse it as deep.
                            return Some("/".into());
                        }
                        chain.push(p.clone());
                        continue;
                    }
                    break existing_depth(doc, p).unwrap_or(usize::MAX / 2);
                }
            }
        };
        for (i, id) in chain.iter().rev().enumerate() {
            let depth = base + i + 1;
            if depth > limit {
                return Some(path_to(doc, &created, id, limit + 1));
            }
            depths.insert(id.clone(), depth);
        }
    }
    None
}

/// The depth of an object the document already had (the root is 0).
fn existing_depth(doc: &AutoCommit, id: &OpId) -> Option<usize> {
    let obj = doc.import_obj(&format!("{}@{}", id.counter(), id.actor())).ok()?;
    Some(doc.parents(obj).ok()?.count())
}

/// The path of a created object, from the root, at most `segments` long.
fn path_to(doc: &AutoCommit, created: &HashMap<OpId, Created>, id: &OpId, segments: usize) -> String {
    let mut keys = Vec::new();
    let mut at = id.clone();
    let mut top: Option<OpId> = None;
    while let Some(c) = created.get(&at) {
        keys.push(c.key.clone());
        match &c.parent {
            ObjectId::Root => break,
            ObjectId::Id(p) => {
                top = Some(p.clone());
                at = p.clone();
            }
        }
        if keys.len() > created.len() {
            break;
        }
    }
    if let Some(top) = top.filter(|t| !created.contains_key(t))
        && let Ok(obj) = doc.import_obj(&format!("{}@{}", top.counter(), top.actor()))
        && let Ok(parents) = doc.parents(obj)
    {
        let above: Vec<String> = parents
            .path()
            .into_iter()
            .map(|(_, prop)| match prop {
                Prop::Map(key) => key,
                Prop::Seq(index) => index.to_string(),
            })
            .collect();
        keys.extend(above.into_iter().rev());
    }
    keys.reverse();
    keys.truncate(segments);
    keys.iter().fold(String::new(), |mut out, k| {
        out.push('/');
        out.push_str(k);
        out
    })
}
