//! The register's and the protocol's codes (states, custody actions, flags, attribution
//! kinds, purposes) in plain words: the pages show these, never the codes, which stay in
//! `data-*` attributes for scripts and tests.

use super::i18n::t;
use crate::base::config::Language;

/// (key, French, English): the plain words for the registers' codes.
pub(crate) const TEXTS: &[(&str, &str, &str)] = &[
    (
        "rs.discovered",
        "trouvée sur la caméra, pas encore copiée",
        "found on the camera, not yet copied",
    ),
    (
        "rs.confirmed",
        "copiée et prouvée (encore sur la caméra)",
        "copied and proven (still on the camera)",
    ),
    (
        "rs.quarantined",
        "mise de côté pour vérification",
        "set aside to be checked",
    ),
    (
        "rs.wiped",
        "retirée de la caméra (copie prouvée conservée)",
        "removed from the camera (proven copy kept)",
    ),
    (
        "rs.purged",
        "supprimée du stockage (durée de conservation écoulée)",
        "deleted from the store (keeping period over)",
    ),
    ("rs.other", "autre état", "other state"),
    (
        "act.collection",
        "copiée depuis la caméra",
        "copied from the camera",
    ),
    (
        "act.wipe",
        "retirée de la caméra",
        "removed from the camera",
    ),
    ("act.consultation", "visionnage", "viewing"),
    (
        "act.extraction",
        "extraction demandée",
        "extraction asked for",
    ),
    (
        "act.extraction-completed",
        "extraction écrite et vérifiée",
        "extraction written and checked",
    ),
    ("act.failure", "échec", "failure"),
    (
        "act.attribution",
        "attribuée à un agent",
        "given to an agent",
    ),
    (
        "act.hold",
        "conservée pour une procédure",
        "kept for a procedure",
    ),
    (
        "act.release",
        "conservation levée",
        "no longer kept for a procedure",
    ),
    (
        "act.deletion",
        "supprimée du stockage",
        "deleted from the store",
    ),
    ("act.refusal", "accès refusé", "access refused"),
    (
        "act.perception",
        "registre de perception modifié",
        "perception register changed",
    ),
    (
        "act.expiry",
        "anciennes entrées archivées",
        "old entries archived",
    ),
    ("act.scrub", "stockage vérifié", "store checked"),
    (
        "act.replication",
        "copiée sur la réplique",
        "copied to the replica",
    ),
    (
        "act.replica-deletion",
        "supprimée de la réplique",
        "deleted from the replica",
    ),
    ("act.replica-scrub", "réplique vérifiée", "replica checked"),
    (
        "act.anonymisation",
        "copie anonymisée demandée",
        "anonymised copy asked for",
    ),
    (
        "act.anonymisation-completed",
        "copie anonymisée faite",
        "anonymised copy made",
    ),
    (
        "act.anonymisation-accepted",
        "copie anonymisée acceptée",
        "anonymised copy accepted",
    ),
    (
        "act.store-adopted",
        "nouveau stockage adopté",
        "new store adopted",
    ),
    ("act.other", "autre étape", "other step"),
    (
        "flag.clock-ahead",
        "horloge de la caméra en avance",
        "camera clock ahead",
    ),
    (
        "flag.clock-behind",
        "horloge de la caméra en retard",
        "camera clock behind",
    ),
    (
        "flag.clock-drift",
        "horloge de la caméra décalée",
        "camera clock off",
    ),
    (
        "flag.clock-implausible",
        "date de la caméra impossible",
        "impossible camera date",
    ),
    (
        "flag.gps",
        "heure ou position GPS douteuse",
        "doubtful GPS time or position",
    ),
    (
        "flag.sidecar",
        "positions GPS à vérifier",
        "GPS positions to be checked",
    ),
    (
        "flag.video",
        "vidéo dans un format inattendu",
        "video in an unexpected format",
    ),
    (
        "flag.name",
        "nom de fichier inhabituel",
        "unusual file name",
    ),
    (
        "flag.log",
        "journal de la caméra illisible par endroits",
        "camera log partly unreadable",
    ),
    (
        "flag.other",
        "à vérifier (voir le registre)",
        "to be checked (see the register)",
    ),
    (
        "kind.automatic",
        "attribué d'après le registre de perception",
        "attributed from the perception register",
    ),
    ("kind.manual", "attribué à la main", "attributed by hand"),
    ("attr.by", "par", "by"),
    (
        "purpose.on-camera",
        "consultation sur la caméra (L241-2)",
        "consultation on the camera (L241-2)",
    ),
    ("purpose.service", "service", "service"),
    (
        "ended.docked",
        "reposée à la station",
        "put back in the dock",
    ),
    ("ended.by-hand", "rendue en main propre", "handed back"),
    ("ended.out", "encore en service", "still out"),
    (
        "why.clock",
        "l'horloge de la caméra n'est pas fiable pour cet enregistrement : attribuez-le à la main",
        "the camera's clock cannot be trusted for this recording: attribute it by hand",
    ),
    (
        "why.never-issued",
        "la caméra n'avait jamais été remise à un agent : attribuez-le à la main",
        "the camera had never been given to an agent: attribute it by hand",
    ),
    (
        "why.returned",
        "la caméra avait été rendue et n'a pas été remise à nouveau : attribuez-le à la main",
        "the camera had been handed back and not given out again: attribute it by hand",
    ),
    (
        "why.docked",
        "la caméra était à la station : attribuez-le à la main",
        "the camera was in the dock: attribute it by hand",
    ),
    (
        "why.pending",
        "sera attribué automatiquement sous peu",
        "will be attributed automatically shortly",
    ),
    (
        "why.other",
        "à attribuer à la main",
        "to be attributed by hand",
    ),
    (
        "who.service",
        "le service de la station",
        "the dock's service",
    ),
];

