//! `[site]`: the name of the post this daemon serves, when a force has several on one
//! register (issue 23).

use serde::Deserialize;

use super::{ConfigError, invalid};

/// The longest site name, in characters: it is shown in lists and the console's select.
const MAX_SITE_CHARS: usize = 64;

/// `[site]`: which site this daemon is; unnamed (a single-site install) by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The site's name, written into every recording, session, dock event and audit entry
    /// this daemon records; '' (the default): a single-site install, nothing shown.
    #[serde(default)]
    pub name: String,
}

impl SiteConfig {
    /// Checks the name: printable, one line, at most 64 characters, no outer spaces.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let name = &self.name;
        if name.chars().count() > MAX_SITE_CHARS {
            return Err(invalid(
                "site.name",
                "is longer than 64 characters: choose a shorter name, e.g. \"Poste Nord\"",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid(
                "site.name",
                "holds a control character (a line break, a tab...): write the name on one line with printable characters",
            ));
        }
        if name.trim() != name {
            return Err(invalid(
                "site.name",
                "starts or ends with a space: remove it, or leave the name empty for a single-site install",
            ));
        }
        if !name.is_empty() && name.chars().all(char::is_whitespace) {
            return Err(invalid(
                "site.name",
                "is blank: name the site, or leave it empty",
            ));
        }
        Ok(())
    }

    /// The name, or `None` for a single-site install.
    pub fn named(&self) -> Option<&str> {
        (!self.name.is_empty()).then_some(self.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Config;

    const MINIMAL: &str = "[store]\npath = \"/srv/store\"\n[register]\npath = \"reg.sqlite\"\n";

    fn parse(extra: &str) -> Result<Config, super::ConfigError> {
        Config::from_toml(
            &format!("{MINIMAL}{extra}"),
            Path::new("/etc/sentinel-dock"),
        )
    }

    #[test]
    fn a_site_is_unnamed_by_default_and_takes_a_printable_name() {
        let c = parse("").unwrap();
        assert_eq!((c.site.name.as_str(), c.site.named()), ("", None));
        let c = parse("[site]\nname = \"Poste Nord – Vienne\"\n").unwrap();
        assert_eq!(c.site.named(), Some("Poste Nord – Vienne"));
        let c = parse(&format!("[site]\nname = \"{}\"\n", "é".repeat(64))).unwrap();
        assert_eq!(c.site.name.chars().count(), 64);
    }

    #[test]
    fn a_bad_site_name_is_refused_by_its_key() {
        for bad in [
            format!("\"{}\"", "x".repeat(65)),
            "\"Nord\\nSud\"".to_string(),
            "\"Nord\\u0007\"".to_string(),
            "\" Nord\"".to_string(),
            "\"Nord \"".to_string(),
        ] {
            let err = parse(&format!("[site]\nname = {bad}\n")).expect_err(&bad);
            assert!(err.to_string().contains("site.name"), "{bad}: {err}");
        }
        let err = parse("[site]\nnom = \"Nord\"\n").unwrap_err();
        assert!(err.to_string().contains("nom"), "{err}");
    }
}
