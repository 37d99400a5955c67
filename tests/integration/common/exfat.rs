//! Real exFAT images made by `mkfs.exfat` (exfatprogs) and filled through `exfat-fuse`
//! on a loop device (it mounts block devices only), read back the same way, checked by
//! `fsck.exfat -n`. Root only: loop devices and FUSE mounts.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{CameraSpec, require_tool};

/// What `build_exfat_image` may change.
#[derive(Debug, Clone, Default)]
pub struct ExfatOptions {
    /// Image size; `None`: the content twice plus 32 MiB.
    pub size_mib: Option<u64>,
    /// Cluster size in KiB (`mkfs.exfat -c`); `None`: mkfs's default.
    pub cluster_kib: Option<u64>,
    /// Fill the volume with small files and delete every other one before the copy, so
    /// that the camera's files land in the holes, fragmented and FAT-chained.
    pub fragment: bool,
}

/// A loop device with the image's exFAT volume mounted by exfat-fuse; unmounted on drop.
pub struct Mounted {
    pub dir: PathBuf,
    device: String,
}

impl Mounted {
    /// Mounts `image` at a fresh folder beside it.
    pub fn new(image: &Path) -> Mounted {
        require_tool("mount.exfat-fuse");
        require_tool("losetup");
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(image)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let device = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let dir = image.with_extension("mnt");
        fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount.exfat-fuse")
            .arg(&device)
            .arg(&dir)
            .output()
            .unwrap();
        if !out.status.success() {
            let _ = Command::new("losetup").args(["-d", &device]).status();
            panic!("mount.exfat-fuse: {}", String::from_utf8_lossy(&out.stderr));
        }
        Mounted { dir, device }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("sync").status();
        let out = Command::new("umount").arg(&self.dir).output();
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("umount {}: {out:?}", self.dir.display());
        }
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
        let _ = fs::remove_dir(&self.dir);
    }
}

/// `dir/camera-<serial>.exfat.img`, replaced if it exists, with every file of `spec`.
pub fn build_exfat_image(spec: &CameraSpec, dir: &Path, options: &ExfatOptions) -> PathBuf {
    require_tool("mkfs.exfat");
    let files = spec.files();
    let content: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    let size = options.size_mib.unwrap_or(content * 2 / (1 << 20) + 32);
    let image = dir.join(format!(
        "camera-{}.exfat.img",
        spec.serial.replace(['/', ' '], "_")
    ));
    let _ = fs::remove_file(&image);
    fs::File::create(&image)
        .unwrap()
        .set_len(size << 20)
        .unwrap();
    let mut mkfs = Command::new("mkfs.exfat");
    if !spec.label.is_empty() {
        mkfs.args(["-L", &spec.label]);
    }
    if let Some(kib) = options.cluster_kib {
        mkfs.args(["-c", &format!("{kib}K")]);
    }
    let out = mkfs.arg(&image).output().unwrap();
    assert!(
        out.status.success(),
        "mkfs.exfat: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mounted = Mounted::new(&image);
    if options.fragment {
        fragment(&mounted.dir, content);
    }
    for (path, bytes) in &files {
        let target = path.split('/').fold(mounted.dir.clone(), |p, c| p.join(c));
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, bytes).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    }
    if options.fragment {
        fs::remove_dir_all(mounted.dir.join("FILL")).unwrap();
    }
    drop(mounted);
    image
}

/// Small files over about the content's size, every other one deleted: holes to fill.
fn fragment(root: &Path, content: u64) {
    let fill = root.join("FILL");
    fs::create_dir_all(&fill).unwrap();
    let piece = 96 * 1024;
    let count = (content / piece + 16).min(4000);
    for i in 0..count {
        fs::write(fill.join(format!("F{i:05}")), vec![0xA5u8; piece as usize]).unwrap();
    }
    for i in (0..count).step_by(2) {
        fs::remove_file(fill.join(format!("F{i:05}"))).unwrap();
    }
}

