//! A file's bytes: its clusters read in runs of up to 1 MiB; bytes past ValidDataLength
//! were never written by the camera, are not evidence, and read as zero.

use std::io::{self, Read};

use super::device::{Device, Run};
use super::entries::FileSet;
use crate::camera::volume::{VolumeError, VolumePath};

const CHUNK: u64 = 1 << 20;

/// The clusters holding a file's DataLength bytes; a broken chain is `ExfatCorrupt`.
pub(crate) fn file_runs(
    dev: &mut Device,
    set: &FileSet,
    shown: &VolumePath,
) -> Result<Vec<Run>, VolumeError> {
    let extent = set.extent;
    let clusters = extent.data_length.div_ceil(dev.boot.cluster_bytes());
    if clusters == 0 {
        return Ok(Vec::new());
    }
    let limit = u64::from(dev.boot.cluster_count);
    // Following a chain reads 4 bytes of FAT per cluster: give it that on top.
    dev.guard.rebudget(clusters * 4 + (1 << 20));
    let runs = dev.run(
        || format!("following {shown}'s clusters"),
        |d| d.runs(extent.first, Some(clusters), extent.contiguous, limit),
    )?;
    runs.map_err(|fault| {
        dev.corrupt(
            format!("{shown}'s clusters"),
            format!("{}: {}", fault.code, fault.detail),
        )
    })
}

/// Streams one file.
pub(crate) struct ExfatReader<'a> {
    dev: &'a mut Device,
    runs: Vec<Run>,
    size: u64,
    valid: u64,
    pos: u64,
    shown: VolumePath,
}

impl<'a> ExfatReader<'a> {
    /// A reader of `set`'s bytes; the caller arms the guard with `budget`.
    pub(crate) fn new(
        dev: &'a mut Device,
        set: &FileSet,
        shown: &VolumePath,
    ) -> Result<Self, VolumeError> {
        let runs = file_runs(dev, set, shown)?;
        Ok(ExfatReader {
            dev,
            runs,
            size: set.extent.data_length,
            valid: set.valid_length.min(set.extent.data_length),
            pos: 0,
            shown: shown.clone(),
        })
    }

    /// Bytes this reader may read from the device: the valid bytes and slack.
    pub(crate) fn budget(&self) -> u64 {
        self.valid + CHUNK
    }

    /// Arms the guard for streaming the file: its bytes bound it, not a deadline.
    pub(crate) fn arm_streaming(&self) {
        self.dev.guard.arm(self.budget(), None);
    }

    /// The volume offset of file byte `pos` and how many bytes follow it in its run.
    fn locate(&self, pos: u64) -> Option<(u64, u64)> {
        let cluster = self.dev.boot.cluster_bytes();
        let mut skipped = 0u64;
        for run in &self.runs {
            let len = u64::from(run.count) * cluster;
            if pos < skipped + len {
                let within = pos - skipped;
                return Some((
                    self.dev.boot.cluster_offset(run.first) + within,
                    len - within,
                ));
            }
            skipped += len;
        }
        None
    }
}

impl Read for ExfatReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let mut n = (buf.len() as u64).min(self.size - self.pos).min(CHUNK);
        if self.pos >= self.valid {
            buf[..n as usize].fill(0);
            self.pos += n;
            return Ok(n as usize);
        }
        n = n.min(self.valid - self.pos);
        let Some((at, in_run)) = self.locate(self.pos) else {
            return Err(io::Error::other(self.dev.corrupt(
                format!("reading {}", self.shown),
                "its clusters end before its size".into(),
            )));
        };
        n = n.min(in_run);
        let shown = &self.shown;
        let out = &mut buf[..n as usize];
        self.dev
            .run(|| format!("reading {shown}"), |d| d.read_at(at, out))
            .map_err(io::Error::other)?;
        self.pos += n;
        Ok(n as usize)
    }
}

/// A whole file, refused when larger than `max`.
pub(crate) fn read_all(
    dev: &mut Device,
    set: &FileSet,
    shown: &VolumePath,
    max: u64,
) -> Result<Vec<u8>, VolumeError> {
    let size = set.extent.data_length;
    if size > max {
        return Err(VolumeError::TooLarge {
            path: dev.source.clone(),
            file: shown.to_string(),
            size,
            max,
        });
    }
    let mut reader = ExfatReader::new(dev, set, shown)?;
    reader.dev.guard.rebudget(reader.budget());
    let mut bytes = Vec::with_capacity(size as usize);
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| match e.downcast::<VolumeError>() {
            Ok(v) => v,
            Err(e) => VolumeError::Io {
                path: reader.dev.source.clone(),
                what: format!("reading {shown}"),
                source: e,
            },
        })?;
    Ok(bytes)
}
