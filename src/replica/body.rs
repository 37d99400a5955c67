//! The upload body: a stored file streamed in chunks under the bandwidth cap, through a
//! fault hook for the tests (a byte flipped on the way, which the server must refuse).

use std::fs::File;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Bytes read from the file per chunk.
const CHUNK: usize = 1 << 20;

/// Called on every chunk sent to the replica, for tests and harnesses.
pub trait UploadFaults: Send + Sync {
    /// May change `chunk`, which starts `offset` bytes into the object `key`.
    fn on_chunk(&self, key: &str, offset: u64, chunk: &mut [u8]);
}

/// A file (or bytes in memory) as an HTTP body.
pub(super) struct UploadBody {
    source: Source,
    key: String,
    /// Where the body starts in the object (a part's offset), for the fault hook.
    start: u64,
    offset: u64,
    length: u64,
    cap: Option<u64>,
    started: Instant,
    faults: Option<Arc<dyn UploadFaults>>,
}

enum Source {
    File(File),
    Memory(Bytes),
}

impl UploadBody {
    /// `length` bytes of `file`, sent at most `cap` bytes per second.
    pub(super) fn file(
        file: File,
        length: u64,
        key: &str,
        cap: Option<u64>,
        faults: Option<Arc<dyn UploadFaults>>,
    ) -> UploadBody {
        UploadBody {
            source: Source::File(file),
            key: key.to_string(),
            start: 0,
            offset: 0,
            length,
            cap,
            started: Instant::now(),
            faults,
        }
    }

    /// Bytes in memory (a manifest, an anchor).
    pub(super) fn memory(
        bytes: Vec<u8>,
        key: &str,
        faults: Option<Arc<dyn UploadFaults>>,
    ) -> UploadBody {
        UploadBody {
            length: bytes.len() as u64,
            source: Source::Memory(Bytes::from(bytes)),
            key: key.to_string(),
            start: 0,
            offset: 0,
            cap: None,
            started: Instant::now(),
            faults,
        }
    }

    /// The same body, its bytes being the object's from `start` (a part).
    pub(super) fn starting_at(mut self, start: u64) -> UploadBody {
        self.start = start;
        self
    }

    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let left = self.length - self.offset;
        if left == 0 {
            return Ok(None);
        }
        // Under a cap, chunks of about an eighth of a second's bytes keep the pace smooth.
        let chunk = match self.cap {
            Some(cap) if cap > 0 => usize::try_from(cap / 8).unwrap_or(CHUNK).clamp(4096, CHUNK),
            _ => CHUNK,
        };
        let want = usize::try_from(left).unwrap_or(chunk).min(chunk);
        let chunk = match &mut self.source {
            Source::Memory(bytes) => bytes.split_to(want.min(bytes.len())).to_vec(),
            Source::File(file) => {
                let mut buf = vec![0; want];
                let mut filled = 0;
                while filled < want {
                    let n = file.read(&mut buf[filled..])?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                buf
            }
        };
        if chunk.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the stored file ended at {} bytes, the register says {}",
                    self.offset, self.length
                ),
            ));
        }
        Ok(Some(chunk))
    }

    /// The cap: a chunk of `len` bytes waits until the bytes sent with it fit the allowed
    /// rate. The uploader runs on its own thread and runtime, so this sleep holds up
    /// nothing else.
    fn pace(&self, len: usize) {
        let Some(cap) = self.cap.filter(|c| *c > 0) else {
            return;
        };
        let due = Duration::from_secs_f64((self.offset + len as u64) as f64 / cap as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

impl Body for UploadBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.next_chunk() {
            Ok(None) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
            Ok(Some(mut chunk)) => {
                self.pace(chunk.len());
                if let Some(faults) = &self.faults {
                    faults.on_chunk(&self.key, self.start + self.offset, &mut chunk);
                }
                self.offset += chunk.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.offset >= self.length
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.length - self.offset)
    }
}
