//! Texts of the extraction's form and result, the places, the track's legend and the
//! report's CSV, in French and English (kept beside the pages' words in `TEXTS`).

/// (key, French, English).
pub(crate) const TEXTS: &[(&str, &str, &str)] = &[
    ("form.required", "obligatoire", "required"),
    ("form.choose", "— choisir —", "— choose —"),
    (
        "form.required_note",
        "Les champs marqués * sont obligatoires.",
        "Fields marked * are required.",
    ),
    (
        "extract.need_purpose",
        "Choisissez la finalité de l'extraction.",
        "Choose the extraction's purpose.",
    ),
    (
        "extract.need_date",
        "Une extraction judiciaire exige la date de la réquisition : indiquez la date écrite sur la réquisition de l'OPJ.",
        "A judicial extraction needs the requisition's date: give the date written on the OPJ's requisition.",
    ),
    (
        "extract.bad_date",
        "La date de la réquisition n'est pas une date du calendrier : choisissez-la dans le calendrier du champ.",
        "The requisition's date is not a calendar date: pick it in the field's calendar.",
    ),
    (
        "extract.record",
        "Procès-verbal d'extraction (PDF)",
        "Extraction record (procès-verbal, PDF, in French)",
    ),
    ("extract.handover.title", "À remettre", "To hand over"),
    (
        "extract.handover.text",
        "Remettez le dossier entier, tel quel : les vidéos et leurs données GPS (dossier data), les empreintes (manifest-sha256.txt), la fiche du lot (bag-info) et le procès-verbal d'extraction, imprimé et signé par vous et par le destinataire.",
        "Hand over the whole folder as it is: the videos and their GPS data (folder data), the fingerprints (manifest-sha256.txt), the bag's description (bag-info) and the extraction record, printed and signed by you and by the recipient.",
    ),
    (
        "extract.copy.title",
        "Copier sur un support amovible",
        "Copying to removable media",
    ),
    (
        "extract.copy.1",
        "Branchez sur ce poste une clé USB ou un disque réservé à cette remise.",
        "Plug into this computer a USB key or disk kept for this hand-over.",
    ),
    (
        "extract.copy.2",
        "Copiez le dossier entier sur le support, sans rien renommer, ouvrir ni retirer ; en terminal :",
        "Copy the whole folder to it, renaming, opening or removing nothing; in a terminal:",
    ),
    (
        "extract.copy.3",
        "Vérifiez la copie sur le support : le contrôle BagIt doit répondre que le sac est valide ; sinon, recommencez la copie.",
        "Check the copy on the media: the BagIt check must say the bag is valid; otherwise copy it again.",
    ),
    (
        "extract.copy.4",
        "Éjectez le support avant de le retirer, et inscrivez sa remise sur le procès-verbal.",
        "Eject the media before unplugging it, and write its hand-over on the record.",
    ),
    ("extract.oxum", "Contenu", "Content"),
    (
        "search.near_hint",
        "45,0433 5,0514 ou un lieu",
        "45.0433, 5.0514 or a place",
    ),
    ("track.north", "N", "N"),
    ("track.scale", "Échelle", "Scale"),
    ("csv.item", "Indicateur", "Item"),
    ("csv.value", "Valeur", "Value"),
    ("csv.from", "Premier jour", "First day"),
    ("csv.to", "Dernier jour", "Last day"),
    ("csv.days", "Jours de la période", "Days in the period"),
    ("csv.days_of_use", "Jours d'utilisation", "Days of use"),
    ("csv.videos", "Vidéos enregistrées", "Videos recorded"),
    ("csv.bytes", "Octets enregistrés", "Bytes recorded"),
    (
        "csv.mib_per_day",
        "Mio enregistrés par jour",
        "MiB recorded a day",
    ),
    (
        "csv.videos_in_store",
        "Vidéos dans le stockage",
        "Videos in the store",
    ),
    (
        "csv.bytes_in_store",
        "Octets dans le stockage",
        "Bytes in the store",
    ),
    (
        "csv.retention_days",
        "Durée de conservation (jours)",
        "Retention (days)",
    ),
    (
        "csv.needed",
        "Octets de disque nécessaires pour cette durée",
        "Disk bytes needed for that retention",
    ),
    ("csv.consultations", "Consultations", "Consultations"),
    ("csv.extractions", "Extractions", "Extractions"),
    (
        "csv.on_camera",
        "Consultations sur l'écran de la caméra",
        "Consultations on the camera's screen",
    ),
    (
        "csv.training",
        "Consultations et extractions pour la formation",
        "Consultations and extractions for training",
    ),
];
