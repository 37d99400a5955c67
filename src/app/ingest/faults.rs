//! Faults injected into the reads from the camera, for tests and harnesses: a hook called
//! before every read can fail it (a bad sector, a pulled cable) or act on the real source
//! first (truncate the image, fill the store) so that the real code meets the real condition.

use std::io::{self, Read};

use crate::camera::volume::VolumePath;

/// Called by the ingest before each read from the camera.
pub trait ReadFaults: Send + Sync {
    /// Before reading `file` at `offset` bytes into it; an `Err` is what the read returns.
    fn before_read(&self, file: &VolumePath, offset: u64) -> io::Result<()>;
}

/// A camera reader that asks the hook before each read.
pub(super) struct FaultyReader<'a, R> {
    pub(super) inner: R,
    pub(super) faults: &'a dyn ReadFaults,
    pub(super) file: VolumePath,
    pub(super) offset: u64,
}

impl<R: Read> Read for FaultyReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.faults.before_read(&self.file, self.offset)?;
        let n = self.inner.read(buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}
