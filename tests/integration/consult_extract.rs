//! Consultation and extraction: traced before any data leaves the store (a data step made
//! to fail leaves the entry behind), the bag checked by the reference BagIt validator
//! (`bagit.py --validate`, from PyPI), the extracted recordings held for their procedure.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::desk::*;
use common::require_tool;
use sentinel_dock::app::commands::CommandError;

use crate::common;

fn out_dir(d: &Desk) -> PathBuf {
    let out = d.dir.path().join("usb-key");
    fs::create_dir_all(&out).unwrap();
    out
}

fn judicial(out: &Path, stems: &[&str]) -> Vec<String> {
    let mut line: Vec<String> = [
        "extract",
        "--purpose",
        "judicial",
        "--requisition",
        "PV-2018-0042",
        "--opj",
        "Dupont, Commissariat de Romans",
        "--requisition-date",
        "2018-03-14",
        "--to",
    ]
    .map(String::from)
    .to_vec();
    line.push(path_str(out).to_string());
    line.extend(stems.iter().map(|s| s.to_string()));
    line
}

fn extract(
    d: &mut Desk,
    line: &[String],
) -> Result<sentinel_dock::app::commands::Reply, CommandError> {
    let line: Vec<&str> = line.iter().map(String::as_str).collect();
    d.run(AGENT, &line)
}

fn bagit_validate(bag: &Path) -> (bool, String) {
    require_tool("bagit.py");
    let out = Process::new("bagit.py")
        .arg("--validate")
        .arg(bag)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_consultation_is_traced_then_the_recording_is_handed_read_only() {
    let mut d = Desk::with_fixtures("");
    let reply = d.ok(
        AGENT,
        &[
            "consult",
            "--purpose",
            "judicial",
            "--reason",
            "PV 2018/42",
            A2,
        ],
    );
    let mut file = reply.file.expect("an open file to pass to the caller");
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, fs::read(d.video_path(A2)).unwrap());
    assert!(file.write_all(b"x").is_err(), "read-only");
    let entry = d.audit().pop().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.purpose.as_str()),
        ("consultation", "judicial")
    );
    assert_eq!(entry.author, AGENT);
    assert!(entry.recordings.contains(A2) && entry.details.contains("PV 2018/42"));
    assert_eq!(reply.data["audit_seq"], entry.seq);

    // Training sees only an accepted anonymised derivative (issue 11; tests/anonymise.rs
    // makes one): A1 has none, so it is refused, and the refusal traced.
    let training = d.run(
        HEAD,
        &[
            "consult",
            "--purpose",
            "training",
            "--reason",
            "new recruits",
            A1,
        ],
    );
    let Err(CommandError::Invalid(why)) = training else {
        panic!("training consultation of a recording without a derivative: {training:?}");
    };
    assert!(why.contains("no anonymised derivative"), "{why}");
    let refusal = d.audit().pop().unwrap();
    assert_eq!(
        (refusal.action.as_str(), refusal.purpose.as_str()),
        ("refusal", "training")
    );
    assert!(refusal.recordings.contains(A1), "{refusal:?}");
}

#[test]
fn a_consultation_whose_file_cannot_be_opened_was_traced_before_the_attempt() {
    let mut d = Desk::with_fixtures("");
    let video = d.video_path(A1);
    fs::remove_file(&video).unwrap();
    let before = d.audit().len();
    let err = d
        .run(
            AGENT,
            &[
                "consult",
                "--purpose",
                "administrative",
                "--reason",
                "complaint 12",
                A1,
            ],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("opening the stored video"),
        "{err}"
    );
    let trail = d.audit();
    assert_eq!(trail.len(), before + 2);
    assert_eq!(
        trail[before].action, "consultation",
        "written before the file was touched"
    );
    assert_eq!(trail[before + 1].action, "failure");
    assert!(trail[before + 1].details.contains(&format!(
        "consultation #{} of {A1} failed",
        trail[before].seq
    )));
}

