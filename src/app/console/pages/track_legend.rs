//! The legend drawn under a track: a scale bar of a round distance and a north arrow (the
//! drawing keeps north up: latitude grows upwards, longitude is scaled by cos(latitude)).

use maud::{Markup, html};

use crate::app::console::i18n::t;
use crate::base::config::Language;

/// Metres in a degree of latitude.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// The round distance (1, 2 or 5 × 10ⁿ metres) drawn no wider than `max_px` at
/// `px_per_degree` pixels a degree of latitude, with its length in pixels and its label.
pub(crate) fn bar(px_per_degree: f64, max_px: f64) -> (f64, String) {
    let metres_per_px = METRES_PER_DEGREE / px_per_degree.max(1e-9);
    let most = max_px * metres_per_px;
    let mut chosen = 1.0;
    let mut step = 1.0;
    while step <= 1e7 {
        for m in [1.0, 2.0, 5.0] {
            if m * step <= most {
                chosen = m * step;
            }
        }
        step *= 10.0;
    }
    let label = if chosen >= 1000.0 {
        format!("{} km", chosen / 1000.0)
    } else {
        format!("{chosen} m")
    };
    (chosen / metres_per_px, label)
}

/// The legend, drawn in the band `y0..y0 + 40` of a drawing `width` wide.
pub(crate) fn legend(lang: Language, px_per_degree: f64, width: f64, y0: f64) -> Markup {
    let (len, label) = bar(px_per_degree, width / 4.0);
    let (x, y) = (20.0, y0 + 24.0);
    let end = x + len;
    let nx = width - 30.0;
    html! {
        g.legend {
            g.scale aria-label={ (t(lang, "track.scale")) " " (label) } {
                line x1=(x) y1=(y) x2=(format!("{end:.1}")) y2=(y) {}
                line x1=(x) y1=(y - 5.0) x2=(x) y2=(y + 5.0) {}
                line x1=(format!("{end:.1}")) y1=(y - 5.0) x2=(format!("{end:.1}")) y2=(y + 5.0) {}
                text x=(format!("{:.1}", end + 8.0)) y=(y + 4.0) { (label) }
            }
            g.north {
                path d=(format!("M {nx} {} L {} {} L {nx} {} L {} {} Z", y0 + 6.0, nx + 7.0, y0 + 32.0, y0 + 26.0, nx - 7.0, y0 + 32.0)) {}
                text x=(format!("{:.1}", nx + 11.0)) y=(y0 + 18.0) { (t(lang, "track.north")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_is_a_round_distance_that_fits_a_quarter_of_the_drawing() {
        // A 1 km wide track across 560 px: 1 px ≈ 1.8 m, a quarter is ≈ 268 m: 200 m.
        let px_per_degree = 560.0 / (1000.0 / METRES_PER_DEGREE);
        let (len, label) = bar(px_per_degree, 150.0);
        assert_eq!(label, "200 m");
        assert!((len - 112.0).abs() < 0.5, "{len}");
        // A 30 km track: 5 km.
        let (_, label) = bar(560.0 / (30_000.0 / METRES_PER_DEGREE), 150.0);
        assert_eq!(label, "5 km");
        let m = legend(Language::Fr, px_per_degree, 600.0, 400.0).into_string();
        assert!(m.contains("200 m") && m.contains(">N<"), "{m}");
    }
}
