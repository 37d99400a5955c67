//! Every text of the console, in French (the default) and English.

use crate::base::config::Language;

mod more;

/// (key, French, English).
const TEXTS: &[(&str, &str, &str)] = &[
    ("title", "Console sentinel-dock", "sentinel-dock console"),
    ("nav.dock", "Station d'accueil", "Dock"),
    ("nav.recordings", "Enregistrements", "Recordings"),
    ("nav.extract", "Extraction", "Extraction"),
    ("nav.registers", "Registres", "Registers"),
    ("nav.report", "Rapport", "Report"),
    ("lang.switch", "English", "Français"),
    ("dock.title", "Caméras à la station", "Cameras in the dock"),
    (
        "dock.none",
        "Aucune caméra n'est à la station.",
        "No camera is docked.",
    ),
    ("dock.site", "Site :", "Site:"),
    (
        "dock.no_dock",
        "Pas de station d'accueil ici : ce poste sert les commandes et la console seulement.",
        "No dock here: this post serves the commands and the console only.",
    ),
    ("dock.agent", "Agent", "Agent"),
    ("dock.slot", "Emplacement", "Slot"),
    ("dock.docked", "À la station depuis", "Docked since"),
    ("dock.rate", "Débit", "Rate"),
    ("dock.eta", "Fin estimée dans", "Done in about"),
    ("dock.safe", "PEUT ÊTRE RETIRÉE", "SAFE TO UNDOCK"),
    (
        "dock.not-responding",
        "La caméra ne répond plus : rien n'a été effacé ; retirez-la et remettez-la sur le socle",
        "The camera stopped responding: nothing was wiped; undock it and dock it again",
    ),
    ("dock.attention", "À VÉRIFIER", "NEEDS ATTENTION"),
    ("dock.store", "Stockage", "Store"),
    (
        "dock.days_left",
        "jours de stockage restants",
        "days of storage left",
    ),
    ("dock.raid", "RAID", "RAID"),
    (
        "dock.scrub",
        "Dernière vérification du stockage",
        "Last scrub of the store",
    ),
    ("dock.scrub.none", "aucune encore", "none yet"),
    ("dock.warnings", "Avertissements", "Warnings"),
    ("state.waiting", "En attente", "Waiting"),
    ("state.ingesting", "Copie en cours", "Ingesting"),
    ("state.safe", "Terminée", "Done"),
    ("state.attention", "À vérifier", "Needs attention"),
    ("state.not-enrolled", "Non enrôlée", "Not enrolled"),
    ("state.failed", "Échec", "Failed"),
    ("state.cancelled", "Annulée", "Cancelled"),
    ("state.not-responding", "Ne répond pas", "Not responding"),
    (
        "state.register-unreachable",
        "Registre injoignable",
        "Register unreachable",
    ),
    (
        "dock.register-unreachable",
        "Registre injoignable : la caméra garde ses enregistrements ; la copie reprend dès que le registre répond",
        "Register unreachable: the camera keeps its recordings; ingest resumes when the register answers",
    ),
    (
        "dock.register.down",
        "Registre injoignable : rien n'est enregistré ni effacé tant qu'il ne répond pas ; le service réessaie de lui-même",
        "Register unreachable: nothing is committed or wiped until it answers; the service tries again by itself",
    ),
    (
        "search.title",
        "Rechercher des enregistrements",
        "Search recordings",
    ),
    ("search.from", "Du", "From"),
    ("search.to", "Au", "To"),
    ("search.camera", "Caméra", "Camera"),
    (
        "search.agent",
        "Agent (nom ou matricule)",
        "Agent (name or matricule)",
    ),
    ("search.brigade", "Brigade", "Brigade"),
    ("search.site", "Site", "Site"),
    ("col.site", "Site", "Site"),
    ("search.state", "État", "State"),
    ("search.flag", "Signalement (code)", "Warning (code)"),
    (
        "search.held",
        "Conservé pour une procédure",
        "Kept for a procedure",
    ),
    ("search.any", "indifférent", "any"),
    ("search.yes", "oui", "yes"),
    ("search.no", "non", "no"),
    ("search.near", "Lieu (lat,lon)", "Place (lat,lon)"),
    ("search.radius", "Rayon (m)", "Radius (m)"),
    ("search.submit", "Rechercher", "Search"),
    (
        "search.none",
        "Aucun enregistrement ne correspond.",
        "No recording matches.",
    ),
    ("search.next", "Page suivante", "Next page"),
    ("search.previous", "Page précédente", "Previous page"),
    ("col.recording", "Enregistrement", "Recording"),
    ("col.start", "Début", "Start"),
    ("col.end", "Fin", "End"),
    ("col.camera", "Caméra", "Camera"),
    ("col.agent", "Agent", "Agent"),
    ("col.state", "État", "State"),
    ("col.size", "Taille", "Size"),
    ("col.flags", "À vérifier", "To check"),
    ("col.held", "Conservé", "Kept"),
    ("rec.facts", "Faits", "Facts"),
    ("rec.attribution", "Attribution", "Attribution"),
    ("rec.unattributed", "non attribué", "not attributed"),
    (
        "rec.prerecord",
        "Pré-enregistrement (s)",
        "Pre-recording (s)",
    ),
    ("rec.duration", "Durée (s)", "Duration (s)"),
    ("rec.reasons", "Motifs", "Reasons"),
    (
        "rec.holds",
        "Conservé pour les procédures",
        "Kept for the procedures",
    ),
    ("rec.track", "Trace GPS", "GPS track"),
    ("rec.no_track", "Pas de position GPS.", "No GPS position."),
    ("rec.custody", "Chaîne de conservation", "Custody timeline"),
    ("rec.when", "Quand", "When"),
    ("rec.what", "Quoi", "What"),
    ("rec.who", "Qui", "Who"),
    ("rec.details", "Détails", "Details"),
    ("rec.consult", "Visionner", "View"),
    (
        "rec.consult.why",
        "Le visionnage est tracé au registre avant la première image : indiquez la finalité et le motif.",
        "Viewing is traced in the register before the first frame: state the purpose and the reason.",
    ),
    ("rec.player", "Lecture", "Playback"),
    ("form.purpose", "Finalité", "Purpose"),
    ("form.reason", "Motif", "Reason"),
    (
        "form.requisition",
        "Référence de la réquisition",
        "Requisition reference",
    ),
    (
        "form.requisition_date",
        "Date de la réquisition",
        "Requisition date",
    ),
    ("form.opj", "OPJ (nom, service)", "OPJ (name, service)"),
    (
        "form.procedure",
        "Référence de la procédure",
        "Procedure reference",
    ),
    ("form.recipient", "Destinataire", "Recipient"),
    (
        "form.recordings",
        "Enregistrements (un par ligne)",
        "Recordings (one a line)",
    ),
    ("form.agent", "Agent (matricule)", "Agent (service number)"),
    ("form.submit", "Valider", "Submit"),
    ("purpose.judicial", "judiciaire", "judicial"),
    ("purpose.administrative", "administrative", "administrative"),
    ("purpose.disciplinary", "disciplinaire", "disciplinary"),
    ("purpose.training", "formation", "training"),
    (
        "extract.title",
        "Extraction pour une procédure",
        "Extraction for a procedure",
    ),
    (
        "extract.done",
        "Extraction écrite et vérifiée",
        "Extraction written and checked",
    ),
    ("extract.bag", "Dossier", "Folder"),
    (
        "extract.manifest",
        "Manifeste (SHA-256)",
        "Manifest (SHA-256)",
    ),
    ("registers.title", "Registres", "Registers"),
    (
        "registers.issues",
        "Registre de perception",
        "Perception register",
    ),
    (
        "registers.attention",
        "Enregistrements à attribuer",
        "Recordings to attribute",
    ),
    ("registers.attribute", "Attribuer", "Attribute"),
    (
        "registers.hold",
        "Conserver pour une procédure",
        "Keep for a procedure",
    ),
    (
        "registers.release",
        "Lever une conservation",
        "Stop keeping for a procedure",
    ),
    ("registers.audit", "Journal des accès", "Access log"),
    ("registers.intact", "Chaîne intacte", "Chain intact"),
    ("registers.broken", "CHAÎNE ROMPUE", "CHAIN BROKEN"),
    ("registers.entries", "entrées", "entries"),
    ("registers.done", "Enregistré", "Recorded"),
    ("report.title", "Rapport d'activité", "Activity report"),
    ("report.csv", "Télécharger en CSV", "Download as CSV"),
    ("report.days_of_use", "Jours d'utilisation", "Days of use"),
    ("report.videos", "Vidéos enregistrées", "Videos recorded"),
    ("report.bytes", "Stockage utilisé", "Storage used"),
    (
        "report.in_store",
        "Vidéos dans le stockage",
        "Videos in the store",
    ),
    (
        "report.consultations",
        "Visionnages par finalité",
        "Viewings by purpose",
    ),
    (
        "report.extractions",
        "Extractions par finalité",
        "Extractions by purpose",
    ),
    (
        "report.forecast",
        "Stockage nécessaire : 30 jours contre 180 jours",
        "Storage needed: 30 days against 180 days",
    ),
    ("report.fits", "tient dans le stockage", "fits in the store"),
    (
        "report.not_fits",
        "NE tient PAS dans le stockage",
        "does NOT fit in the store",
    ),
    ("report.per_day", "par jour", "a day"),
    (
        "report.on_camera",
        "Consultations sur la caméra (L241-2)",
        "Consultations on the camera (L241-2)",
    ),
    (
        "rec.on_camera",
        "consultation sur la caméra",
        "consultation on the camera",
    ),
    (
        "rec.camera_events",
        "Journal de la caméra",
        "The camera's log",
    ),
    (
        "rec.no_camera_events",
        "La caméra n'a rien journalisé autour de cet enregistrement.",
        "The camera logged nothing around this recording.",
    ),
    (
        "error.title",
        "Refusé ou impossible",
        "Refused or not possible",
    ),
    (
        "error.unauthorised",
        "Session absente ou expirée : demandez un nouveau lien à la personne qui a lancé la console (elle l'obtient sans la redémarrer, voir le guide), ou relancez « sentinel-dockctl console ».",
        "No valid session: ask the person who started the console for a new link (they get one without restarting it, see the guide), or start « sentinel-dockctl console » again.",
    ),
    (
        "error.csrf",
        "Formulaire périmé : rechargez la page et recommencez.",
        "Stale form: reload the page and try again.",
    ),
    (
        "error.kiosk",
        "Cet écran ne montre que la station d'accueil.",
        "This screen shows the dock only.",
    ),
    (
        "error.not_opened",
        "Visionnage non ouvert : indiquez d'abord la finalité et le motif.",
        "Not opened for viewing: state the purpose and reason first.",
    ),
];

