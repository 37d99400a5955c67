//! The texts of the console's newer pieces (choosing, holds in force, confirmations, the
//! dock's reasons, errors that say what to do), in French and English.

/// (key, French, English).
pub(crate) const TEXTS: &[(&str, &str, &str)] = &[
    (
        "error.role",
        "Cette page est réservée au chef de service et aux agents autorisés. Votre rôle donne accès à la station d'accueil.",
        "This page is for the head of service and authorised agents. Your role gives access to the dock.",
    ),
    (
        "error.role.back",
        "Aller à la station d'accueil",
        "Go to the dock",
    ),
    (
        "error.refused",
        "Votre rôle ne permet pas cette action ; le refus est noté au journal des accès. Demandez au chef de service si vous en avez besoin.",
        "Your role does not allow this; the refusal is written in the access log. Ask the head of service if you need it.",
    ),
    (
        "error.invalid",
        "Le service n'a pas pu faire cette demande telle quelle : vérifiez les enregistrements choisis et chaque champ (dates, références), puis recommencez.",
        "The service could not do this as asked: check the recordings chosen and each field (dates, references), then try again.",
    ),
    (
        "error.failed",
        "Le service n'a pas pu terminer ; rien n'a été remis ni effacé sans preuve. Réessayez dans un instant ; si cela recommence, prévenez le technicien.",
        "The service could not finish; nothing was handed out or removed without proof. Try again in a moment; if it happens again, tell the technician.",
    ),
    (
        "error.unreachable",
        "Le service de la station ne répond pas : attendez quelques secondes et rechargez la page ; si cela dure, prévenez le technicien (le service sentinel-dockd doit être démarré).",
        "The dock's service does not answer: wait a few seconds and reload the page; if it lasts, tell the technician (the sentinel-dockd service must be running).",
    ),
    ("error.back", "Revenir à l'accueil", "Back to the start"),
    (
        "search.bad",
        "Un champ de la recherche n'est pas compris : les dates se choisissent dans le calendrier, le rayon est un nombre de mètres. Corrigez et recherchez à nouveau.",
        "A search field is not understood: pick dates in the calendar, give the radius in metres. Correct it and search again.",
    ),
    (
        "pick.hint",
        "Cochez des enregistrements, puis :",
        "Tick recordings, then:",
    ),
    (
        "pick.extract",
        "Extraire la sélection",
        "Extract the selection",
    ),
    (
        "pick.hold",
        "Conserver la sélection pour une procédure",
        "Keep the selection for a procedure",
    ),
    ("pick.one", "Choisir", "Choose"),
    ("pick.column", "Choisir", "Choose"),
    (
        "pick.extract.one",
        "Extraire cet enregistrement",
        "Extract this recording",
    ),
    (
        "pick.hold.one",
        "Conserver pour une procédure",
        "Keep for a procedure",
    ),
    (
        "pick.none",
        "Aucun enregistrement choisi : cochez-les dans la recherche, ou écrivez leurs noms ci-dessous.",
        "No recording chosen: tick them in the search, or write their names below.",
    ),
    ("pick.search", "Aller à la recherche", "Go to the search"),
    (
        "pick.chosen",
        "Enregistrements choisis",
        "Recordings chosen",
    ),
    ("purpose.choose", "— choisir —", "— choose —"),
    (
        "holds.title",
        "Conservations en cours",
        "Recordings kept for a procedure",
    ),
    (
        "holds.none",
        "Aucun enregistrement n'est conservé pour une procédure.",
        "No recording is kept for a procedure.",
    ),
    (
        "holds.unknown",
        "La liste des conservations n'a pas pu être lue : rechargez la page.",
        "The list of kept recordings could not be read: reload the page.",
    ),
    (
        "holds.more",
        "Les 100 premiers seulement : recherchez « Conservé pour une procédure : oui » pour les autres.",
        "The first 100 only: search « Kept for a procedure: yes » for the others.",
    ),
    ("holds.release", "Lever", "Stop keeping"),
    (
        "done.hold",
        "C'est fait : les enregistrements sont conservés pour la procédure (noté au journal des accès). Ils ne seront pas supprimés tant que la conservation n'est pas levée.",
        "Done: the recordings are kept for the procedure (written in the access log). They will not be deleted until this is lifted.",
    ),
    (
        "done.release",
        "C'est fait : la conservation est levée (noté au journal des accès). Les enregistrements suivent de nouveau la durée de conservation ordinaire.",
        "Done: the recordings are no longer kept for the procedure (written in the access log). The ordinary keeping period applies again.",
    ),
    (
        "done.attribute",
        "C'est fait : l'enregistrement est attribué à l'agent (noté au journal des accès).",
        "Done: the recording is given to the agent (written in the access log).",
    ),
    (
        "done.extraction",
        "C'est fait : l'extraction est écrite, relue et vérifiée, et notée au journal des accès.",
        "Done: the extraction is written, read back and checked, and written in the access log.",
    ),
    ("issues.given", "Remise le", "Given out"),
    ("issues.given_by", "Remise par", "Given out by"),
    ("issues.ended", "Retour", "Back"),
    (
        "issues.recordings",
        "Enregistrements faits",
        "Recordings made",
    ),
    ("attention.why", "Pourquoi", "Why"),
    (
        "attention.none",
        "Tous les enregistrements sont attribués à un agent.",
        "Every recording is attributed to an agent.",
    ),
    ("extract.content", "Contenu", "Contents"),
    ("extract.files", "fichiers", "files"),
    ("extract.audit", "Journal des accès", "Access log"),
    ("extract.audit.entries", "entrées n°", "entries no."),
    ("extract.audit.to", "à", "to"),
    ("report.short", "30 jours", "30 days"),
    ("report.long", "180 jours", "180 days"),
    ("report.usable", "Stockage utilisable", "Usable store"),
    (
        "dock.failed",
        "La copie n'a pas pu se terminer ; rien n'a été retiré de la caméra sans copie prouvée.",
        "The copy could not finish; nothing was removed from the camera without a proven copy.",
    ),
    (
        "dock.failed.todo",
        "Retirez la caméra et remettez-la sur le socle ; si cela recommence, mettez-la de côté et prévenez le technicien.",
        "Undock the camera and dock it again; if it happens again, set it aside and tell the technician.",
    ),
    (
        "dock.not-enrolled",
        "Cette caméra n'est pas enregistrée dans le service : elle n'a pas été lue et rien n'a été retiré.",
        "This camera is not enrolled in the service: it was not read and nothing was removed.",
    ),
    (
        "dock.not-enrolled.todo",
        "Retirez-la et demandez au chef de service de l'enregistrer dans le service, puis remettez-la sur le socle.",
        "Undock it and ask the head of service to enrol it in the service, then dock it again.",
    ),
    (
        "dock.why.quarantined",
        "enregistrement(s) mis de côté pour vérification",
        "recording(s) set aside to be checked",
    ),
    (
        "dock.why.failed",
        "enregistrement(s) non copié(s)",
        "recording(s) not copied",
    ),
    (
        "dock.why.ignored",
        "fichier(s) inconnu(s) laissé(s) de côté",
        "unknown file(s) left aside",
    ),
    (
        "dock.why.left",
        "enregistrement(s) laissé(s) sur la caméra",
        "recording(s) left on the camera",
    ),
    (
        "dock.why.clock",
        "l'horloge de la caméra est fausse",
        "the camera's clock is wrong",
    ),
    (
        "dock.attention.todo",
        "Ce qui n'a pas été prouvé reste sur la caméra. Ne la remettez pas en service : mettez-la de côté et prévenez le chef de service, qui verra le détail dans les registres.",
        "What was not proven stays on the camera. Do not put it back in service: set it aside and tell the head of service, who sees the details in the registers.",
    ),
    (
        "dock.technical",
        "Détail technique (pour le technicien)",
        "Technical detail (for the technician)",
    ),
    (
        "dock.warnings.todo",
        "Le stockage ou le service demande une vérification : prévenez le technicien.",
        "The store or the service needs checking: tell the technician.",
    ),
    ("dock.scrub.ok", "aucun problème", "no problem"),
    (
        "dock.scrub.problems",
        "problème(s) : prévenez le technicien",
        "problem(s): tell the technician",
    ),
];
