//! `[console]`: the browser console's language, time zone and named places.

use std::collections::BTreeMap;

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
    /// Places the head of service names once (`[console.places]`, name = [lat, lon]):
    /// offered in the search's "near" field, and accepted by name by `search --near`.
    #[serde(default, deserialize_with = "places")]
    pub places: BTreeMap<String, (f64, f64)>,
}

impl ConsoleConfig {
    /// The place named `name` (case and surrounding spaces ignored).
    pub fn place(&self, name: &str) -> Option<(f64, f64)> {
        let name = name.trim();
        self.places
            .iter()
            .find(|(k, _)| k.trim().to_lowercase() == name.to_lowercase())
            .map(|(_, p)| *p)
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            language: Language::Fr,
            timezone: default_timezone(),
            places: BTreeMap::new(),
        }
    }
}

fn places<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, (f64, f64)>, D::Error> {
    let raw = BTreeMap::<String, (f64, f64)>::deserialize(d)?;
    for (name, (lat, lon)) in &raw {
        if name.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "console.places: a place has an empty name: name each place as its people say it",
            ));
        }
        if !(-90.0..=90.0).contains(lat) || !(-180.0..=180.0).contains(lon) {
            return Err(serde::de::Error::custom(format!(
                "console.places.\"{name}\" = [{lat}, {lon}] is not [latitude, longitude] in decimal degrees: give e.g. [45.0433, 5.0514]"
            )));
        }
    }
    Ok(raw)
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

    #[test]
    fn places_are_named_once_with_their_latitude_and_longitude() {
        let ok: File = toml::from_str(
            "[console.places]\n\"Poste de police\" = [45.0463, 5.0599]\n\"Quartier de la Monnaie\" = [45.0433, 5.0514]",
        )
        .unwrap();
        assert_eq!(
            ok.console.place("poste de police "),
            Some((45.0463, 5.0599))
        );
        assert_eq!(ok.console.place("Gare"), None);
        let err = toml::from_str::<File>("[console.places]\nGare = [5.0514, 245.0433]")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("console.places.\"Gare\""), "{err}");
    }
}
