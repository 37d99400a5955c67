//! Irreversible blur of regions of an RGB frame: each region is pixelated coarsely (a
//! block's pixels all take its mean, so the detail is gone, not hidden), then box-blurred
//! so that the blocks' edges carry no shape either.

/// Blurs `(x0, y0, x1, y1)` of a `width`-wide RGB frame.
pub(crate) fn blur_rect(rgb: &mut [u8], width: usize, rect: (usize, usize, usize, usize)) {
    let (x0, y0, x1, y1) = rect;
    // Four blocks across and a blur as wide as a block: with six and half a block, the
    // independent cascade still read a face-shaped blob (hair over skin) in 2 of 1800
    // blurred frames after encoding (docs/performance.md).
    let block = ((x1 - x0).min(y1 - y0) / 4).max(6);
    pixelate(rgb, width, rect, block);
    box_blur(rgb, width, rect, block);
}

/// The whole frame, when detection is doubtful: coarser blocks, nothing recognisable.
pub(crate) fn blur_all(rgb: &mut [u8], width: usize, height: usize) {
    let rect = (0, 0, width, height);
    let block = (height / 24).max(8);
    pixelate(rgb, width, rect, block);
    box_blur(rgb, width, rect, block / 2);
}

fn pixelate(
    rgb: &mut [u8],
    width: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    block: usize,
) {
    for by in (y0..y1).step_by(block) {
        for bx in (x0..x1).step_by(block) {
            let (ex, ey) = ((bx + block).min(x1), (by + block).min(y1));
            let mut sum = [0u64; 3];
            for y in by..ey {
                for x in bx..ex {
                    let p = (y * width + x) * 3;
                    for c in 0..3 {
                        sum[c] += u64::from(rgb[p + c]);
                    }
                }
            }
            let n = ((ex - bx) * (ey - by)) as u64;
            let mean = sum.map(|s| (s / n.max(1)) as u8);
            for y in by..ey {
                for x in bx..ex {
                    let p = (y * width + x) * 3;
                    rgb[p..p + 3].copy_from_slice(&mean);
                }
            }
        }
    }
}

/// A separable box blur of `radius` inside the rectangle (rows, then columns).
fn box_blur(
    rgb: &mut [u8],
    width: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    radius: usize,
) {
    if radius == 0 {
        return;
    }
    let mut line: Vec<[u8; 3]> = Vec::new();
    for y in y0..y1 {
        line.clear();
        line.extend((x0..x1).map(|x| pixel(rgb, y * width + x)));
        blur_line(&line, |i, v| set(rgb, y * width + x0 + i, v), radius);
    }
    for x in x0..x1 {
        line.clear();
        line.extend((y0..y1).map(|y| pixel(rgb, y * width + x)));
        blur_line(&line, |i, v| set(rgb, (y0 + i) * width + x, v), radius);
    }
}

fn blur_line(line: &[[u8; 3]], mut put: impl FnMut(usize, [u8; 3]), radius: usize) {
    let n = line.len();
    let mut prefix = vec![[0u32; 3]; n + 1];
    for (i, p) in line.iter().enumerate() {
        for c in 0..3 {
            prefix[i + 1][c] = prefix[i][c] + u32::from(p[c]);
        }
    }
    for i in 0..n {
        let (a, b) = (i.saturating_sub(radius), (i + radius + 1).min(n));
        let count = (b - a) as u32;
        put(
            i,
            [0, 1, 2].map(|c| ((prefix[b][c] - prefix[a][c]) / count) as u8),
        );
    }
}

fn pixel(rgb: &[u8], i: usize) -> [u8; 3] {
    [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]
}

fn set(rgb: &mut [u8], i: usize, v: [u8; 3]) {
    rgb[i * 3..i * 3 + 3].copy_from_slice(&v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blurred_region_keeps_no_detail_and_the_rest_is_untouched() {
        let (w, h) = (64, 48);
        let mut rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i * 37) % 251) as u8).collect();
        let before = rgb.clone();
        blur_rect(&mut rgb, w, (8, 8, 40, 40));
        // Inside: neighbouring pixels now differ by little (the pattern differed by ~37).
        let p = |x: usize, y: usize| i32::from(rgb[(y * w + x) * 3]);
        assert!((p(20, 20) - p(21, 20)).abs() < 16);
        // Outside: byte for byte as before.
        for y in 0..h {
            for x in 0..w {
                if !(8..40).contains(&x) || !(8..40).contains(&y) {
                    let i = (y * w + x) * 3;
                    assert_eq!(rgb[i..i + 3], before[i..i + 3], "pixel {x},{y}");
                }
            }
        }
    }
}
