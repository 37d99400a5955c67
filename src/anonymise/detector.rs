//! Faces found by CenterFace, run through the ONNX runtime (`ort`, the library loaded from
//! `[anonymise] runtime` after its hash was checked). A frame is scaled down to the
//! detector's width (a multiple of 32, as the network's strides need), and each heat-map
//! peak above the threshold becomes a box in the frame's pixels.

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

use super::model::CheckedFile;
use super::onnx_shape::open_shapes;
use super::region::Region;
use super::{AnonymiseError, Frame};

/// The width frames are scaled to for detection: about 30 ms a frame on two cores (see
/// docs/performance.md), and faces down to about 12 pixels wide at 640 remain found.
pub(crate) const DETECT_WIDTH: usize = 640;

/// Boxes overlapping more than this (intersection over union) are one face.
const NMS_IOU: f32 = 0.3;

/// A loaded CenterFace network.
pub struct Detector {
    session: Session,
    threshold: f32,
    input: Vec<f32>,
}

impl Detector {
    /// Loads the runtime library (once per process) and the model, both already checked.
    pub fn load(
        runtime: &CheckedFile,
        model: &CheckedFile,
        threshold: f32,
    ) -> Result<Detector, AnonymiseError> {
        let err = |what: &str, e: ort::Error| {
            AnonymiseError::Runtime(format!(
                "{what} ({}): {e}; reinstall it with scripts/install-deps or the package",
                runtime.path.display()
            ))
        };
        ort::init_from(runtime.path.display().to_string())
            .with_name("sentinel-dock")
            .commit()
            .map_err(|e| err("the ONNX runtime could not be loaded", e))?;
        let graph = open_shapes(&model.bytes)?;
        let session = Session::builder()
            .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3))
            .and_then(|b| b.with_intra_threads(2))
            // Spinning threads waiting for work steal the CPU the decoder, the encoder and
            // the ingests need on a two-core machine.
            .and_then(|b| b.with_intra_op_spinning(false))
            .and_then(|b| b.with_inter_op_spinning(false))
            .and_then(|b| b.commit_from_memory(&graph))
            .map_err(|e| err("the model could not be loaded by the ONNX runtime", e))?;
        Ok(Detector {
            session,
            threshold,
            input: Vec::new(),
        })
    }

    /// The faces in `frame`, in its pixels, each with its score.
    pub fn detect(&mut self, frame: &Frame<'_>) -> Result<Vec<Region>, AnonymiseError> {
        let (dw, dh) = detect_size(frame.width, frame.height);
        fill_input(&mut self.input, frame, dw, dh);
        let tensor = TensorRef::from_array_view(([1usize, 3, dh, dw], &*self.input))
            .map_err(|e| AnonymiseError::Runtime(format!("input tensor: {e}")))?;
        let outputs = self
            .session
            .run(ort::inputs![tensor])
            .map_err(|e| AnonymiseError::Runtime(format!("CenterFace failed on a frame: {e}")))?;
        if outputs.len() < 3 {
            return Err(AnonymiseError::Model(
                "CenterFace has fewer than 3 outputs".into(),
            ));
        }
        let out = |i: usize| -> Result<&[f32], AnonymiseError> {
            outputs[i]
                .try_extract_tensor::<f32>()
                .map(|(_, data)| data)
                .map_err(|e| AnonymiseError::Model(format!("output {i}: {e}")))
        };
        let (heat, scale, offset) = (out(0)?, out(1)?, out(2)?);
        let (gw, gh) = (dw / 4, dh / 4);
        if heat.len() != gw * gh || scale.len() != 2 * gw * gh || offset.len() != 2 * gw * gh {
            return Err(AnonymiseError::Model(
                "CenterFace's outputs do not have the expected sizes".into(),
            ));
        }
        let (sx, sy) = (
            frame.width as f32 / dw as f32,
            frame.height as f32 / dh as f32,
        );
        let mut found = Vec::new();
        for (i, &score) in heat.iter().enumerate() {
            if score < self.threshold {
                continue;
            }
            let (r, c) = ((i / gw) as f32, (i % gw) as f32);
            let h = scale[i].exp() * 4.0;
            let w = scale[gw * gh + i].exp() * 4.0;
            let cy = (r + offset[i] + 0.5) * 4.0;
            let cx = (c + offset[gw * gh + i] + 0.5) * 4.0;
            found.push(Region {
                x: (cx - w / 2.0).max(0.0) * sx,
                y: (cy - h / 2.0).max(0.0) * sy,
                w: w * sx,
                h: h * sy,
                score,
            });
        }
        Ok(non_max_suppression(found))
    }
}

/// The detector's input size for a frame: `DETECT_WIDTH` wide at most, both sides
/// multiples of 32.
pub(crate) fn detect_size(width: usize, height: usize) -> (usize, usize) {
    let dw = width.min(DETECT_WIDTH).div_ceil(32) * 32;
    let dh = (height * dw / width.max(1)).max(32).div_ceil(32) * 32;
    (dw, dh)
}

/// The frame scaled (nearest pixel) into a 1x3xHxW RGB tensor of 0-255 values, as
/// CenterFace was trained.
fn fill_input(input: &mut Vec<f32>, frame: &Frame<'_>, dw: usize, dh: usize) {
    input.clear();
    input.resize(3 * dw * dh, 0.0);
    let plane = dw * dh;
    for y in 0..dh {
        let fy = (y * frame.height / dh).min(frame.height - 1);
        for x in 0..dw {
            let fx = (x * frame.width / dw).min(frame.width - 1);
            let p = (fy * frame.width + fx) * 3;
            for c in 0..3 {
                input[c * plane + y * dw + x] = f32::from(frame.rgb[p + c]);
            }
        }
    }
}

/// Keeps the best-scored box of each group of overlapping boxes.
fn non_max_suppression(mut boxes: Vec<Region>) -> Vec<Region> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Region> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| k.iou(&b) <= NMS_IOU) {
            kept.push(b);
        }
    }
    kept
}
