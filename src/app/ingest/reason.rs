//! Why a recording is not confirmed: a stable code for machines and a sentence for people.
//!
//! The register keeps a reason as the text `code: detail` (rows written before reasons were
//! typed hold exactly that), so a reason is turned into that text when stored and read
//! back from it in one place, [`Reason::from_stored`].

use serde::Serialize;

/// One reason a recording was quarantined or left on the camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// A stable code, such as `sha256-mismatch` or `volume-damaged`, to filter on.
    pub code: String,
    /// One sentence saying what was found, for a person.
    pub detail: String,
}

impl Reason {
    /// A reason with its code and its sentence.
    pub fn new(code: impl Into<String>, detail: impl std::fmt::Display) -> Reason {
        Reason {
            code: code.into(),
            detail: detail.to_string(),
        }
    }

    /// A reason as the register stores it (`code: detail`); text without a code (never
    /// written by this version) keeps its words as the detail under the code `unknown`.
    pub(crate) fn from_stored(text: &str) -> Reason {
        match text.split_once(": ") {
            Some((code, detail)) if is_code(code) => Reason::new(code, detail),
            _ => Reason::new("unknown", text),
        }
    }

    /// The form the register stores: `code: detail`.
    pub fn stored(&self) -> String {
        self.to_string()
    }
}

/// Whether `s` looks like a reason code: lowercase words joined by hyphens.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

/// The stored forms of `reasons`, for the register.
pub fn stored(reasons: &[Reason]) -> Vec<String> {
    reasons.iter().map(Reason::stored).collect()
}

/// `reasons` joined for one line of text.
pub fn joined(reasons: &[Reason]) -> String {
    stored(reasons).join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_reads_back_the_same() {
        let r = Reason::new(
            "sha256-mismatch",
            "the sidecar says aa: the video hashes to bb",
        );
        assert_eq!(Reason::from_stored(&r.stored()), r);
    }

    #[test]
    fn text_without_a_code_is_kept_whole() {
        let r = Reason::from_stored("Something odd: happened");
        assert_eq!(r.code, "unknown");
        assert_eq!(r.detail, "Something odd: happened");
    }
}
