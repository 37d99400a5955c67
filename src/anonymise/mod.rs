//! Anonymised derivatives for training (issue 11): every face blurred in every frame, the
//! voice masked, with a review sheet and a manifest, made offline on the dock machine.
//!
//! [`make`] reads the original through ffmpeg (raw RGB frames on a pipe), finds faces with
//! CenterFace ([`Detector`]) on every frame, follows them ([`Tracker`]: held after they are
//! lost, carried back before they are first seen), blurs the whole frame where detection is
//! doubtful ([`DoubtCheck`]), blurs irreversibly ([`blur`]), and encodes H.264 + AAC with
//! the voice masked ([`VoiceKey`]). It writes into a folder under hidden names; the caller
//! stores, registers and names them (`commands::anonymise`).

pub mod blur;
pub mod detector;
pub mod doubt;
mod error;
pub mod manifest;
pub mod model;
mod onnx_shape;
pub mod region;
pub mod sheet;
pub mod tracker;
pub mod video;
pub mod voice;

mod pipeline;

pub use detector::Detector;
pub(crate) use error::AnonymiseError;
pub use pipeline::{Job, JobControl, Made, Original, check_detector, final_names, make};
pub use region::Region;
pub use voice::{VoiceKey, VoiceMode};

/// One decoded frame: RGB, 3 bytes a pixel, rows top to bottom.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The pixels.
    pub rgb: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}
