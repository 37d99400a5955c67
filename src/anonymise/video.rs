//! ffmpeg as subprocesses with raw frame pipes: the original decoded and scaled to RGB
//! frames on one pipe, the blurred frames encoded (x264, with the masked sound taken from
//! the original) from another. Nothing of ffmpeg is downloaded: Debian's is used.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::Deserialize;

use super::AnonymiseError;

/// What ffprobe says of the original.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Frames a second, as `num/den` and as a number.
    pub rate: (u32, u32),
    /// Duration in seconds.
    pub duration: f64,
    /// The first audio stream's sample rate, when there is one.
    pub sample_rate: Option<u32>,
}

impl Probe {
    /// Frames a second.
    pub fn fps(&self) -> f64 {
        f64::from(self.rate.0) / f64::from(self.rate.1.max(1))
    }
}

#[derive(Deserialize)]
struct ProbeJson {
    streams: Vec<StreamJson>,
    format: FormatJson,
}

#[derive(Deserialize)]
struct StreamJson {
    codec_type: String,
    width: Option<usize>,
    height: Option<usize>,
    r_frame_rate: Option<String>,
    sample_rate: Option<String>,
}

#[derive(Deserialize)]
struct FormatJson {
    duration: Option<String>,
}

/// Probes `video` with ffprobe.
pub fn probe(video: &Path) -> Result<Probe, AnonymiseError> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("stream=codec_type,width,height,r_frame_rate,sample_rate:format=duration")
        .args(["-of", "json"])
        .arg(video)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| tool("ffprobe", e))?;
    let bad = |why: String| AnonymiseError::Video {
        path: video.to_path_buf(),
        why,
    };
    if !out.status.success() {
        return Err(bad(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    let json: ProbeJson =
        serde_json::from_slice(&out.stdout).map_err(|e| bad(format!("ffprobe's answer: {e}")))?;
    let v = json
        .streams
        .iter()
        .find(|s| s.codec_type == "video")
        .ok_or_else(|| bad("it has no video stream".into()))?;
    let (width, height) = v
        .width
        .zip(v.height)
        .filter(|(w, h)| (16..=8192).contains(w) && (16..=8192).contains(h))
        .ok_or_else(|| bad("its frame size is missing or out of range".into()))?;
    let rate = v
        .r_frame_rate
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)))
        .filter(|&(n, d): &(u32, u32)| n > 0 && d > 0 && n / d <= 240)
        .ok_or_else(|| bad("its frame rate is missing or out of range".into()))?;
    let duration = json
        .format
        .duration
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    let sample_rate = json
        .streams
        .iter()
        .find(|s| s.codec_type == "audio")
        .and_then(|s| s.sample_rate.as_deref()?.parse().ok());
    Ok(Probe {
        width,
        height,
        rate,
        duration,
        sample_rate,
    })
}

/// The derivative's frame size: `height` at most (even), the width keeping the shape.
pub(crate) fn output_size(p: &Probe, height: u32) -> (usize, usize) {
    let h = (p.height.min(height as usize)) & !1;
    let w = ((p.width * h / p.height) + 1) & !1;
    (w.max(2), h.max(2))
}

/// A running ffmpeg, killed if dropped before `finish`.
pub(crate) struct Ffmpeg {
    child: Child,
    what: &'static str,
    log: PathBuf,
}

impl Ffmpeg {
    fn spawn(what: &'static str, mut cmd: Command, log: PathBuf) -> Result<Ffmpeg, AnonymiseError> {
        let err = File::create(&log).map_err(|e| AnonymiseError::Io {
            path: log.clone(),
            source: e,
        })?;
        let child = cmd
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| tool("ffmpeg", e))?;
        Ok(Ffmpeg { child, what, log })
    }

    /// Waits for it; an exit other than 0 is an error quoting the end of its log.
    pub fn finish(mut self) -> Result<(), AnonymiseError> {
        let status = self.child.wait().map_err(|e| tool("ffmpeg", e))?;
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        if status.success() {
            return Ok(());
        }
        let tail: Vec<&str> = log.lines().rev().take(4).collect();
        Err(AnonymiseError::Ffmpeg {
            what: self.what,
            why: tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
        })
    }
}

