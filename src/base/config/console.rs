//! `[console]`: the browser console's language and time zone.

use serde::{Deserialize, Deserializer};

/// The console's language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// French, the default: its users are French municipal police.
    #[default]
    Fr,
    /// English.
    En,
}

impl Language {
    /// The code written in `<html lang>` and in the switch.
    pub fn code(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }
}

/// `[console]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The language pages open in (`fr` or `en`; each page has a switch).
    #[serde(default)]
    pub language: Language,
    /// The time zone times are shown in (UTC on hover), from the IANA database.
    #[serde(default = "default_timezone", deserialize_with = "timezone")]
    pub timezone: chrono_tz::Tz,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            language: Language::Fr,
            timezone: default_timezone(),
        }
    }
}

fn default_timezone() -> chrono_tz::Tz {
    chrono_tz::Europe::Paris
}

fn timezone<'de, D: Deserializer<'de>>(d: D) -> Result<chrono_tz::Tz, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "console.timezone `{name}` is not a time zone of the IANA database: give one such as \"Europe/Paris\" or \"UTC\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        console: ConsoleConfig,
    }

    #[test]
    fn a_wrong_time_zone_is_named_with_its_key() {
        let ok: File = toml::from_str("[console]\nlanguage = \"en\"\ntimezone = \"UTC\"").unwrap();
        assert_eq!(ok.console.language, Language::En);
        assert_eq!(ok.console.timezone, chrono_tz::UTC);
        let err = toml::from_str::<File>("[console]\ntimezone = \"Europe/Pariss\"")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("console.timezone `Europe/Pariss`"), "{err}");
        assert!(toml::from_str::<File>("[console]\nlanguage = \"de\"").is_err());
    }
}
