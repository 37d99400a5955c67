//! `[anonymise]`: the face detector, its runtime, and how footage for training is made.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[anonymise]`: where the CenterFace model and the ONNX runtime are, and the derivative's
/// coverage settings (what `sentinel-dockctl anonymise` makes).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymiseConfig {
    /// The CenterFace model (`centerface.onnx`, checked against its pinned SHA-256).
    #[serde(default = "default_model")]
    pub model: PathBuf,
    /// The ONNX runtime library (`libonnxruntime.so`, checked against its pinned SHA-256).
    #[serde(default = "default_runtime")]
    pub runtime: PathBuf,
    /// The derivative's height in pixels (a smaller original keeps its own).
    #[serde(default = "default_height")]
    pub height: u32,
    /// Frames a face's box is held after the detector last saw it, and carried before it
    /// first saw it.
    #[serde(default = "default_hold_frames")]
    pub hold_frames: u32,
    /// Share of each side added around a detected face before it is blurred.
    #[serde(default = "default_margin")]
    pub margin: f32,
    /// Detector score from which a region is blurred (CenterFace's heat map, 0 to 1).
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    /// The detector runs on one frame in this many; the tracker covers the frames between.
    #[serde(default = "default_detect_every")]
    pub detect_every: u32,
}

impl Default for AnonymiseConfig {
    fn default() -> Self {
        AnonymiseConfig {
            model: default_model(),
            runtime: default_runtime(),
            height: default_height(),
            hold_frames: default_hold_frames(),
            margin: default_margin(),
            threshold: default_threshold(),
            detect_every: default_detect_every(),
        }
    }
}

impl AnonymiseConfig {
    /// Checks the ranges; each error names the key and the range.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(144..=2160).contains(&self.height) || !self.height.is_multiple_of(2) {
            return Err(invalid(
                "anonymise.height",
                "must be an even number of pixels between 144 and 2160 (720 by default)",
            ));
        }
        if self.hold_frames > 300 {
            return Err(invalid(
                "anonymise.hold_frames",
                "must be at most 300 (10 s at 30 fps); 15 by default",
            ));
        }
        if !(0.0..=2.0).contains(&self.margin) {
            return Err(invalid(
                "anonymise.margin",
                "must be between 0.0 and 2.0 (a share of each side; 0.3 by default)",
            ));
        }
        if !(0.05..=0.95).contains(&self.threshold) {
            return Err(invalid(
                "anonymise.threshold",
                "must be between 0.05 and 0.95; lower blurs more (0.3 by default)",
            ));
        }
        // A frame the detector skips is written only once the next detected frame's boxes
        // were laid on it, so it must still be held back then.
        if !(1..=4).contains(&self.detect_every) || self.detect_every > self.hold_frames + 1 {
            return Err(invalid(
                "anonymise.detect_every",
                "must be between 1 and 4, and at most hold_frames + 1 (2 by default)",
            ));
        }
        Ok(())
    }
}

fn default_model() -> PathBuf {
    PathBuf::from("/usr/share/sentinel-dock/centerface.onnx")
}

fn default_runtime() -> PathBuf {
    PathBuf::from("/usr/lib/sentinel-dock/libonnxruntime.so")
}

fn default_height() -> u32 {
    720
}

fn default_hold_frames() -> u32 {
    15
}

fn default_margin() -> f32 {
    0.3
}

fn default_threshold() -> f32 {
    0.3
}

fn default_detect_every() -> u32 {
    2
}
