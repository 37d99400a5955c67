//! The procès-verbal d'extraction: the French record an OPJ reads and signs, put in the
//! bag as a PDF (`proces-verbal-extraction.pdf`, a tag file listed in the tag manifests):
//! the request, each recording with its times in `[console] timezone`, its agent, camera,
//! SHA-256 and size, its custody entries, the operator, and the audit entries written.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::pdf::{Line, document};
use crate::app::api::request::Purpose;
use crate::custody::register::FileFacts;
use crate::custody::register::custody::CustodyRow;

/// The record's file name inside the bag.
pub const FILE: &str = "proces-verbal-extraction.pdf";

/// One recording as the record lists it.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its stem.
    pub stem: String,
    /// The camera's serial.
    pub camera: String,
    /// Start and end.
    pub start: DateTime<Utc>,
    /// End, when known.
    pub end: Option<DateTime<Utc>>,
    /// The agent's matricule, when attributed.
    pub agent: Option<String>,
    /// The video and the sidecar, with their names inside the bag.
    pub files: Vec<(String, FileFacts)>,
    /// Its custody, oldest first.
    pub custody: Vec<CustodyRow>,
}

/// What the record says.
#[derive(Debug, Clone)]
pub(crate) struct Record<'a> {
    /// The purpose.
    pub purpose: Purpose,
    /// `bag-info.txt` labels of the request (requisition, date, OPJ, or procedure and
    /// recipient, reason).
    pub labels: &'a [(String, String)],
    /// The operator, as the registers name them.
    pub operator: &'a str,
    /// When the extraction was traced.
    pub at: DateTime<Utc>,
    /// The extraction's audit entry and, when one was placed, the hold's.
    pub audit: (i64, Option<i64>),
    /// The recordings.
    pub items: &'a [Item],
    /// The zone times are written in.
    pub tz: Tz,
}

/// The record as PDF bytes.
pub fn pdf(r: &Record<'_>) -> Vec<u8> {
    document("Procès-verbal d'extraction", &lines(r))
}

fn local(tz: Tz, at: &DateTime<Utc>) -> String {
    at.with_timezone(&tz)
        .format("%d/%m/%Y à %H:%M:%S %Z")
        .to_string()
}

fn local_text(tz: Tz, text: &str) -> String {
    DateTime::parse_from_rfc3339(text)
        .map(|t| local(tz, &t.with_timezone(&Utc)))
        .unwrap_or_else(|_| text.to_string())
}

fn label<'a>(r: &'a Record<'_>, name: &str) -> Option<&'a str> {
    r.labels
        .iter()
        .find(|(l, _)| l == name)
        .map(|(_, v)| v.as_str())
}

/// French words for the register's actions and states (the raw word when unknown).
fn action(word: &str) -> &str {
    match word {
        "discovered" => "découvert sur la caméra",
        "confirmed" => "copie vérifiée et enregistrée",
        "wiped" => "retiré de la caméra après vérification de la copie",
        "quarantined" => "mis à l'écart pour vérification",
        "purged" => "supprimé à l'échéance de conservation",
        "collection" => "collecte",
        "wipe" => "effacement de la caméra après copie vérifiée",
        "consultation" => "consultation",
        "extraction" => "extraction",
        "extraction-completed" => "extraction achevée",
        "hold" => "conservation pour une procédure",
        "release" => "fin de conservation",
        "attribution" => "attribution à un agent",
        "refusal" => "refus",
        "failure" => "échec",
        "scrub" => "vérification du stockage",
        "replication" => "copie de sauvegarde",
        other => other,
    }
}

fn purpose(p: Purpose) -> &'static str {
    match p {
        Purpose::Judicial => "judiciaire",
        Purpose::Administrative => "administrative",
        Purpose::Disciplinary => "disciplinaire",
        Purpose::Training => "formation",
    }
}

/// Bytes with French thousands separators ("1 234 567 octets").
fn octets(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    format!("{out} octets")
}