/// Every file on the volume, `/`-separated, sorted.
pub fn list_exfat_image(image: &Path) -> Vec<String> {
    let mounted = Mounted::new(image);
    let mut out = Vec::new();
    walk(&mounted.dir, &mounted.dir, &mut out);
    out.sort();
    out
}

/// One file's bytes, `None` when it does not exist.
pub fn read_exfat_file(image: &Path, path: &str) -> Option<Vec<u8>> {
    let mounted = Mounted::new(image);
    fs::read(path.split('/').fold(mounted.dir.clone(), |p, c| p.join(c))).ok()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// Free bytes of the volume as exfat-fuse counts them (from the allocation bitmap).
pub fn free_bytes(image: &Path) -> u64 {
    let mounted = Mounted::new(image);
    let path = std::ffi::CString::new(mounted.dir.to_str().unwrap()).unwrap();
    // SAFETY: `path` is a NUL-terminated string and `st` a properly sized out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; statvfs only writes into `st`.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    assert_eq!(rc, 0, "statvfs {}", mounted.dir.display());
    st.f_bfree * st.f_frsize
}

/// Bytes of one cluster of the image's volume.
pub fn cluster_bytes(image: &Path) -> u64 {
    let raw = RawExfat::read(image);
    1 << raw.cluster_shift
}

/// `fsck.exfat -n`: (clean, its report).
pub fn fsck_exfat(image: &Path) -> (bool, String) {
    require_tool("fsck.exfat");
    let out = Command::new("fsck.exfat")
        .arg("-n")
        .arg(image)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// Raw access to an image's exFAT structures, for the tests that damage one on purpose.
pub struct RawExfat {
    pub bytes: Vec<u8>,
    cluster_shift: u32,
    heap: u64,
}

impl RawExfat {
    /// Reads a superfloppy image.
    pub fn read(image: &Path) -> RawExfat {
        let bytes = fs::read(image).unwrap();
        let shift = u32::from(bytes[108]);
        let cluster_shift = shift + u32::from(bytes[109]);
        let heap = u64::from(u32::from_le_bytes(bytes[88..92].try_into().unwrap())) << shift;
        RawExfat {
            bytes,
            cluster_shift,
            heap,
        }
    }

    /// Byte offset of a cluster.
    pub fn cluster_offset(&self, cluster: u32) -> usize {
        (self.heap + (u64::from(cluster - 2) << self.cluster_shift)) as usize
    }

    /// The offset of the in-use File entry whose name is `name`.
    pub fn file_entry(&self, name: &str) -> usize {
        let units: Vec<u8> = name
            .encode_utf16()
            .take(15)
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let mut at = 0;
        while let Some(pos) = find(&self.bytes[at..], &units) {
            let hit = at + pos;
            // A name entry's name starts at byte 2; the File entry is two entries before.
            if hit % 32 == 2
                && hit >= 66
                && self.bytes[hit - 2] == 0xC1
                && self.bytes[hit - 66] == 0x85
            {
                return hit - 66;
            }
            at = hit + 1;
        }
        panic!("no in-use File entry named {name:?} in the image");
    }

    /// First cluster of the file whose File entry is at `entry`.
    pub fn first_cluster(&self, entry: usize) -> u32 {
        u32::from_le_bytes(self.bytes[entry + 52..entry + 56].try_into().unwrap())
    }

    /// Offset of the allocation bitmap (from the root directory's bitmap entry).
    pub fn bitmap_offset(&self) -> usize {
        let root = u32::from_le_bytes(self.bytes[96..100].try_into().unwrap());
        let dir = self.cluster_offset(root);
        let entry = (0..64)
            .map(|i| dir + 32 * i)
            .find(|&e| self.bytes[e] == 0x81)
            .unwrap();
        self.cluster_offset(u32::from_le_bytes(
            self.bytes[entry + 20..entry + 24].try_into().unwrap(),
        ))
    }

    /// Writes the bytes back.
    pub fn write(&self, image: &Path) {
        fs::write(image, &self.bytes).unwrap();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
