//! A rectangle of a frame that is blurred: a face the detector found, or one held.

use serde::Serialize;

/// A box in a frame's pixels, with the detector's score (0 for a held box).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Region {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
    /// The detector's score.
    pub score: f32,
}

impl Region {
    /// Intersection over union with `other`.
    pub(crate) fn iou(&self, other: &Region) -> f32 {
        let ix = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let iy = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        if ix <= 0.0 || iy <= 0.0 {
            return 0.0;
        }
        let inter = ix * iy;
        inter / (self.w * self.h + other.w * other.h - inter)
    }

    /// The box grown by `margin` of its size on each side.
    pub(crate) fn enlarged(&self, margin: f32) -> Region {
        Region {
            x: self.x - self.w * margin,
            y: self.y - self.h * margin,
            w: self.w * (1.0 + 2.0 * margin),
            h: self.h * (1.0 + 2.0 * margin),
            score: self.score,
        }
    }

    /// The smallest box holding both (score 0: it is no detection).
    pub(crate) fn hull(&self, other: &Region) -> Region {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        Region {
            x,
            y,
            w: (self.x + self.w).max(other.x + other.w) - x,
            h: (self.y + self.h).max(other.y + other.h) - y,
            score: 0.0,
        }
    }

    /// The pixel rectangle `(x0, y0, x1, y1)` inside a `width` x `height` frame, or `None`
    /// when nothing of it is inside.
    pub fn clamp(&self, width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
        let x0 = self.x.floor().max(0.0) as usize;
        let y0 = self.y.floor().max(0.0) as usize;
        let x1 = ((self.x + self.w).ceil().max(0.0) as usize).min(width);
        let y1 = ((self.y + self.h).ceil().max(0.0) as usize).min(height);
        (x0 < x1 && y0 < y1).then_some((x0, y0, x1, y1))
    }
}
