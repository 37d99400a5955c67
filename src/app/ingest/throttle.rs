//! A slowed-down camera for tests, demos and benchmarks (`[simulate]`): a `Read` wrapper
//! that serves a video at a USB 2.0 camera's pace, so a camera can be pulled mid-copy.
//!
//! It waits in slices of at most 50 ms and checks the ingest's cancel token between them:
//! a slow camera must stay as quick to cancel as a real one.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::base::config::SimulateConfig;

use super::progress::Cancel;

/// The largest request a USB mass-storage camera serves at once, as modelled here.
const REQUEST_BYTES: usize = 64 * 1024;
/// The longest single sleep, so that a cancel is noticed promptly.
const SLICE: Duration = Duration::from_millis(50);

/// How slowly a simulated camera reads; built from `[simulate]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadThrottle {
    /// Bytes per second; 0: no rate limit.
    pub bytes_per_sec: u64,
    /// Wait before each request's bytes come (a USB command's round trip).
    pub latency: Duration,
}

impl ReadThrottle {
    /// The throttle `[simulate]` asks for, or `None` when both settings are 0 (off).
    pub fn from_config(simulate: &SimulateConfig) -> Option<ReadThrottle> {
        let throttle = ReadThrottle {
            bytes_per_sec: simulate.read_bytes_per_sec.0,
            latency: Duration::from_millis(u64::from(simulate.read_latency_ms)),
        };
        (throttle.bytes_per_sec > 0 || !throttle.latency.is_zero()).then_some(throttle)
    }
}

/// A reader that obeys a [`ReadThrottle`] and fails as soon as its ingest is cancelled.
pub(crate) struct Throttled<R> {
    inner: R,
    throttle: ReadThrottle,
    cancel: Cancel,
    started: Instant,
    /// Time owed for latency so far, on top of the byte rate's schedule.
    latency_owed: Duration,
    bytes: u64,
}

impl<R: Read> Throttled<R> {
    pub(crate) fn new(inner: R, throttle: ReadThrottle, cancel: Cancel) -> Throttled<R> {
        Throttled {
            inner,
            throttle,
            cancel,
            started: Instant::now(),
            latency_owed: Duration::ZERO,
            bytes: 0,
        }
    }

    /// Sleeps until `until`, in slices; fails when the ingest is cancelled meanwhile.
    fn wait_until(&self, until: Instant) -> io::Result<()> {
        loop {
            self.check_cancel()?;
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            std::thread::sleep((until - now).min(SLICE));
        }
    }

    fn check_cancel(&self) -> io::Result<()> {
        if self.cancel.is_cancelled() {
            // Not `Interrupted`: that kind is retried by readers, this must stop them.
            Err(io::Error::other("the ingest was cancelled"))
        } else {
            Ok(())
        }
    }

    /// When the bytes read so far, and the requests' latencies, are due.
    fn schedule(&self) -> Instant {
        let rate = match self.throttle.bytes_per_sec {
            0 => Duration::ZERO,
            r => Duration::from_secs_f64(self.bytes as f64 / r as f64),
        };
        self.started + rate + self.latency_owed
    }
}

impl<R: Read> Read for Throttled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check_cancel()?;
        let mut request = buf.len().min(REQUEST_BYTES);
        if self.throttle.bytes_per_sec > 0 {
            // At most a twentieth of a second's bytes at once keeps the pace smooth.
            let per_slice = (self.throttle.bytes_per_sec / 20).max(512);
            request = request.min(usize::try_from(per_slice).unwrap_or(usize::MAX));
        }
        self.latency_owed += self.throttle.latency;
        self.wait_until(self.started + self.latency_owed)?;
        let n = self.inner.read(&mut buf[..request])?;
        self.bytes += n as u64;
        self.wait_until(self.schedule())?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::config::ByteSize;

    fn read_all(reader: &mut impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn zero_settings_mean_no_throttle() {
        assert_eq!(ReadThrottle::from_config(&SimulateConfig::default()), None);
        let on = SimulateConfig {
            read_bytes_per_sec: ByteSize(1000),
            read_latency_ms: 0,
        };
        assert!(ReadThrottle::from_config(&on).is_some());
    }

    #[test]
    fn bytes_come_at_the_configured_rate_and_unchanged() {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let throttle = ReadThrottle {
            bytes_per_sec: 100_000,
            latency: Duration::ZERO,
        };
        let start = Instant::now();
        let mut r = Throttled::new(&data[..], throttle, Cancel::new());
        assert_eq!(read_all(&mut r).unwrap(), data);
        let took = start.elapsed();
        // 40 kB at 100 kB/s: 0.4 s, give or take the scheduler.
        assert!(took >= Duration::from_millis(380), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn each_request_pays_the_latency() {
        let data = vec![7u8; 3 * REQUEST_BYTES];
        let throttle = ReadThrottle {
            bytes_per_sec: 0,
            latency: Duration::from_millis(40),
        };
        let start = Instant::now();
        let mut r = Throttled::new(&data[..], throttle, Cancel::new());
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        for _ in 0..3 {
            total += r.read(&mut buf).unwrap();
        }
        assert_eq!(total, data.len(), "requests are capped at 64 KiB");
        assert!(start.elapsed() >= Duration::from_millis(120));
    }

    #[test]
    fn a_cancel_stops_a_slow_read_promptly() {
        let data = vec![0u8; 1 << 20];
        let throttle = ReadThrottle {
            bytes_per_sec: 10_000, // 100 s for the whole buffer
            latency: Duration::ZERO,
        };
        let cancel = Cancel::new();
        let mut r = Throttled::new(&data[..], throttle, cancel.clone());
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        });
        let start = Instant::now();
        let err = read_all(&mut r).unwrap_err();
        canceller.join().unwrap();
        assert!(err.to_string().contains("cancelled"), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }
}