/// Every table of texts: the pages' own, the new pieces', and the registers' codes in
/// plain words.
const TABLES: [&[(&str, &str, &str)]; 4] = [
    TEXTS,
    more::TEXTS,
    super::i18n_plain::TEXTS,
    super::words::TEXTS,
];

/// The text for `key` in `language`; the key itself when it is missing (a test checks
/// that every key the pages use is here).
pub fn t(language: Language, key: &'static str) -> &'static str {
    match TABLES
        .iter()
        .flat_map(|table| table.iter())
        .find(|(k, _, _)| *k == key)
    {
        Some((_, fr, en)) => match language {
            Language::Fr => fr,
            Language::En => en,
        },
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_both_languages() {
        let all = || TABLES.iter().flat_map(|table| table.iter());
        for (key, fr, en) in all() {
            assert!(!fr.is_empty() && !en.is_empty(), "{key}");
        }
        let mut keys: Vec<&str> = all().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "a key is defined twice");
    }

    #[test]
    fn no_text_is_left_untranslated() {
        // Words the two languages share; any other text equal in both is a copy waiting
        // for its translation.
        const SAME: &[&str] = &[
            "Agent",
            "Attribution",
            "Brigade",
            "Extraction",
            "N",
            "Consultations",
            "Extractions",
            "RAID",
            "Site",
            "administrative",
            "service",
        ];
        for (key, fr, en) in TABLES.iter().flat_map(|table| table.iter()) {
            assert!(
                fr != en || SAME.contains(fr),
                "{key}: \"{fr}\" in both languages"
            );
        }
    }

    #[test]
    fn every_key_the_pages_use_is_defined() {
        // The pages call t(lang, "key"): each literal must be in TEXTS.
        let sources = [
            include_str!("pages/mod.rs"),
            include_str!("pages/dock.rs"),
            include_str!("pages/recordings.rs"),
            include_str!("pages/recording.rs"),
            include_str!("pages/extract.rs"),
            include_str!("pages/registers.rs"),
            include_str!("pages/report.rs"),
            include_str!("pages/pick.rs"),
            include_str!("pages/holds.rs"),
            include_str!("pages/report_csv.rs"),
            include_str!("pages/track_legend.rs"),
            include_str!("http.rs"),
            include_str!("words.rs"),
            include_str!("roles.rs"),
        ];
        let call = regex::Regex::new(r#"\bt\(\s*[a-z_.]+\s*,\s*"([a-z_.\-]+)"\s*\)"#).unwrap();
        for source in sources {
            for found in call.captures_iter(source) {
                let key = &found[1];
                assert!(
                    TABLES
                        .iter()
                        .flat_map(|t| t.iter())
                        .any(|(k, _, _)| *k == key),
                    "missing text {key}"
                );
            }
        }
    }
}
