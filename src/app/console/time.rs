//! Times as the console shows them: in `[console] timezone`, with UTC on hover.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

/// `<time>` in the configured zone, its UTC form in `datetime` and `title`.
pub fn show(tz: chrono_tz::Tz, at: &DateTime<Utc>) -> Markup {
    let local = at
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string();
    let utc = at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    html! { time datetime=(at.to_rfc3339()) title=(utc) { (local) } }
}

/// The same for a register time (RFC 3339); shown as stored when it does not parse.
pub(crate) fn show_text(tz: chrono_tz::Tz, text: &str) -> Markup {
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => show(tz, &at.with_timezone(&Utc)),
        Err(_) => html! { (text) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_in_winter_is_an_hour_ahead() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let m = show(chrono_tz::Europe::Paris, &at).into_string();
        assert!(m.contains("2026-12-04 11:00:00 CET"), "{m}");
        assert!(m.contains("title=\"2026-12-04 10:00:00 UTC\""), "{m}");
    }
}
