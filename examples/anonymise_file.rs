//! The anonymisation pipeline on one video file, for `scripts/bench --anonymise`: the same
//! `anonymise::make` the daemon runs (detector files checked, decode, detect, follow, blur,
//! encode, sheet, manifest), without the store and the register. Prints one JSON line.
//!
//! usage: anonymise_file VIDEO OUT_DIR [DETECT_EVERY]   (default: `[anonymise]`'s)
//!        anonymise_file --detector RUNS   (CenterFace alone on a 640x352 frame: ms per run)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use sentinel_dock::anonymise::{self, Job, JobControl, Original, VoiceKey, VoiceMode};
use sentinel_dock::base::config::AnonymiseConfig;
use sentinel_dock::base::digest::Hasher;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--detector") {
        let runs = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(15);
        return detector_alone(runs);
    }
    if args.len() < 3 {
        bail!("usage: anonymise_file VIDEO OUT_DIR [DETECT_EVERY]");
    }
    let mut settings = AnonymiseConfig::default();
    if let Some(every) = args.get(3) {
        settings.detect_every = every
            .parse()
            .with_context(|| format!("DETECT_EVERY `{every}` is not a number of frames"))?;
    }
    let video = PathBuf::from(&args[1]);
    let dir = PathBuf::from(&args[2]);
    let bytes = std::fs::read(&video).with_context(|| format!("reading {}", video.display()))?;
    let mut hasher = Hasher::new();
    hasher.update(&bytes);
    let stem = video
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    let job = Job {
        original: Original {
            stem,
            register_id: 0,
            path: video.clone(),
            size: bytes.len() as u64,
            digests: hasher.finish(),
        },
        dir,
        audit_seq: 0,
        author: "bench".into(),
        reason: "benchmark".into(),
        made_at: chrono::Utc::now().to_rfc3339(),
        voice: VoiceMode::Mask,
        key: Some(VoiceKey::draw()?),
        stored_as: [String::new(), String::new()],
        settings,
    };
    let start = Instant::now();
    let made = anonymise::make(&job, &Arc::new(JobControl::default()))?;
    let secs = start.elapsed().as_secs_f64();
    for (hidden, name) in [&made.video, &made.sheet, &made.manifest]
        .into_iter()
        .zip(anonymise::final_names(&job.original.stem))
    {
        std::fs::rename(hidden, job.dir.join(name))?;
    }
    println!(
        "{}",
        serde_json::json!({
            "seconds": secs,
            "frames": made.record.frames,
            "frames_detected": made.record.frames_detected,
            "frames_with_faces": made.record.frames_with_faces,
            "frames_blurred_whole": made.record.frames_blurred_whole,
            "video": job.dir.join(format!("{}.anon.mp4", job.original.stem)),
            "key": made.record.voice.key,
        })
    );
    Ok(())
}

/// Times CenterFace alone through the runtime on one 640x352 frame of a fixed pattern.
fn detector_alone(runs: usize) -> anyhow::Result<()> {
    let settings = AnonymiseConfig::default();
    let (model, runtime) = anonymise::check_detector(&settings)?;
    let mut detector = anonymise::Detector::load(&runtime, &model, settings.threshold)?;
    let (width, height) = (640, 352);
    let rgb: Vec<u8> = (0..width * height * 3)
        .map(|i| ((i * 7) % 251) as u8)
        .collect();
    let frame = anonymise::Frame {
        rgb: &rgb,
        width,
        height,
    };
    detector.detect(&frame)?; // the first run sets the runtime up
    let mut ms = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        detector.detect(&frame)?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({"runtime": "ort (onnxruntime 1.22.1)", "size": "640x352", "runs": runs,
            "median_ms": ms[ms.len() / 2], "min_ms": ms[0], "max_ms": ms[ms.len() - 1]})
    );
    Ok(())
}