/// A register state (`wiped`...) in plain words.
pub fn state(lang: Language, code: &str) -> &'static str {
    t(
        lang,
        match code {
            "discovered" => "rs.discovered",
            "confirmed" => "rs.confirmed",
            "quarantined" => "rs.quarantined",
            "wiped" => "rs.wiped",
            "purged" => "rs.purged",
            _ => "rs.other",
        },
    )
}

/// The states a search may ask for, in the order the form lists them.
pub(crate) const STATES: [&str; 5] = ["confirmed", "wiped", "quarantined", "discovered", "purged"];

/// A custody step (an audit action, or a state reached) in plain words.
pub fn action(lang: Language, code: &str) -> &'static str {
    let key = match code {
        "collection" => "act.collection",
        "wipe" => "act.wipe",
        "consultation" => "act.consultation",
        "extraction" => "act.extraction",
        "extraction-completed" => "act.extraction-completed",
        "failure" => "act.failure",
        "attribution" => "act.attribution",
        "hold" => "act.hold",
        "release" => "act.release",
        "deletion" => "act.deletion",
        "refusal" => "act.refusal",
        "perception" => "act.perception",
        "expiry" => "act.expiry",
        "scrub" => "act.scrub",
        "replication" => "act.replication",
        "replica-deletion" => "act.replica-deletion",
        "replica-scrub" => "act.replica-scrub",
        "anonymisation" => "act.anonymisation",
        "anonymisation-completed" => "act.anonymisation-completed",
        "anonymisation-accepted" => "act.anonymisation-accepted",
        "store-adopted" => "act.store-adopted",
        other if STATES.contains(&other) => return state(lang, other),
        _ => "act.other",
    };
    t(lang, key)
}

/// A flag's code: what comes before its first `:` or space (`clock-drift: ...`).
pub(crate) fn flag_code(flag: &str) -> &str {
    flag.split([':', ' ']).next().unwrap_or(flag).trim()
}

/// A flag in plain words (the family it belongs to when it has no words of its own).
pub fn flag(lang: Language, flag: &str) -> &'static str {
    let code = flag_code(flag);
    // The sidecar's flags are sentences that start with a count ("3 position fix(es) ...").
    let sidecar_sentence = code.bytes().all(|b| b.is_ascii_digit()) && !code.is_empty();
    let key = match code {
        _ if sidecar_sentence => "flag.sidecar",
        "clock-ahead" => "flag.clock-ahead",
        "clock-behind" => "flag.clock-behind",
        "clock-drift" => "flag.clock-drift",
        "clock-implausible" => "flag.clock-implausible",
        c if c.starts_with("gps-") => "flag.gps",
        c if c.starts_with("sidecar-") => "flag.sidecar",
        c if c.starts_with("bmff-")
            || c.starts_with("codec-")
            || c == "no-tracks"
            || c == "duration-mismatch" =>
        {
            "flag.video"
        }
        c if c.starts_with("name-") => "flag.name",
        c if c.starts_with("log-") => "flag.log",
        _ => "flag.other",
    };
    t(lang, key)
}

/// Flags in plain words, each once.
pub fn flags(lang: Language, flags: &[String]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for f in flags {
        let w = flag(lang, f);
        if !words.contains(&w) {
            words.push(w);
        }
    }
    words.join(", ")
}

