//! What sizes and times in the configuration share: a whole number, then an optional unit
//! (`512 MiB`, `90 s`), or a bare TOML integer.

use serde::{Deserialize, Deserializer};

/// Splits `text` (trimmed) into its leading number and its unit, lower-cased; `not_a` is the
/// error's sentence when there is no number, e.g. "a size such as \"512 MiB\"".
pub(super) fn split(text: &str, not_a: &str) -> Result<(u64, String), String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not {not_a}"))?;
    Ok((number, unit.trim().to_ascii_lowercase()))
}

/// Reads a quantity written as a bare integer (`from_number`) or as text with a unit
/// (parsed by `T::from_str`, whose error becomes the configuration's).
pub(super) fn deserialize<'de, D, T>(
    deserializer: D,
    from_number: fn(u64) -> T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr<Err = String>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Number(n) => Ok(from_number(n)),
        Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
    }
}
