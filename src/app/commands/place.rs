//! A place as people type it: "45,0433 5,0514" (French decimal commas), "45.0433, 5.0514",
//! "45.0433,5.0514", or the name of a place in `[console.places]`.

use crate::base::config::ConsoleConfig;

use super::CommandError;

/// Latitude and longitude in decimal degrees, from a named place or from two numbers.
pub(crate) fn parse_place(console: &ConsoleConfig, text: &str) -> Result<(f64, f64), CommandError> {
    if let Some(point) = console.place(text) {
        return Ok(point);
    }
    let bad = || {
        let names: Vec<&str> = console.places.keys().map(String::as_str).collect();
        let known = if names.is_empty() {
            String::new()
        } else {
            format!(", or one of the service's places: {}", names.join(", "))
        };
        CommandError::Invalid(format!(
            "the place `{}` is neither a latitude and a longitude in decimal degrees (\"45,0433 5,0514\" or \"45.0433, 5.0514\"){known}",
            text.trim()
        ))
    };
    let (lat, lon) = split(text.trim()).ok_or_else(bad)?;
    let number = |s: &str| -> Option<f64> {
        let s = s.trim().replace(',', ".");
        s.parse::<f64>().ok().filter(|v| v.is_finite())
    };
    let (lat, lon) = (number(lat).ok_or_else(bad)?, number(lon).ok_or_else(bad)?);
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    Ok((lat, lon))
}

/// The two numbers: split at a semicolon, else at spaces (each may carry a decimal
/// comma, and the first a trailing comma), else at the one comma.
fn split(text: &str) -> Option<(&str, &str)> {
    if let Some(pair) = text.split_once(';') {
        return Some(pair);
    }
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_end_matches(','))
        .filter(|w| !w.is_empty() && *w != ",")
        .collect();
    match words.as_slice() {
        [lat, lon] => Some((lat, lon)),
        [one] if one.matches(',').count() == 1 => one.split_once(','),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> ConsoleConfig {
        let mut c = ConsoleConfig::default();
        c.places.insert("Poste de police".into(), (45.0463, 5.0599));
        c
    }

    #[test]
    fn french_and_english_decimals_and_named_places_give_the_same_point() {
        let c = places();
        for text in [
            "45,0433 5,0514",
            "45.0433, 5.0514",
            "45.0433,5.0514",
            " 45,0433 ; 5,0514 ",
            "45.0433 5.0514",
            "45,0433, 5,0514",
        ] {
            assert_eq!(parse_place(&c, text).unwrap(), (45.0433, 5.0514), "{text}");
        }
        assert_eq!(
            parse_place(&c, "poste de police").unwrap(),
            (45.0463, 5.0599)
        );
        assert_eq!(parse_place(&c, "-33.5,-70.6").unwrap(), (-33.5, -70.6));
    }

    #[test]
    fn what_is_neither_a_point_nor_a_known_place_is_refused_with_the_forms_and_the_names() {
        let c = places();
        for text in ["45,0433,5,0514", "Gare", "95 5", "45,0433", "", "NaN 5"] {
            let err = parse_place(&c, text).unwrap_err().to_string();
            assert!(
                err.contains("45,0433 5,0514") && err.contains("Poste de police"),
                "{text}: {err}"
            );
        }
    }
}
