//! A span of time in the configuration, written as seconds or with a unit: `120`, `"90 s"`,
//! `"2 min"`, `"1 h"`.

use serde::{Deserialize, Deserializer};

/// A number of whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub u64);

impl std::str::FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Seconds, String> {
        let text = text.trim();
        let (number, unit) = super::quantity::split(text, "a time such as \"90 s\" or \"2 min\"")?;
        let multiplier: u64 = match unit.as_str() {
            "" | "s" | "sec" => 1,
            "min" | "m" => 60,
            "h" => 3600,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`: use s, min or h"
                ));
            }
        };
        number
            .checked_mul(multiplier)
            .map(Seconds)
            .ok_or_else(|| format!("`{text}` is too long"))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Seconds, D::Error> {
        super::quantity::deserialize(deserializer, Seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_units() {
        assert_eq!("90 s".parse::<Seconds>(), Ok(Seconds(90)));
        assert_eq!("2 min".parse::<Seconds>(), Ok(Seconds(120)));
        assert_eq!("1h".parse::<Seconds>(), Ok(Seconds(3600)));
        assert!("2 fortnights".parse::<Seconds>().is_err());
    }
}
