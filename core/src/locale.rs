//! The languages Passage speaks, and text in all of them.
//!
//! Talents mostly read Arabic (right-to-left); caseworkers work in English and French.
//! Every text a person reads exists in all three: the template tests make sure of it.

use serde::{Deserialize, Serialize};

string_enum! {
    /// A language for people-facing text.
    pub enum Locale (label = "locale") {
        En = "en",
        Ar = "ar",
        Fr = "fr",
    }
}

impl Locale {
    /// Whether the language is written right to left, for apps laying out text.
    pub fn is_rtl(self) -> bool {
        self == Locale::Ar
    }
}

/// One text in every [`Locale`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalizedText {
    pub en: String,
    pub ar: String,
    pub fr: String,
}

impl LocalizedText {
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::En => &self.en,
            Locale::Ar => &self.ar,
            Locale::Fr => &self.fr,
        }
    }

    /// Why this text is not complete, if it is not: every language present and
    /// non-blank, and the Arabic written in Arabic script.
    pub(crate) fn problem(&self) -> Option<String> {
        for locale in Locale::ALL {
            if self.get(*locale).trim().is_empty() {
                return Some(format!("the {locale} text is empty"));
            }
        }
        let arabic = self.ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
        (!arabic).then(|| format!("the Arabic text {:?} has no Arabic letters", self.ar))
    }
}