/// How an attribution was made (`automatic`, `manual`).
pub fn kind(lang: Language, code: &str) -> &'static str {
    t(
        lang,
        if code == "automatic" {
            "kind.automatic"
        } else {
            "kind.manual"
        },
    )
}

/// A purpose as stored (`judicial`...), in plain words; `None` when there is none.
pub fn purpose(lang: Language, code: &str) -> Option<&'static str> {
    let key = match code {
        "" => return None,
        "judicial" => "purpose.judicial",
        "administrative" => "purpose.administrative",
        "disciplinary" => "purpose.disciplinary",
        "training" => "purpose.training",
        c if c == crate::app::ingest::ON_CAMERA_PURPOSE => "purpose.on-camera",
        _ => "purpose.service",
    };
    Some(t(lang, key))
}

/// Who wrote a register entry: a person's name as written, the service in words.
pub fn author(lang: Language, author: &str) -> &str {
    if author == crate::custody::register::audit::SERVICE_AUTHOR {
        t(lang, "who.service")
    } else {
        author
    }
}

/// How an issue ended, as the perception register prints it.
pub fn ended(lang: Language, text: &str) -> &'static str {
    t(
        lang,
        match text {
            "docked" => "ended.docked",
            "returned by hand" => "ended.by-hand",
            _ => "ended.out",
        },
    )
}

/// Why a recording waits for an attribution, from the register's sentence.
pub fn why(lang: Language, text: &str) -> &'static str {
    let key = if text.contains("clock is not trusted") {
        "why.clock"
    } else if text.contains("never been issued") {
        "why.never-issued"
    } else if text.contains("last issue had ended") {
        "why.returned"
    } else if text.contains("in the dock") {
        "why.docked"
    } else if text.starts_with("held by agent") {
        "why.pending"
    } else {
        "why.other"
    };
    t(lang, key)
}

/// The person's own words in a custody entry's details (the reason given, the procedure
/// named); `None` for entries whose details are the service's (store paths, digests).
pub(crate) fn people_words(action: &str, details: &str) -> Option<String> {
    match action {
        "consultation" => details
            .split_once("; reason: ")
            .map(|(_, reason)| reason.to_string()),
        "hold" => details
            .strip_prefix("held for procedure ")
            .and_then(|rest| rest.split_once(": "))
            .map(|(p, reason)| format!("{p} — {reason}")),
        "release" => details
            .strip_prefix("hold for procedure ")
            .and_then(|rest| rest.split_once(" released: "))
            .map(|(p, reason)| format!("{p} — {reason}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_words_and_no_code_shows_through() {
        for lang in [Language::Fr, Language::En] {
            for s in STATES {
                let w = state(lang, s);
                assert!(!w.contains(s) && !w.starts_with("rs."), "{s}: {w}");
                assert_eq!(action(lang, s), w);
            }
            for a in [
                "collection",
                "wipe",
                "hold",
                "release",
                "extraction-completed",
            ] {
                let w = action(lang, a);
                assert!(!w.starts_with("act.") && w != a, "{a}: {w}");
            }
            assert_eq!(
                flag(lang, "clock-drift: the camera's clock is 3 min ahead"),
                t(lang, "flag.clock-drift")
            );
            assert_eq!(flag(lang, "sidecar-checksum"), t(lang, "flag.sidecar"));
            assert_eq!(
                flag(
                    lang,
                    "3 position fix(es) with impossible coordinates (first on line 9)"
                ),
                t(lang, "flag.sidecar")
            );
            assert_eq!(
                flags(lang, &["gps-rollover".into(), "gps-implausible".into()]),
                t(lang, "flag.gps")
            );
        }
        assert_eq!(
            people_words("hold", "held for procedure PV 12: plainte").as_deref(),
            Some("PV 12 — plainte")
        );
        assert_eq!(
            people_words(
                "consultation",
                "register id 3, camera C, video store/x (sha256 ab); reason: PV 9"
            )
            .as_deref(),
            Some("PV 9")
        );
        assert_eq!(people_words("collection", "store/2018/x.MP4"), None);
        assert_eq!(
            author(Language::Fr, "sentinel-dockd"),
            "le service de la station"
        );
        assert_eq!(author(Language::Fr, "chef (M1)"), "chef (M1)");
        assert_eq!(
            state(Language::Fr, "wiped"),
            "retirée de la caméra (copie prouvée conservée)"
        );
    }
}