impl Drop for Ffmpeg {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The original decoded to `width` x `height` RGB frames.
pub(crate) struct Decoder {
    ffmpeg: Ffmpeg,
    out: ChildStdout,
    frame_bytes: usize,
}

impl Decoder {
    /// Starts decoding `video`; ffmpeg's messages go to `log`.
    pub fn start(
        video: &Path,
        width: usize,
        height: usize,
        log: PathBuf,
    ) -> Result<Decoder, AnonymiseError> {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-nostdin", "-v", "error", "-i"])
            .arg(video)
            .args(["-map", "0:v:0", "-vf"])
            .arg(format!("scale={width}:{height}:flags=bicubic"))
            .args(["-pix_fmt", "rgb24", "-f", "rawvideo", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut ffmpeg = Ffmpeg::spawn("decoding the original", cmd, log)?;
        let out = ffmpeg
            .child
            .stdout
            .take()
            .ok_or_else(|| tool("ffmpeg", std::io::Error::other("no stdout pipe")))?;
        Ok(Decoder {
            ffmpeg,
            out,
            frame_bytes: width * height * 3,
        })
    }

    /// The next frame into `buf`; `false` at the end of the video.
    pub fn next(&mut self, buf: &mut Vec<u8>) -> Result<bool, AnonymiseError> {
        buf.resize(self.frame_bytes, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match self.out.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => {
                    return Err(AnonymiseError::Ffmpeg {
                        what: "decoding the original",
                        why: "the last frame was cut short".into(),
                    });
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(tool("ffmpeg", e)),
            }
        }
        Ok(true)
    }

    /// Waits for the decoder's exit.
    pub fn finish(self) -> Result<(), AnonymiseError> {
        drop(self.out);
        self.ffmpeg.finish()
    }
}

/// The derivative being encoded: H.264 frames from the pipe, AAC sound from the original.
pub(crate) struct Encoder {
    ffmpeg: Ffmpeg,
    input: Option<ChildStdin>,
}

/// What the encoder makes, and from what.
pub(crate) struct EncodeSpec<'a> {
    /// The original (for its sound).
    pub original: &'a Path,
    /// The derivative to write (MP4).
    pub output: &'a Path,
    /// Frame size.
    pub size: (usize, usize),
    /// Frame rate.
    pub rate: (u32, u32),
    /// The audio filter (`None`: no sound in the original).
    pub audio_filter: Option<String>,
}

impl Encoder {
    /// Starts the encoder; ffmpeg's messages go to `log`.
    pub fn start(spec: &EncodeSpec<'_>, log: PathBuf) -> Result<Encoder, AnonymiseError> {
        let (w, h) = spec.size;
        let mut cmd = Command::new("ffmpeg");
        cmd.args([
            "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        ])
        .args([
            "-s",
            &format!("{w}x{h}"),
            "-r",
            &format!("{}/{}", spec.rate.0, spec.rate.1),
        ])
        .args(["-i", "-"]);
        if let Some(filter) = &spec.audio_filter {
            cmd.arg("-i").arg(spec.original);
            cmd.args(["-map", "0:v", "-map", "1:a:0", "-af", filter]);
            cmd.args(["-c:a", "aac", "-b:a", "128k"]);
        } else {
            cmd.args(["-map", "0:v"]);
        }
        cmd.args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"])
            .args([
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
                "-y",
            ])
            .arg(spec.output)
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let mut ffmpeg = Ffmpeg::spawn("encoding the derivative", cmd, log)?;
        let input = ffmpeg.child.stdin.take();
        Ok(Encoder { ffmpeg, input })
    }

    /// Hands one frame to the encoder.
    pub fn write(&mut self, rgb: &[u8]) -> Result<(), AnonymiseError> {
        let Some(input) = self.input.as_mut() else {
            return Err(tool(
                "ffmpeg",
                std::io::Error::other("the encoder's pipe is closed"),
            ));
        };
        input.write_all(rgb).map_err(|_| AnonymiseError::Ffmpeg {
            what: "encoding the derivative",
            why: "the encoder stopped taking frames (see the reason below, if any)".into(),
        })
    }

    /// Closes the pipe and waits for the encoder to write the file.
    pub fn finish(mut self) -> Result<(), AnonymiseError> {
        drop(self.input.take());
        self.ffmpeg.finish()
    }
}

/// A PNG written by ffmpeg from one raw RGB picture.
pub(crate) fn write_png(
    rgb: &[u8],
    width: usize,
    height: usize,
    output: &Path,
    log: PathBuf,
) -> Result<(), AnonymiseError> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
    ])
    .args([
        "-s",
        &format!("{width}x{height}"),
        "-i",
        "-",
        "-frames:v",
        "1",
    ])
    .args(["-f", "image2", "-c:v", "png", "-y"])
    .arg(output)
    .stdin(Stdio::piped())
    .stdout(Stdio::null());
    let mut ffmpeg = Ffmpeg::spawn("writing the contact sheet", cmd, log)?;
    if let Some(mut input) = ffmpeg.child.stdin.take() {
        input.write_all(rgb).map_err(|e| tool("ffmpeg", e))?;
    }
    ffmpeg.finish()
}

fn tool(name: &'static str, e: std::io::Error) -> AnonymiseError {
    AnonymiseError::Tool { name, source: e }
}