fn lines(r: &Record<'_>) -> Vec<Line> {
    let text = |s: String| Line::Text(s);
    let mut out = vec![
        Line::Heading("PROCÈS-VERBAL D'EXTRACTION D'ENREGISTREMENTS".into()),
        text("Caméras individuelles des agents de police municipale (CSI, art. L241-2)".into()),
        Line::Blank,
        text(format!(
            "Extraction n° {} du registre d'audit, faite le {}.",
            r.audit.0,
            local(r.tz, &r.at)
        )),
        text(format!("Opérateur : {}", r.operator)),
        text(format!("Finalité : {}", purpose(r.purpose))),
    ];
    if r.purpose == Purpose::Judicial {
        let given = |name| label(r, name).unwrap_or("—").to_string();
        let date = label(r, "Requisition-Date")
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| "—".into());
        out.push(text(format!(
            "Réquisition : {} du {date}",
            given("Requisition-Reference")
        )));
        out.push(text(format!(
            "Officier de police judiciaire : {}, {}",
            given("OPJ-Name"),
            given("OPJ-Service")
        )));
        out.push(text(format!(
            "Procédure : {}",
            given("Requisition-Reference")
        )));
    } else {
        out.push(text(format!(
            "Procédure : {}",
            label(r, "Procedure-Reference").unwrap_or("—")
        )));
        out.push(text(format!(
            "Destinataire : {}",
            label(r, "Recipient").unwrap_or("—")
        )));
    }
    if let Some(reason) = label(r, "Reason") {
        out.push(text(format!("Motif : {reason}")));
    }
    out.push(Line::Blank);
    out.push(Line::Heading(format!(
        "Enregistrements remis ({})",
        r.items.len()
    )));
    for (n, item) in r.items.iter().enumerate() {
        out.push(Line::Blank);
        out.push(Line::Heading(format!("{}. {}", n + 1, item.stem)));
        out.push(text(format!(
            "   Caméra : {} ; agent : {}",
            item.camera,
            item.agent.as_deref().unwrap_or("non attribué")
        )));
        out.push(text(format!(
            "   Début : {} ; fin : {}",
            local(r.tz, &item.start),
            item.end
                .map(|e| local(r.tz, &e))
                .unwrap_or_else(|| "inconnue".into())
        )));
        for (name, f) in &item.files {
            out.push(text(format!("   Fichier data/{name} : {}", octets(f.size))));
            out.push(text(format!("      SHA-256 : {}", f.digests.sha256_hex())));
        }
        out.push(text("   Chaîne de garde :".into()));
        for c in &item.custody {
            let seq = c
                .audit_seq
                .map(|s| format!(" (n° {s})"))
                .unwrap_or_default();
            out.push(text(format!(
                "      - {} : {}{seq}, par {}",
                local_text(r.tz, &c.at),
                action(&c.action),
                c.author
            )));
        }
    }
    out.push(Line::Blank);
    out.push(Line::Heading("Écritures au registre d'audit".into()));
    out.push(text(format!(
        "   n° {} : demande d'extraction, inscrite avant toute copie",
        r.audit.0
    )));
    if let Some(hold) = r.audit.1 {
        out.push(text(format!(
            "   n° {hold} : conservation des enregistrements pour la procédure"
        )));
    }
    out.push(text(
        "   L'achèvement de l'extraction est inscrit au registre une fois le sac relu et vérifié."
            .into(),
    ));
    out.push(Line::Blank);
    out.push(text(
        "Les empreintes SHA-256 ci-dessus sont celles calculées à la collecte ; manifest-sha256.txt les reprend pour chaque fichier du sac."
            .into(),
    ));
    out.push(Line::Blank);
    out.push(text("Signature de l'opérateur :".into()));
    out.push(Line::Blank);
    out.push(Line::Blank);
    out.push(text(
        "Signature de l'officier de police judiciaire (remise reçue le ____/____/______) :".into(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_names_the_requisition_the_times_in_paris_and_each_hash() {
        let labels = vec![
            (
                "Requisition-Reference".to_string(),
                "PV 2026/118".to_string(),
            ),
            ("Requisition-Date".to_string(), "2026-11-20".to_string()),
            ("OPJ-Name".to_string(), "Dupont".to_string()),
            (
                "OPJ-Service".to_string(),
                "Commissariat de Romans".to_string(),
            ),
        ];
        let facts = FileFacts {
            size: 1_234_567,
            digests: crate::base::digest::Digests {
                blake3: [0; 32],
                sha256: [0xab; 32],
            },
            path: "x".into(),
        };
        let items = vec![Item {
            stem: "S_20261129_233000_0001".into(),
            camera: "S".into(),
            start: "2026-11-29T23:30:00Z".parse().unwrap(),
            end: None,
            agent: Some("M100".into()),
            files: vec![("S/S_20261129_233000_0001.MP4".into(), facts)],
            custody: vec![CustodyRow {
                audit_seq: None,
                at: "2026-11-30T06:00:00Z".into(),
                author: "sentinel-dockd".into(),
                action: "wiped".into(),
                purpose: String::new(),
                details: String::new(),
            }],
        }];
        let r = Record {
            purpose: Purpose::Judicial,
            labels: &labels,
            operator: "chef",
            at: "2026-12-07T10:00:00Z".parse().unwrap(),
            audit: (50, Some(51)),
            items: &items,
            tz: chrono_tz::Europe::Paris,
        };
        let all: Vec<String> = lines(&r)
            .into_iter()
            .filter_map(|l| match l {
                Line::Text(t) | Line::Heading(t) => Some(t),
                Line::Blank => None,
            })
            .collect();
        let all = all.join("\n");
        for needed in [
            "Réquisition : PV 2026/118 du 20/11/2026",
            "Officier de police judiciaire : Dupont, Commissariat de Romans",
            "Début : 30/11/2026 à 00:30:00 CET",
            "agent : M100",
            "1 234 567 octets",
            &"ab".repeat(32),
            "retiré de la caméra après vérification de la copie",
            "n° 51 : conservation",
            "Opérateur : chef",
        ] {
            assert!(all.contains(needed), "{needed}:\n{all}");
        }
    }
}
