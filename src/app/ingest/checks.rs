//! The profile's "integrity confirmed" rules 1 to 3, judged on what was read from the camera.
//!
//! Rule 4 (the stored copy read back with equal hashes, and committed) is proven by the
//! store and the register, not here. Each failed rule becomes one [`Reason`], a code and a sentence,
//! so that the JSON output can be filtered by code and a person can read the sentence.

use chrono::{DateTime, Utc};

use crate::base::config::Profile;
use crate::base::digest::{Digests, hex};
use crate::camera::evidence::bmff::BmffReport;
use crate::camera::evidence::name::RecordingName;
use crate::camera::evidence::sidecar::SidecarReport;

use super::Reason;

/// What was learnt about one video while it was streamed from the camera.
#[derive(Debug)]
pub(crate) struct VideoFacts {
    /// Bytes read.
    pub size: u64,
    /// Hashes of the bytes read.
    pub digests: Digests,
    /// Its ISO BMFF structure.
    pub bmff: BmffReport,
}

/// Everything the rules look at for one recording.
pub(crate) struct Evidence<'a> {
    /// The camera's established serial.
    pub camera_serial: &'a str,
    /// Disagreements about the camera's identity; each blocks confirmation.
    pub identity_conflicts: &'a [String],
    /// The recording's parsed name.
    pub name: &'a RecordingName,
    /// The name the video must have (rebuilt from the parsed name).
    pub video_name: &'a str,
    /// The parsed sidecar, or why there is none (`sidecar-missing`, `sidecar-too-large`).
    pub sidecar: Result<&'a SidecarReport, Reason>,
    /// The streamed video, or why there is none.
    pub video: Result<&'a VideoFacts, String>,
}

/// The rules' verdict: confirmed when `reasons` is empty.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// Why the recording is not confirmed.
    pub reasons: Vec<Reason>,
    /// Reported facts that do not block confirmation.
    pub flags: Vec<String>,
}

impl Verdict {
    /// Whether every rule holds.
    pub fn confirmed(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Adds the reason `code` with its sentence: the recording is not confirmed.
    pub fn fail(&mut self, code: &str, sentence: impl std::fmt::Display) {
        self.reasons.push(Reason::new(code, sentence));
    }
}

/// Applies rules 1 to 3 of the camera profile.
pub fn judge(profile: &Profile, ev: &Evidence<'_>) -> Verdict {
    let mut v = Verdict::default();
    for conflict in ev.identity_conflicts {
        v.fail("camera-identity", conflict);
    }
    if ev.name.serial != ev.camera_serial {
        v.fail(
            "name-serial",
            format_args!(
                "the file name says camera {} but this is camera {}",
                ev.name.serial, ev.camera_serial
            ),
        );
    }
    let window = match &ev.sidecar {
        Ok(sidecar) => judge_sidecar(ev, sidecar, &mut v),
        Err(why) => {
            v.reasons.push(why.clone());
            None
        }
    };
    match &ev.video {
        Ok(video) => judge_video(profile, video, window, &mut v),
        Err(why) => v.fail("video-missing", why),
    }
    v
}

/// What the sidecar says about the video, for rules 2 and 3.
struct Declared {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    size: u64,
    sha256: [u8; 32],
}

/// Rule 1: the sidecar is well formed, complete, and names this camera and this video.
fn judge_sidecar(ev: &Evidence<'_>, sidecar: &SidecarReport, v: &mut Verdict) -> Option<Declared> {
    for problem in &sidecar.problems {
        v.fail(problem.code(), problem);
    }
    v.flags.extend(sidecar.flags.iter().cloned());
    let header = sidecar.header.as_ref()?;
    if header.serial != ev.camera_serial {
        v.fail(
            "sidecar-serial",
            format_args!(
                "the sidecar's header names camera `{}` but this is camera {}",
                header.serial.escape_debug(),
                ev.camera_serial
            ),
        );
    }
    if header.video_name != ev.video_name {
        v.fail(
            "sidecar-file-name",
            format_args!(
                "the sidecar's header names video `{}` but it sits beside {}",
                header.video_name.escape_debug(),
                ev.video_name
            ),
        );
    }
    if header.start != ev.name.start {
        v.fail(
            "sidecar-start",
            format_args!(
                "the sidecar's header starts at {} but the file name says {}",
                header.start.format("%Y-%m-%dT%H:%M:%SZ"),
                ev.name.start.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        );
    }
    let trailer = sidecar.trailer.as_ref()?;
    Some(Declared {
        start: header.start,
        end: trailer.end,
        size: trailer.video_size,
        sha256: trailer.video_sha256,
    })
}

/// Rules 2 and 3: a well-formed ISO BMFF file of the declared duration, size and SHA-256.
fn judge_video(profile: &Profile, video: &VideoFacts, declared: Option<Declared>, v: &mut Verdict) {
    for problem in &video.bmff.problems {
        v.fail(problem.code(), problem);
    }
    // Another codec than the profile's is told, not refused: the bytes are the evidence.
    v.flags.extend(video.bmff.codec_flags());
    let Some(declared) = declared else {
        // Without a trailer nothing can be compared; rule 1 has already failed.
        return;
    };
    if declared.size != video.size {
        v.fail(
            "size-mismatch",
            format_args!(
                "the sidecar declares {} bytes but {} bytes were read from the camera",
                declared.size, video.size
            ),
        );
    }
    if declared.sha256 != video.digests.sha256 {
        v.fail(
            "sha256-mismatch",
            format_args!(
                "the sidecar declares SHA-256 {} but the bytes read from the camera have {}",
                hex(&declared.sha256),
                video.digests.sha256_hex()
            ),
        );
    }
    if let Some(duration) = video.bmff.duration_secs {
        let declared_secs = (declared.end - declared.start).num_milliseconds() as f64 / 1000.0;
        let tolerance = f64::from(profile.duration_tolerance_secs);
        // Written so that a NaN duration fails the rule rather than passing it.
        let within = (duration - declared_secs).abs() <= tolerance;
        if !within {
            v.fail(
                "duration-mismatch",
                format_args!(
                    "the video lasts {duration:.1} s but the sidecar spans {declared_secs:.1} s (tolerance {tolerance} s)"
                ),
            );
        }
    }
}
