//! The voice over the whole track: masked (pitch and formants moved by ratios drawn for
//! each derivative, so a key is never reused and one derivative's key tells nothing of
//! another's), muted, or kept as it is when a person decides so. Run by ffmpeg's
//! `rubberband` filter (Debian's ffmpeg is built with librubberband).

use std::io::Read;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::AnonymiseError;

/// What is done with the sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VoiceMode {
    /// Pitch and formants moved: intelligible, but not the speaker's voice.
    Mask,
    /// Silence over the whole track.
    Mute,
    /// The sound as recorded (a person decided so; traced).
    Keep,
}

impl VoiceMode {
    /// The name recorded in the register and the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            VoiceMode::Mask => "mask",
            VoiceMode::Mute => "mute",
            VoiceMode::Keep => "keep",
        }
    }
}

/// A voice mask's key: the ratios the pitch and the formants are moved by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VoiceKey {
    /// Pitch ratio (above 1: higher).
    pub pitch: f64,
    /// Formant ratio (the vocal tract's resonances).
    pub formant: f64,
}

impl VoiceKey {
    /// A key drawn from the kernel's random source: pitch 3 to 6 semitones up or down,
    /// formants 6 to 15 % up or down, each direction drawn too; rounded to 1/1000 as the
    /// register keeps it.
    pub fn draw() -> Result<VoiceKey, AnonymiseError> {
        let mut bytes = [0u8; 8];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|e| {
                AnonymiseError::Runtime(format!("reading /dev/urandom for the voice key: {e}"))
            })?;
        let unit = |i: usize| f64::from(u16::from_le_bytes([bytes[i], bytes[i + 1]])) / 65535.0;
        let sign = |b: u8| if b & 1 == 0 { 1.0 } else { -1.0 };
        let semitones = sign(bytes[4]) * (3.0 + 3.0 * unit(0));
        let formant = 1.0 + sign(bytes[5]) * (0.06 + 0.09 * unit(2));
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        Ok(VoiceKey {
            pitch: round(2f64.powf(semitones / 12.0)),
            formant: round(formant),
        })
    }

    /// The ffmpeg audio filter: `asetrate` moves pitch, formants and speed together by the
    /// formant ratio; `rubberband` then restores the speed and moves the pitch the rest of
    /// the way with the formants kept where they now are.
    pub fn filter(&self, sample_rate: u32) -> String {
        let rate = f64::from(sample_rate);
        format!(
            "asetrate={:.0},aresample={sample_rate},rubberband=tempo={:.6}:pitch={:.6}:formant=preserved",
            rate * self.formant,
            1.0 / self.formant,
            self.pitch / self.formant
        )
    }
}
