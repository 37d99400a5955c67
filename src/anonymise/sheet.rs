//! The review sheet: one frame a second of the derivative, as blurred, with every blurred
//! region outlined (red: a face the detector found in that frame; yellow: a box held or
//! carried back; a magenta border: the whole frame blurred), so the reviewer sees each
//! decision before accepting.

use super::region::Region;

/// Thumbnails' width in pixels.
const THUMB_WIDTH: usize = 256;
/// Thumbnails per row.
const COLUMNS: usize = 6;

const RED: [u8; 3] = [255, 0, 0];
const YELLOW: [u8; 3] = [255, 220, 0];
const MAGENTA: [u8; 3] = [255, 0, 255];

/// The sheet being filled.
pub(crate) struct ContactSheet {
    thumbs: Vec<Vec<u8>>,
    tw: usize,
    th: usize,
}

impl ContactSheet {
    /// A sheet for frames of `width` x `height`.
    pub fn new(width: usize, height: usize) -> ContactSheet {
        let tw = THUMB_WIDTH.min(width);
        let th = (height * tw / width.max(1)).max(1);
        ContactSheet {
            thumbs: Vec::new(),
            tw,
            th,
        }
    }

    /// Adds a blurred frame with its regions (`whole`: blurred whole).
    pub fn add(
        &mut self,
        rgb: &[u8],
        width: usize,
        height: usize,
        regions: &[Region],
        whole: bool,
    ) {
        let (tw, th) = (self.tw, self.th);
        let mut t = vec![0u8; tw * th * 3];
        for y in 0..th {
            let fy = (y * height / th).min(height - 1);
            for x in 0..tw {
                let fx = (x * width / tw).min(width - 1);
                let (s, d) = ((fy * width + fx) * 3, (y * tw + x) * 3);
                t[d..d + 3].copy_from_slice(&rgb[s..s + 3]);
            }
        }
        let scale = tw as f32 / width as f32;
        for r in regions {
            let small = Region {
                x: r.x * scale,
                y: r.y * scale,
                w: r.w * scale,
                h: r.h * scale,
                score: r.score,
            };
            if let Some(rect) = small.clamp(tw, th) {
                outline(
                    &mut t,
                    tw,
                    rect,
                    if r.score > 0.0 { RED } else { YELLOW },
                    1,
                );
            }
        }
        if whole {
            outline(&mut t, tw, (0, 0, tw, th), MAGENTA, 3);
        }
        self.thumbs.push(t);
    }

    /// The sheet as one RGB picture: `(pixels, width, height)`.
    pub fn render(&self) -> (Vec<u8>, usize, usize) {
        let (tw, th, gap) = (self.tw, self.th, 4);
        let cols = COLUMNS.min(self.thumbs.len()).max(1);
        let rows = self.thumbs.len().div_ceil(cols).max(1);
        let (w, h) = (cols * (tw + gap) + gap, rows * (th + gap) + gap);
        let mut sheet = vec![32u8; w * h * 3];
        for (i, t) in self.thumbs.iter().enumerate() {
            let (ox, oy) = (gap + (i % cols) * (tw + gap), gap + (i / cols) * (th + gap));
            for y in 0..th {
                let d = ((oy + y) * w + ox) * 3;
                sheet[d..d + tw * 3].copy_from_slice(&t[y * tw * 3..(y + 1) * tw * 3]);
            }
        }
        (sheet, w, h)
    }
}

fn outline(
    t: &mut [u8],
    width: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    colour: [u8; 3],
    thick: usize,
) {
    let mut put = |x: usize, y: usize| {
        let p = (y * width + x) * 3;
        t[p..p + 3].copy_from_slice(&colour);
    };
    for k in 0..thick {
        for x in x0..x1 {
            put(x, (y0 + k).min(y1 - 1));
            put(x, y1.saturating_sub(1 + k).max(y0));
        }
        for y in y0..y1 {
            put((x0 + k).min(x1 - 1), y);
            put(x1.saturating_sub(1 + k).max(x0), y);
        }
    }
}