#[test]
fn a_judicial_extraction_writes_a_bag_the_reference_validator_accepts_and_holds_the_recordings() {
    let mut d = Desk::with_fixtures("");
    d.clock.set("2018-03-14T10:00:00Z");
    let out = out_dir(&d);
    let reply = extract(&mut d, &judicial(&out, &[A1, B2])).unwrap();
    let bag = PathBuf::from(reply.message.lines().next().unwrap());
    assert!(
        bag.starts_with(fs::canonicalize(&out).unwrap()),
        "{}",
        bag.display()
    );
    let (valid, text) = bagit_validate(&bag);
    assert!(valid, "bagit.py --validate: {text}");

    let info = fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    for expected in [
        "Purpose: judicial",
        "Requisition-Reference: PV-2018-0042",
        "Requisition-Date: 2018-03-14",
        "OPJ-Name: Dupont",
        "OPJ-Service: Commissariat de Romans",
        "Extracted-By: brigadier1",
        "Payload-Oxum: 158825.4",
    ] {
        assert!(info.contains(expected), "{expected} missing from:\n{info}");
    }
    let sha = common::sha256_hex(&fs::read(d.video_path(A1)).unwrap());
    assert!(
        info.contains(&format!("{A1}; camera SNTL-00042; register id")) && info.contains(&sha),
        "{info}"
    );
    for file in [
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
    ] {
        assert!(bag.join(file).is_file(), "{file}");
    }
    assert!(bag.join(format!("data/SNTL-00042/{A1}.MP4")).is_file());
    assert!(bag.join(format!("data/SNTL-00007/{B2}.NMEA")).is_file());

    // The procès-verbal: a PDF in the bag, listed in the tag manifests, that pdftotext
    // (poppler-utils) reads back in French, accents included.
    let record = bag.join("proces-verbal-extraction.pdf");
    let tags = fs::read_to_string(bag.join("tagmanifest-sha256.txt")).unwrap();
    assert!(
        tags.contains(&format!(
            "{}  proces-verbal-extraction.pdf",
            common::sha256_hex(&fs::read(&record).unwrap())
        )),
        "{tags}"
    );
    require_tool("pdftotext");
    let read = Process::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(&record)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let text = String::from_utf8(read.stdout).unwrap();
    let seq = d.audit().last().unwrap().seq - 2;
    for expected in [
        "PROCÈS-VERBAL D'EXTRACTION",
        "Réquisition : PV-2018-0042 du 14/03/2018",
        "Officier de police judiciaire : Dupont, Commissariat de Romans",
        "Procédure : PV-2018-0042",
        "Opérateur : brigadier1",
        &format!("Extraction n° {seq} du registre d'audit"),
        &format!("n° {} : conservation", seq + 1),
        A1,
        B2,
        // A1 started at 14:30:15 UTC: 15:30:15 in Paris in winter.
        "Début : 12/03/2018 à 15:30:15 CET",
        "Caméra : SNTL-00042",
        &sha,
        "Chaîne de garde",
        "collecte",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the record:\n{text}"
        );
    }

    let trail = d.audit();
    let actions: Vec<&str> = trail
        .iter()
        .rev()
        .take(3)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(actions, ["extraction-completed", "hold", "extraction"]);
    let asked = &trail[trail.len() - 3];
    assert_eq!(asked.recipients, "Dupont, Commissariat de Romans");
    assert!(asked.details.contains("PV-2018-0042"));
    assert_eq!(reply.data["held_for"], "PV-2018-0042");

    // Held: a purge long after their retention keeps them.
    d.clock.set("2019-01-01T00:00:00Z");
    let plan = d.ok(HEAD, &["purge", "--dry-run"]);
    let held: Vec<&str> = plan.data["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["recording"].as_str().unwrap())
        .collect();
    assert_eq!(held, [A1, B2]);

    // The validator is not a rubber stamp: one changed byte in the bag and it refuses.
    let copy = bag.join(format!("data/SNTL-00042/{A1}.MP4"));
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&copy).unwrap();
    bytes[1000] ^= 1;
    fs::write(&copy, bytes).unwrap();
    assert!(!bagit_validate(&bag).0);
}

