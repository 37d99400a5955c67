//! When detection is doubtful, the whole frame is blurred rather than risk a face: at a
//! scene cut (the boxes followed belong to another picture), in low light (CenterFace
//! misses dark faces), and in motion blur (a smeared face is missed too).

use serde::Serialize;

/// Mean luma (0-255) under which a frame is too dark to trust the detector.
const DARK: f64 = 40.0;
/// Mean luma difference with the previous frame (0-255) over which the scene changed.
const CUT: f64 = 40.0;
/// A frame whose sharpness falls under this share of the recent frames' is motion-blurred.
const SMEARED: f64 = 0.4;
/// Frames the sharpness is averaged over.
const RECENT: f64 = 15.0;

/// Why a frame was blurred whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Doubt {
    /// The picture changed at once.
    SceneCut,
    /// Too dark.
    LowLight,
    /// Much less sharp than the frames before.
    MotionBlur,
}

/// Looks at each frame against the ones before.
#[derive(Debug, Default)]
pub(crate) struct DoubtCheck {
    previous: Vec<u8>,
    sharpness: Option<f64>,
    luma: Vec<u8>,
}

impl DoubtCheck {
    /// Whether frame `rgb` (`width` x `height`) is doubtful, and why.
    pub fn check(&mut self, rgb: &[u8], width: usize, height: usize) -> Option<Doubt> {
        // A coarse grey thumbnail (1 pixel in 8 each way) is plenty for these measures.
        self.luma.clear();
        let (tw, th) = ((width / 8).max(1), (height / 8).max(1));
        for ty in 0..th {
            for tx in 0..tw {
                let p = ((ty * 8).min(height - 1) * width + (tx * 8).min(width - 1)) * 3;
                let y = (u32::from(rgb[p]) * 77
                    + u32::from(rgb[p + 1]) * 150
                    + u32::from(rgb[p + 2]) * 29)
                    >> 8;
                self.luma.push(y as u8);
            }
        }
        let n = self.luma.len() as f64;
        let mean = self.luma.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let cut = self.previous.len() == self.luma.len()
            && self
                .previous
                .iter()
                .zip(&self.luma)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
                .sum::<f64>()
                / n
                > CUT;
        let sharp = self
            .luma
            .windows(2)
            .map(|w| (f64::from(w[0]) - f64::from(w[1])).abs())
            .sum::<f64>()
            / n;
        let smeared = self.sharpness.is_some_and(|s| sharp < s * SMEARED);
        self.sharpness = Some(match self.sharpness {
            Some(s) if !cut => s + (sharp - s) / RECENT,
            _ => sharp,
        });
        std::mem::swap(&mut self.previous, &mut self.luma);
        if cut {
            Some(Doubt::SceneCut)
        } else if mean < DARK {
            Some(Doubt::LowLight)
        } else if smeared {
            Some(Doubt::MotionBlur)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                rgb.extend([f(x, y); 3]);
            }
        }
        rgb
    }

    #[test]
    fn a_cut_a_dark_frame_and_a_smeared_one_are_doubtful_a_steady_scene_is_not() {
        let (w, h) = (128, 96);
        let textured = |shift: usize| {
            frame(w, h, move |x, y| {
                110 + (((x + shift) / 8 + y / 8) % 2) as u8 * 40
            })
        };
        let mut d = DoubtCheck::default();
        assert_eq!(d.check(&textured(0), w, h), None);
        assert_eq!(
            d.check(&textured(1), w, h),
            None,
            "a small move is not a cut"
        );
        let other = frame(w, h, |x, _| if x < w / 2 { 250 } else { 120 });
        assert_eq!(d.check(&other, w, h), Some(Doubt::SceneCut));
        let mut d = DoubtCheck::default();
        assert_eq!(
            d.check(&frame(w, h, |x, y| ((x + y) % 30) as u8), w, h),
            Some(Doubt::LowLight)
        );
        let mut d = DoubtCheck::default();
        for _ in 0..5 {
            assert_eq!(d.check(&textured(0), w, h), None);
        }
        let smeared = frame(w, h, |x, y| 130 + ((x / 8 + y / 8) % 2) as u8 * 4);
        assert_eq!(d.check(&smeared, w, h), Some(Doubt::MotionBlur));
    }
}
