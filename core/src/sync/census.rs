//! A census of a sync message's CBOR before it is decoded: every item is counted and
//! every length checked against the bytes that are really there, so that decoding
//! never allocates for more than the limits allow.
//!
//! A few kilobytes of deflate can inflate to megabytes of one-byte CBOR items, each of
//! which a decoder would turn into a heap allocation of its own: dozens of bytes of
//! memory per byte of message. The census walks the item headers without allocating
//! anything and refuses, before the decoder runs, a message with more items than
//! allowed, nested deeper than any message of the protocol, or using a part of CBOR
//! the protocol never writes (maps, tags, floats, negative numbers, indefinite
//! lengths). What passes is small enough to decode whole.

/// What a message may hold, counted before it is decoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CensusLimits {
    /// Array elements in the whole message.
    pub(crate) max_items: usize,
    /// Arrays inside arrays; the protocol's messages need 5.
    pub(crate) max_depth: usize,
}

/// Why a message failed the census.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CensusError {
    /// More items than allowed: the message is too large for this sender.
    TooManyItems(usize),
    /// Not the protocol's grammar, or cut short.
    Malformed(String),
}

const UINT: u8 = 0;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const SIMPLE: u8 = 7;
/// The only simple value the protocol writes: `null`, for absent optional fields.
const NULL: u8 = 22;

/// Counts the items of one CBOR message that must fill `bytes` exactly.
pub(crate) fn census(bytes: &[u8], limits: CensusLimits) -> Result<usize, CensusError> {
    let mut at = 0usize;
    let mut items = 0usize;
    // Elements still to read in each open array, innermost last. The message itself
    // is one item read at depth 0.
    let mut open: Vec<u64> = vec![1];
    while let Some(left) = open.last_mut() {
        if *left == 0 {
            open.pop();
            continue;
        }
        *left -= 1;
        let (major, argument) = header(bytes, &mut at)?;
        match major {
            UINT => {}
            BYTES | TEXT => {
                let len = usize::try_from(argument).map_err(|_| malformed("a string longer than memory"))?;
                let end = at
                    .checked_add(len)
                    .filter(|end| *end <= bytes.len())
                    .ok_or_else(|| malformed("a string runs past the end of the message"))?;
                at = end;
            }
            ARRAY => {
                // Each element takes at least one byte, so a declared length is checked
                // against what is left before anything is counted or allocated.
                if argument > (bytes.len() - at) as u64 {
                    return Err(malformed(
                        "an array declares more elements than the message holds",
                    ));
                }
                items = items.saturating_add(argument as usize);
                if items > limits.max_items {
                    return Err(CensusError::TooManyItems(limits.max_items));
                }
                if open.len() > limits.max_depth {
                    return Err(malformed("arrays nested deeper than any message of the protocol"));
                }
                open.push(argument);
            }
            SIMPLE if argument == u64::from(NULL) => {}
            other => {
                return Err(malformed(&format!(
                    "CBOR major type {other} is not used by the protocol"
                )));
            }
        }
    }
    if at != bytes.len() {
        return Err(malformed("bytes after the end of the message"));
    }
    Ok(items)
}

fn malformed(why: &str) -> CensusError {
    CensusError::Malformed(why.to_owned())
}

/// Reads one item header: its major type and its argument (a value, or a length).
fn header(bytes: &[u8], at: &mut usize) -> Result<(u8, u64), CensusError> {
    let first = *bytes
        .get(*at)
        .ok_or_else(|| malformed("the message is cut short"))?;
    *at += 1;
    let major = first >> 5;
    let info = first & 0x1f;
    let width = match info {
        0..=23 => return Ok((major, u64::from(info))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => return Err(malformed("indefinite lengths are not used by the protocol")),
        _ => return Err(malformed("a reserved CBOR header")),
    };
    let end = at
        .checked_add(width)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| malformed("the message is cut short"))?;
    let argument = bytes[*at..end]
        .iter()
        .fold(0u64, |value, byte| (value << 8) | u64::from(*byte));
    *at = end;
    Ok((major, argument))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: CensusLimits = CensusLimits {
        max_items: 8,
        max_depth: 3,
    };

    #[test]
    fn counts_what_the_protocol_writes_and_refuses_the_rest() {
        // [1, h'0102', "ab", null, [2, [3]]]
        let ok = [
            0x85, 0x01, 0x42, 1, 2, 0x62, b'a', b'b', 0xf6, 0x82, 0x02, 0x81, 0x03,
        ];
        assert_eq!(census(&ok, LIMITS), Ok(8));
        let cases: &[(&[u8], &str)] = &[
            (&[0xa0], "a map"),
            (&[0xc1, 0x00], "a tag"),
            (&[0x20], "a negative number"),
            (&[0xf9, 0, 0], "a float"),
            (&[0xf5], "true"),
            (&[0x9f, 0xff], "an indefinite array"),
            (&[0x5f, 0xff], "indefinite bytes"),
            (&[0x42, 1], "bytes cut short"),
            (&[0x1b, 0, 0], "a number cut short"),
            (
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "an array declaring 2^64 elements",
            ),
            (
                &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "bytes declaring 2^64 bytes",
            ),
            (&[0x81, 0x81, 0x81, 0x81, 0x00], "arrays four deep"),
            (&[0x01, 0x01], "two messages"),
            (&[], "nothing"),
        ];
        for (bytes, what) in cases {
            assert!(
                matches!(census(bytes, LIMITS), Err(CensusError::Malformed(_))),
                "{what}: {:?}",
                census(bytes, LIMITS)
            );
        }
    }

    #[test]
    fn refuses_more_items_than_allowed_before_reading_them() {
        // An array of nine empty byte strings: one over the limit.
        let mut nine = vec![0x89];
        nine.extend([0x40; 9]);
        assert_eq!(census(&nine, LIMITS), Err(CensusError::TooManyItems(8)));
    }
}
