//! The report's CSV as the reader's spreadsheet opens it: in French, `;`-separated with a
//! UTF-8 byte-order mark and decimal commas (French Excel then splits the columns and
//! reads the numbers); in English, `,`-separated with decimal points.

use crate::app::api::replies::{Activity, ByPurpose};
use crate::app::console::i18n::t;
use crate::base::config::Language;

/// The CSV's bytes for `act` in `lang`.
pub fn csv(lang: Language, act: &Activity) -> Vec<u8> {
    let (sep, bom) = match lang {
        Language::Fr => (';', "\u{feff}"),
        Language::En => (',', ""),
    };
    let number = |v: f64| -> String {
        let text = format!("{v:.2}");
        match lang {
            Language::Fr => text.replace('.', ","),
            Language::En => text,
        }
    };
    let mut rows: Vec<(String, String)> = vec![
        (t(lang, "csv.from").into(), act.from.to_string()),
        (t(lang, "csv.to").into(), act.to.to_string()),
        (t(lang, "csv.days").into(), act.days.to_string()),
        (
            t(lang, "csv.days_of_use").into(),
            act.days_of_use.to_string(),
        ),
        (t(lang, "csv.videos").into(), act.videos.to_string()),
        (t(lang, "csv.bytes").into(), act.bytes.to_string()),
        (
            t(lang, "csv.mib_per_day").into(),
            number(act.bytes_per_day / 1_048_576.0),
        ),
        (
            t(lang, "csv.videos_in_store").into(),
            act.videos_in_store.to_string(),
        ),
        (
            t(lang, "csv.bytes_in_store").into(),
            act.bytes_in_store.to_string(),
        ),
        (
            t(lang, "csv.retention_days").into(),
            act.retention_days.to_string(),
        ),
        (
            t(lang, "csv.needed").into(),
            act.needed_for_retention.to_string(),
        ),
    ];
    for (key, n) in [
        ("csv.consultations", &act.consultations),
        ("csv.extractions", &act.extractions),
    ] {
        for (purpose, count) in by_purpose(n) {
            rows.push((
                format!("{} — {}", t(lang, key), t(lang, purpose)),
                count.to_string(),
            ));
        }
    }
    rows.push((
        t(lang, "csv.on_camera").into(),
        act.on_camera_consultations.to_string(),
    ));
    rows.push((t(lang, "csv.training").into(), act.training.to_string()));
    let field = |v: &str| -> String {
        if v.contains([sep, '"', '\r', '\n']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    };
    let mut out = String::from(bom);
    out.push_str(&format!(
        "{}{sep}{}\r\n",
        field(t(lang, "csv.item")),
        field(t(lang, "csv.value"))
    ));
    for (item, value) in rows {
        out.push_str(&format!("{}{sep}{}\r\n", field(&item), field(&value)));
    }
    out.into_bytes()
}

fn by_purpose(n: &ByPurpose) -> [(&'static str, u64); 4] {
    [
        ("purpose.judicial", n.judicial),
        ("purpose.administrative", n.administrative),
        ("purpose.disciplinary", n.disciplinary),
        ("purpose.training", n.training),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity() -> Activity {
        let n = ByPurpose {
            judicial: 2,
            administrative: 1,
            disciplinary: 0,
            training: 0,
        };
        Activity {
            from: "2026-11-30".parse().unwrap(),
            to: "2026-12-06".parse().unwrap(),
            days: 7,
            days_of_use: 5,
            videos: 12,
            bytes: 3_000_000_000,
            videos_in_store: 40,
            bytes_in_store: 9_000_000_000,
            bytes_per_day: 428_571_428.5,
            retention_days: 30,
            needed_for_retention: 20_000_000_000,
            consultations: n,
            on_camera_consultations: 1,
            extractions: n,
            training: 0,
        }
    }

    #[test]
    fn the_french_csv_has_a_bom_semicolons_decimal_commas_and_french_headers() {
        let bytes = csv(Language::Fr, &activity());
        assert!(bytes.starts_with(&[0xef, 0xbb, 0xbf]), "UTF-8 BOM");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Indicateur;Valeur");
        assert!(lines.contains(&"Vidéos enregistrées;12"), "{text}");
        assert!(lines.contains(&"Mio enregistrés par jour;408,72"), "{text}");
        assert!(lines.contains(&"Consultations — judiciaire;2"), "{text}");
        assert!(lines.iter().all(|l| l.split(';').count() == 2), "{text}");
        assert!(!text.contains(".72"), "no decimal point: {text}");
    }

    #[test]
    fn the_english_csv_stays_english_with_commas_and_points() {
        let bytes = csv(Language::En, &activity());
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("Item,Value\r\n"), "{text}");
        assert!(text.contains("MiB recorded a day,408.72\r\n"), "{text}");
        assert!(text.contains("Consultations — judicial,2\r\n"), "{text}");
    }
}
