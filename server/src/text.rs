//! Text that came from a client, made safe to print on an operator's terminal.
//!
//! Device names, refused paths and talent names of cases created offline are written
//! by devices. Printed raw, a control character could move the cursor, erase a line or
//! end a row early, and a bidirectional override could reverse what follows: a client
//! could forge rows in `tokens` or `audit`. Enrolment refuses such names; everything
//! printed in a table goes through [`escape`] as well, for what is already stored.

use std::borrow::Cow;

/// Whether a character changes how a terminal shows what follows it: C0 and C1
/// controls (escape, carriage return, newline...), line and paragraph separators, and
/// the bidirectional marks, embeddings, overrides and isolates.
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// The text with each control character written as `\u{..}` and each backslash
/// doubled, so that what is printed cannot be mistaken for an escape either. Text
/// without either is returned as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || is_control(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_obeyed() {
        let cases = [
            ("Rana's phone", "Rana's phone"),
            ("هاتف رنا", "هاتف رنا"),
            ("a\nb", "a\\u{a}b"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("x\rrevoked", "x\\u{d}revoked"),
            ("\u{202e}enohp", "\\u{202e}enohp"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("C:\\u{1b}", "C:\\\\u{1b}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(escape(raw), shown, "{raw:?}");
        }
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }
}
