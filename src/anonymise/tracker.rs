//! Faces followed from frame to frame, so that one the detector misses for a few frames
//! stays blurred: each face's box is held `hold` frames after it was last seen (growing a
//! little each frame, since the face may be moving), and a face first seen is also laid on
//! the `hold` frames before (the pipeline keeps them unwritten until then).

use super::region::Region;

/// A box matching a known face by at least this overlap continues it.
const SAME_FACE_IOU: f32 = 0.1;
/// How much a held box grows each frame it is not seen (share of its size per side).
const GROWTH_PER_FRAME: f32 = 0.02;

/// One face followed.
#[derive(Debug, Clone)]
struct Track {
    region: Region,
    last_seen: u64,
}

/// The faces being followed.
#[derive(Debug)]
pub(crate) struct Tracker {
    hold: u64,
    margin: f32,
    tracks: Vec<Track>,
}

/// What one frame gets from the tracker.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// The regions to blur in this frame (found and held, enlarged).
    pub regions: Vec<Region>,
    /// Regions of faces first seen now, to lay on the frames held back.
    pub backward: Vec<Region>,
}

impl Tracker {
    /// A tracker holding boxes `hold` frames, enlarging them by `margin`.
    pub fn new(hold: u32, margin: f32) -> Tracker {
        Tracker {
            hold: u64::from(hold),
            margin,
            tracks: Vec::new(),
        }
    }

    /// Takes frame `index`'s detections; returns what to blur.
    pub fn step(&mut self, index: u64, found: &[Region]) -> Step {
        let mut step = Step::default();
        for f in found {
            let best = self
                .tracks
                .iter_mut()
                .map(|t| (t.region.iou(f), t))
                .filter(|(iou, _)| *iou >= SAME_FACE_IOU)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            match best {
                Some((_, t)) => {
                    t.region = *f;
                    t.last_seen = index;
                }
                None => {
                    step.backward.push(f.enlarged(self.margin + 0.1));
                    self.tracks.push(Track {
                        region: *f,
                        last_seen: index,
                    });
                }
            }
        }
        let hold = self.hold;
        self.tracks.retain(|t| index - t.last_seen <= hold);
        for t in &self.tracks {
            let age = (index - t.last_seen) as f32;
            step.regions
                .push(t.region.enlarged(self.margin + GROWTH_PER_FRAME * age));
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32) -> Region {
        Region {
            x,
            y: 10.0,
            w: 20.0,
            h: 20.0,
            score: 0.9,
        }
    }

    #[test]
    fn a_missed_face_is_held_then_dropped_and_a_new_one_goes_backward() {
        let mut t = Tracker::new(3, 0.3);
        let first = t.step(0, &[face(10.0)]);
        assert_eq!(first.regions.len(), 1);
        assert_eq!(first.backward.len(), 1, "a face first seen is carried back");
        let moved = t.step(1, &[face(12.0)]);
        assert!(moved.backward.is_empty(), "the same face moving is not new");
        for i in 2..=4 {
            assert_eq!(t.step(i, &[]).regions.len(), 1, "held at frame {i}");
        }
        assert!(t.step(5, &[]).regions.is_empty(), "dropped after the hold");
    }
}
