//! Paths on the volume, and how names read from it are shown.

use std::fmt;

/// A path on the volume (e.g. `DCIM/20180312/X.MP4`); never a host path.
///
/// Components are kept apart, never joined with a separator and handed to the OS, so a
/// hostile name holding `/` or `..` cannot reach outside the volume. `Display` escapes
/// control and bidirectional-override characters, so a name cannot forge a log line.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumePath(Vec<String>);

impl VolumePath {
    /// A path from its components, from the root down.
    pub fn new(components: &[&str]) -> VolumePath {
        VolumePath(components.iter().map(|c| (*c).to_string()).collect())
    }

    /// The components, from the root down.
    pub fn components(&self) -> &[String] {
        &self.0
    }

    pub(crate) fn from_owned(components: Vec<String>) -> VolumePath {
        VolumePath(components)
    }

    /// The same path with one more component.
    pub(crate) fn child(&self, name: &str) -> VolumePath {
        let mut components = self.0.clone();
        components.push(name.to_string());
        VolumePath(components)
    }
}

impl fmt::Display for VolumePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, component) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(&escape(component))?;
        }
        Ok(())
    }
}

impl fmt::Debug for VolumePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VolumePath({self})")
    }
}

/// A name read from the volume, made safe to print: control characters, bidirectional
/// overrides, `\` and `/` are written as escapes.
pub(crate) fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c == '/' || c.is_control() || is_invisible_format(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A name that is not UTF-8, escaped like [`escape`] with its stray bytes as `\xNN`.
pub(crate) fn escape_bytes(name: &[u8]) -> String {
    let mut out = String::new();
    for chunk in name.utf8_chunks() {
        out.push_str(&escape(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

// Characters that change how surrounding text is displayed without showing themselves
// (the "Trojan Source" family), so a name could make a log line read differently.
fn is_invisible_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF
    )
}

/// Why a component can never name an entry of a directory, or `None` if it can.
pub(crate) fn component_problem(component: &str) -> Option<&'static str> {
    if component.is_empty() {
        Some("an empty component")
    } else if component == "." || component == ".." {
        Some("a `.` or `..` component")
    } else if component.contains('/') || component.contains('\0') {
        Some("a component holding `/` or NUL")
    } else {
        None
    }
}

/// The key under which FAT treats two names as the same: Unicode upper case, as the
/// fatfs crate compares them when it looks a name up.
pub(crate) fn fold(name: &str) -> String {
    name.chars().flat_map(char::to_uppercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_escapes_control_and_override_characters() {
        let p = VolumePath::new(&["DCIM", "a\u{1b}[31m", "x\u{202e}4PM.exe", "b/c\\d"]);
        assert_eq!(
            p.to_string(),
            "DCIM/a\\u{1b}[31m/x\\u{202e}4PM.exe/b\\u{2f}c\\\\d"
        );
    }

    #[test]
    fn invalid_utf8_is_shown_as_bytes() {
        assert_eq!(escape_bytes(b"ab\xffc\n"), "ab\\xffc\\u{a}");
    }

    #[test]
    fn dangerous_components_are_named() {
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert!(component_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(component_problem("X.MP4"), None);
    }
}
