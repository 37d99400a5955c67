//! What reading one recording needs beside the camera, and the two reads every stage of a
//! recording's way shares: its video streamed from the camera (hashed and walked on the
//! way, into a sink when one is given) and the rules' verdict on what was read.

use crate::base::error::Chain;
use crate::camera::evidence::name::FileKind;
use crate::camera::volume::{Volume, VolumeFile};

use super::checks::{self, Verdict, VideoFacts};
use super::clock_check::ClockCheck;
use super::discover::{Candidate, SidecarRead};
use super::docking::Docking;
use super::{copy, faults, throttle};

/// What reading one recording needs beside the camera: the docking, its clock check (filled
/// as recordings are read), and the volume's damage (which quarantines every recording).
pub(super) struct Reader<'a> {
    /// The docking.
    pub docking: &'a Docking<'a>,
    /// The clock check of this docking.
    pub clocks: &'a ClockCheck,
    /// What the ownership map found wrong with the volume, on one line; empty when sound.
    pub volume_damage: &'a str,
}

impl Reader<'_> {
    /// Streams a video from the camera, hashed and walked, into `sink` when there is one.
    pub(super) fn stream_video(
        &self,
        volume: &mut dyn Volume,
        video: &VolumeFile,
        sink: Option<&mut dyn std::io::Write>,
    ) -> Result<VideoFacts, String> {
        if video.size > self.docking.config.profile.max_video_bytes.0 {
            return Err(format!(
                "the video declares {} bytes, more than profile.max_video_bytes ({})",
                video.size, self.docking.config.profile.max_video_bytes.0
            ));
        }
        let mut reader = volume
            .open_file(&video.path)
            .map_err(|e| format!("opening {} on the camera: {}", video.path, Chain(&e)))?;
        if let Some(throttle) = self.docking.throttle {
            reader = Box::new(throttle::Throttled::new(
                reader,
                throttle,
                self.docking.cancel.clone(),
            ));
        }
        let buffer = self.docking.config.ingest.copy_buffer.0 as usize;
        let watch = copy::Watch {
            cancel: Some(self.docking.cancel),
            progress: self.docking.progress,
        };
        let streamed = match self.docking.read_faults {
            Some(faults) => {
                let reader = faults::FaultyReader {
                    inner: reader,
                    faults,
                    file: video.path.clone(),
                    offset: 0,
                };
                copy::stream(reader, video.size, sink, true, buffer, watch)
            }
            None => copy::stream(reader, video.size, sink, true, buffer, watch),
        };
        let s = streamed.map_err(|e| format!("{}: {}", video.path, Chain(&e)))?;
        Ok(VideoFacts {
            size: s.size,
            digests: s.digests,
            bmff: s.bmff.unwrap_or_default(),
        })
    }

    /// The rules' verdict on a recording as read.
    pub(super) fn judge(
        &self,
        candidate: &Candidate,
        sidecar: &SidecarRead,
        video: Result<&VideoFacts, String>,
    ) -> Verdict {
        let profile = &self.docking.config.profile;
        let video_name = candidate.name.file_name(profile, FileKind::Video);
        let mut verdict = checks::judge(
            profile,
            &checks::Evidence {
                camera_serial: &self.docking.identity.camera.serial,
                identity_conflicts: &self.docking.identity.conflicts,
                name: &candidate.name,
                video_name: &video_name,
                sidecar: sidecar
                    .report
                    .as_ref()
                    .ok_or_else(|| sidecar.missing.clone()),
                video,
            },
        );
        if !self.volume_damage.is_empty() {
            verdict.fail(
                "volume-damaged",
                format_args!(
                    "the camera's volume is damaged, so nothing on it is wiped: {}",
                    self.volume_damage
                ),
            );
        }
        verdict
    }
}