#[test]
fn an_extraction_that_fails_was_traced_before_and_leaves_no_bag() {
    let mut d = Desk::with_fixtures("");
    let out = out_dir(&d);
    // The store's copy no longer matches what the register proved.
    let video = d.video_path(A2);
    fs::set_permissions(&video, fs::Permissions::from_mode(0o644)).unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&video)
        .unwrap()
        .write_all(b"tampered")
        .unwrap();
    let before = d.audit().len();
    let err = extract(&mut d, &judicial(&out, &[A1, A2])).unwrap_err();
    assert!(
        err.to_string().contains("is not what the register proved"),
        "{err}"
    );
    let trail = d.audit();
    let actions: Vec<&str> = trail[before..].iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["extraction", "hold", "failure"]);
    assert!(
        trail[before + 2]
            .details
            .contains(&format!("extraction #{} failed", trail[before].seq))
    );
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        0,
        "no bag, not even a partial one"
    );
}

#[test]
fn each_purpose_asks_for_its_references() {
    let mut d = Desk::with_fixtures("");
    let out = out_dir(&d);
    let to = path_str(&out).to_string();
    let err = d.fails(
        AGENT,
        &["extract", "--purpose", "judicial", "--to", &to, A1],
    );
    assert!(
        err.contains("written requisition") && err.contains("--opj"),
        "{err}"
    );
    let err = d.fails(
        AGENT,
        &[
            "extract",
            "--purpose",
            "judicial",
            "--requisition",
            "R",
            "--opj",
            "Dupont",
            "--to",
            &to,
            A1,
        ],
    );
    assert!(err.contains("\"NAME, SERVICE\""), "{err}");
    // A judicial bag records the requisition's own date: never the day of extraction.
    let no_date = [
        "extract",
        "--purpose",
        "judicial",
        "--requisition",
        "R",
        "--opj",
        "Dupont, Commissariat de Romans",
        "--to",
        &to,
        A1,
    ];
    let err = d.fails(AGENT, &no_date);
    assert!(
        err.contains("date written on the OPJ's requisition")
            && err.contains("--requisition-date YYYY-MM-DD"),
        "{err}"
    );
    let mut later = no_date.to_vec();
    later.splice(7..7, ["--requisition-date", "2018-03-16"]);
    let err = d.fails(AGENT, &later);
    assert!(err.contains("after today"), "{err}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "no bag was written");
    let err = d.fails(
        AGENT,
        &[
            "extract",
            "--purpose",
            "administrative",
            "--recipient",
            "X",
            "--to",
            &to,
            A1,
        ],
    );
    assert!(err.contains("--reference REF"), "{err}");
    let err = d.fails(
        AGENT,
        &[
            "extract",
            "--purpose",
            "disciplinary",
            "--reference",
            "D",
            "--recipient",
            "RH",
            "--to",
            "/nonexistent/x",
            A1,
        ],
    );
    assert!(err.contains("--to must be an existing folder"), "{err}");
    let store = d.config.store.path.clone();
    let err = d.fails(
        AGENT,
        &[
            "extract",
            "--purpose",
            "disciplinary",
            "--reference",
            "D",
            "--recipient",
            "RH",
            "--to",
            path_str(&store),
            A1,
        ],
    );
    assert!(err.contains("inside the store"), "{err}");
    let err = d.fails(
        AGENT,
        &[
            "extract",
            "--purpose",
            "disciplinary",
            "--reference",
            "D",
            "--recipient",
            "RH",
            "--to",
            &to,
            "SNTL-00042_20990101_000000_0001",
        ],
    );
    assert!(err.contains("no stored recording named"), "{err}");
    assert_eq!(
        d.audit()
            .iter()
            .filter(|e| e.action == "extraction")
            .count(),
        0,
        "nothing was asked"
    );

    // Training: no procedure to hold for; the bag says the footage must be anonymised.
    let r = d.ok(
        AGENT,
        &[
            "extract",
            "--purpose",
            "training",
            "--reference",
            "FORM-3",
            "--recipient",
            "Centre de formation",
            "--to",
            &to,
            A4,
        ],
    );
    assert!(r.message.contains("must be anonymised"));
    let bag = PathBuf::from(r.message.lines().next().unwrap());
    assert!(bagit_validate(&bag).0);
    assert!(
        fs::read_to_string(bag.join("bag-info.txt"))
            .unwrap()
            .contains("Anonymisation-Required")
    );
    assert!(r.data["held_for"].is_null());
}
