//! The kernel's md RAID report (`/proc/mdstat`), read for the status and the log.
//!
//! ```text
//! md0 : active raid1 sdb1[1] sda1[0](F)
//!       976630464 blocks super 1.2 [2/1] [U_]
//!       [==>..................]  recovery = 12.6% (123/976) finish=80.1min speed=150000K/sec
//! ```

use std::io;
use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The most of `/proc/mdstat` read; a real one is a few KiB.
const MAX_BYTES: u64 = 1 << 20;

/// One md array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaidArray {
    /// `md0`.
    pub name: String,
    /// `active`, `inactive`, `active (auto-read-only)`.
    pub state: String,
    /// `raid1`, `raid5`... (empty when inactive).
    pub level: String,
    /// Member devices the array should have, when reported.
    pub expected: Option<u32>,
    /// Member devices working, when reported.
    pub working: Option<u32>,
    /// The member map, e.g. `UU_` (`_` is a missing or failed member).
    pub map: String,
    /// Members marked failed `(F)`.
    pub failed: u32,
    /// A rebuild or check in progress, e.g. `recovery 12.6%`.
    pub progress: Option<String>,
    /// Whether the array has lost redundancy (or is not running).
    pub degraded: bool,
}

/// Reads the report at `path`; a missing file means no md arrays (no md driver loaded).
pub fn read(path: &Path) -> io::Result<Vec<RaidArray>> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut text = String::new();
    file.take(MAX_BYTES).read_to_string(&mut text)?;
    Ok(parse(&text))
}

/// Parses the report's text; lines it does not understand are skipped.
pub fn parse(text: &str) -> Vec<RaidArray> {
    let head = Regex::new(r"^(md[A-Za-z0-9_]+)\s*:\s*(.*)$").expect("literal regex");
    let counts = Regex::new(r"\[(\d+)/(\d+)\]\s*\[([U_]+)\]").expect("literal regex");
    let progress = Regex::new(r"(recovery|resync|reshape|check|repair)\s*=\s*([0-9.]+%)")
        .expect("literal regex");
    let mut arrays: Vec<RaidArray> = Vec::new();
    for line in text.lines() {
        if let Some(caps) = head.captures(line) {
            arrays.push(array_head(&caps[1], &caps[2]));
            continue;
        }
        let Some(array) = arrays.last_mut() else {
            continue;
        };
        if !line.starts_with(char::is_whitespace) {
            continue;
        }
        if let Some(c) = counts.captures(line) {
            array.expected = c[1].parse().ok();
            array.working = c[2].parse().ok();
            array.map = c[3].to_string();
        }
        if let Some(p) = progress.captures(line) {
            array.progress = Some(format!("{} {}", &p[1], &p[2]));
        }
    }
    for a in &mut arrays {
        let short = matches!((a.expected, a.working), (Some(e), Some(w)) if w < e);
        a.degraded = short || a.map.contains('_') || a.failed > 0 || a.state == "inactive";
    }
    arrays
}

fn array_head(name: &str, rest: &str) -> RaidArray {
    let mut words = rest.split_whitespace().peekable();
    let mut state = words.next().unwrap_or_default().to_string();
    while let Some(extra) = words.next_if(|w| w.starts_with('(')) {
        state.push(' ');
        state.push_str(extra);
    }
    let level = if state.starts_with("active") {
        words
            .next_if(|w| !w.contains('['))
            .unwrap_or_default()
            .to_string()
    } else {
        String::new()
    };
    let failed = words.filter(|w| w.ends_with("(F)")).count() as u32;
    RaidArray {
        name: name.to_string(),
        state,
        level,
        expected: None,
        working: None,
        map: String::new(),
        failed,
        progress: None,
        degraded: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY: &str = "Personalities : [raid1] [linear]
md0 : active raid1 sdb1[1] sda1[0]
      976630464 blocks super 1.2 [2/2] [UU]
      bitmap: 0/8 pages [0KB], 65536KB chunk

unused devices: <none>
";

    const DEGRADED: &str = "Personalities : [raid1] [raid6] [raid5] [raid4]
md0 : active raid1 sdb1[1] sda1[0]
      976630464 blocks super 1.2 [2/2] [UU]

md1 : active (auto-read-only) raid5 sdd1[3] sdc1[1](F) sdb1[0]
      1953262592 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [U_U]
      [==>..................]  recovery = 12.6% (123/976) finish=80.1min speed=150000K/sec

md2 : inactive sde1[0](S)
      976630464 blocks super 1.2

unused devices: <none>
";

    #[test]
    fn a_healthy_mirror_is_not_degraded() {
        let arrays = parse(HEALTHY);
        assert_eq!(arrays.len(), 1);
        let md0 = &arrays[0];
        assert_eq!(md0.name, "md0");
        assert_eq!(md0.level, "raid1");
        assert_eq!((md0.expected, md0.working), (Some(2), Some(2)));
        assert_eq!(md0.map, "UU");
        assert!(!md0.degraded);
    }

    #[test]
    fn missing_failed_and_inactive_arrays_are_degraded() {
        let arrays = parse(DEGRADED);
        assert_eq!(arrays.len(), 3);
        assert!(!arrays[0].degraded);
        let md1 = &arrays[1];
        assert_eq!(md1.state, "active (auto-read-only)");
        assert_eq!(md1.level, "raid5");
        assert_eq!(md1.failed, 1);
        assert_eq!(md1.map, "U_U");
        assert_eq!(md1.progress.as_deref(), Some("recovery 12.6%"));
        assert!(md1.degraded);
        assert_eq!(arrays[2].state, "inactive");
        assert!(arrays[2].degraded);
    }

    #[test]
    fn no_arrays_and_no_file_mean_nothing_to_show() {
        assert!(parse("Personalities : \nunused devices: <none>\n").is_empty());
        assert!(read(Path::new("/nonexistent/mdstat")).unwrap().is_empty());
    }
}
