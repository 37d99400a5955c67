//! The camera the crash harness ingests: the fixture camera's recordings plus one large
//! generated recording, as a real FAT image (mkfs.vfat + mtools) or a mounted-like folder,
//! and what is left on it after each run (read with mtools, not the project's FAT code).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

/// The fixture camera the one-shot mode ingests; the large recording is filed under it too.
pub const SERIAL: &str = "SNTL-00042";
/// The second fixture camera, docked beside the first in the daemon mode.
pub const SERIAL_2: &str = "SNTL-00007";

/// What the harness knows about one file of a recording: what its stored copy must hold.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Path on the volume, e.g. `DCIM/20180312/X.MP4`.
    pub volume_path: String,
    /// The file name, e.g. `X.MP4`.
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub blake3: String,
}

/// One recording: its stem, video and sidecar.
#[derive(Debug, Clone)]
pub struct RecordingSpec {
    pub stem: String,
    pub video: FileSpec,
    pub sidecar: FileSpec,
}

/// Where a camera's pristine content lives, and what it holds.
pub struct Camera {
    /// The folder laid out as the volume (also the directory source's pristine copy).
    pub folder: PathBuf,
    /// The FAT image built from `folder`.
    pub image: PathBuf,
    /// The exFAT image built from `folder` (mkfs.exfat + exfat-fuse), when asked for.
    pub exfat_image: Option<PathBuf>,
    pub recordings: Vec<RecordingSpec>,
}

/// How a cycle presents the camera to the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A FAT32 disk image, read and wiped in user space.
    FatImage,
    /// A folder where the volume is "mounted".
    Directory,
    /// An exFAT disk image, read and wiped in user space (listed through exfat-fuse: root).
    ExfatImage,
}

/// Builds the pristine camera `serial` under `dir`: its fixture recordings plus a
/// `big_mib` MiB one (`dir/camera` and `dir/camera.img` for the first camera, suffixed by
/// the serial for the others).
pub fn build(
    fixtures: &Path,
    dir: &Path,
    serial: &str,
    big_mib: u64,
    seed: u64,
    exfat: bool,
) -> Result<Camera, String> {
    let suffix = if serial == SERIAL {
        String::new()
    } else {
        format!("-{serial}")
    };
    let folder = dir.join(format!("camera{suffix}"));
    let _ = fs::remove_dir_all(&folder);
    let fixture = fixtures.join("cameras").join(serial);
    copy_tree(&fixture, &folder).map_err(|e| format!("copying {}: {e}", fixture.display()))?;
    let firmware = firmware_of(&folder.join("DEVICE.INI"))?;
    let big = BigRecording {
        serial,
        firmware: &firmware,
        stem: format!("{serial}_20180315_120000_0005"),
        payload: big_mib << 20,
    };
    let day = folder.join("DCIM/20180315");
    fs::create_dir_all(&day).map_err(|e| e.to_string())?;
    write_big_recording(&day, &big, seed)
        .map_err(|e| format!("writing the large recording: {e}"))?;
    let recordings = recordings_in(&folder).map_err(|e| format!("listing the camera: {e}"))?;
    let image = dir.join(format!("camera{suffix}.img"));
    build_image(&folder, &image, big_mib)?;
    let exfat_image = if exfat {
        let path = dir.join(format!("camera{suffix}.exfat.img"));
        exfat::build(&folder, &path, big_mib)?;
        Some(path)
    } else {
        None
    };
    Ok(Camera {
        folder,
        image,
        exfat_image,
        recordings,
    })
}

/// The firmware `DEVICE.INI` names, which the sidecars must name too.
fn firmware_of(ini: &Path) -> Result<String, String> {
    let text = fs::read_to_string(ini).map_err(|e| format!("{}: {e}", ini.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("firmware="))
        .map(|f| f.trim().to_string())
        .ok_or(format!("{} names no firmware", ini.display()))
}

/// A fresh copy of the camera for one cycle, as the given kind of source.
pub fn place(camera: &Camera, kind: SourceKind, cell: &Path) -> Result<PathBuf, String> {
    let name = |path: &Path| path.file_name().map(PathBuf::from).unwrap_or_default();
    match kind {
        SourceKind::FatImage => {
            let to = cell.join(name(&camera.image));
            fs::copy(&camera.image, &to).map_err(|e| format!("copying the image: {e}"))?;
            Ok(to)
        }
        SourceKind::Directory => {
            let to = cell.join(name(&camera.folder));
            copy_tree(&camera.folder, &to).map_err(|e| format!("copying the folder: {e}"))?;
            Ok(to)
        }
        SourceKind::ExfatImage => {
            let from = camera
                .exfat_image
                .as_ref()
                .ok_or("the camera was built without its exFAT image")?;
            let to = cell.join(name(from));
            fs::copy(from, &to).map_err(|e| format!("copying the exFAT image: {e}"))?;
            Ok(to)
        }
    }
}

/// Which of the camera's files (volume paths) the source still holds.
pub fn present(source: &Path, kind: SourceKind) -> Result<Vec<String>, String> {
    match kind {
        SourceKind::Directory => {
            let mut out = Vec::new();
            list_tree(source, Path::new(""), &mut out).map_err(|e| e.to_string())?;
            out.sort();
            Ok(out)
        }
        SourceKind::ExfatImage => exfat::with_mounted(source, true, |root| {
            let mut out = Vec::new();
            list_tree(root, Path::new(""), &mut out).map_err(|e| e.to_string())?;
            out.sort();
            Ok(out)
        }),
        SourceKind::FatImage => {
            let out = mtools("mdir")
                .args(["-/", "-a", "-b", "-i"])
                .arg(source)
                .arg("::")
                .output()
                .map_err(|e| format!("running mdir: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "mdir cannot list the camera image: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let mut paths: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.ends_with('/'))
                .map(|l| l.strip_prefix("::/").unwrap_or(l).to_string())
                .collect();
            paths.sort();
            Ok(paths)
        }
    }
}

/// The generated recording of a camera.
struct BigRecording<'a> {
    serial: &'a str,
    firmware: &'a str,
    stem: String,
    /// Bytes of its `mdat` payload.
    payload: u64,
}

/// An ISO BMFF file that the profile's checks accept: `ftyp`, a 64-bit `mdat` of seeded
/// pseudo-random bytes, and a `moov` whose `mvhd` lasts 60 s; and its sidecar, whose
/// header and trailer declare that duration, the size and the SHA-256.
fn write_big_recording(day: &Path, big: &BigRecording<'_>, seed: u64) -> std::io::Result<()> {
    let (stem, payload) = (&big.stem, big.payload);
    let mut sha = Sha256::new();
    let mut file = std::io::BufWriter::new(fs::File::create(day.join(format!("{stem}.MP4")))?);
    let mut put = |bytes: &[u8]| -> std::io::Result<()> {
        sha.update(bytes);
        file.write_all(bytes)
    };
    put(&bmff_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41"))?;
    let mut mdat = 1u32.to_be_bytes().to_vec();
    mdat.extend_from_slice(b"mdat");
    mdat.extend_from_slice(&(16 + payload).to_be_bytes());
    put(&mdat)?;
    // The first camera's bytes are what they always were for a seed; others differ.
    let mut state = seed ^ 0x5EED_CAFE ^ (big.serial != SERIAL) as u64;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = payload;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            word.copy_from_slice(&splitmix(&mut state).to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        put(&chunk[..n])?;
        left -= n as u64;
    }
    let mut mvhd = vec![0u8; 4 + 16 + 80];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd[16..20].copy_from_slice(&60_000u32.to_be_bytes()); // duration: 60 s
    let moov = bmff_box(b"moov", &bmff_box(b"mvhd", &mvhd));
    put(&moov)?;
    file.flush()?;
    let size = 8 + 20 + 16 + payload + moov.len() as u64;
    let sha: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let lines = [
        format!(
            "PSNTL,HDR,1,{},{},{stem}.MP4,2018-03-15T12:00:00Z,10",
            big.serial, big.firmware
        ),
        // One fix, whose satellite date agrees with the camera's clock: a recording of 2018
        // without any would have its camera date doubted when docked years later.
        "GPRMC,120000.00,A,4502.4300,N,00503.0720,E,0.0,0.0,150318,,,A".to_string(),
        format!("PSNTL,END,2018-03-15T12:01:00Z,{size},{sha}"),
    ];
    let text: String = lines
        .iter()
        .map(|body| {
            let sum = body.bytes().fold(0u8, |a, b| a ^ b);
            format!("${body}*{sum:02X}\r\n")
        })
        .collect();
    fs::write(day.join(format!("{stem}.NMEA")), text)
}

fn bmff_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((8 + payload.len()) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// SplitMix64: small, seeded, and good enough for bytes nobody compresses.
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Every recording under `folder/DCIM`, with the hashes its stored copies must have.
fn recordings_in(folder: &Path) -> std::io::Result<Vec<RecordingSpec>> {
    let mut files = Vec::new();
    list_tree(&folder.join("DCIM"), Path::new("DCIM"), &mut files)?;
    let mut out = Vec::new();
    for path in files.iter().filter(|p| p.ends_with(".MP4")) {
        let sidecar = path.replace(".MP4", ".NMEA");
        let stem = Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(RecordingSpec {
            stem,
            video: file_spec(folder, path)?,
            sidecar: file_spec(folder, &sidecar)?,
        });
    }
    out.sort_by(|a, b| a.stem.cmp(&b.stem));
    Ok(out)
}

fn file_spec(folder: &Path, volume_path: &str) -> std::io::Result<FileSpec> {
    let (size, sha256, blake3) = hash_file(&folder.join(volume_path))?;
    Ok(FileSpec {
        volume_path: volume_path.to_string(),
        name: volume_path.rsplit('/').next().unwrap_or("").to_string(),
        size,
        sha256,
        blake3,
    })
}

/// Size, SHA-256 and BLAKE3 of a file, read in 1 MiB pieces.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String, String)> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let (mut sha, mut b3) = (Sha256::new(), blake3::Hasher::new());
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        b3.update(&buf[..n]);
        size += n as u64;
    }
    let sha: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((size, sha, b3.finalize().to_hex().to_string()))
}

fn build_image(folder: &Path, image: &Path, big_mib: u64) -> Result<(), String> {
    let _ = fs::remove_file(image);
    let kib = (big_mib + 48) * 1024;
    let out = Command::new(tool("mkfs.vfat"))
        .args(["-C", "-F", "32", "-n", "SENTINEL"])
        .arg(image)
        .arg(kib.to_string())
        .output()
        .map_err(|e| format!("running mkfs.vfat (scripts/install-deps installs it): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mkfs.vfat: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let entries: Vec<PathBuf> = fs::read_dir(folder)
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let out = mtools("mcopy")
        .args(["-s", "-i"])
        .arg(image)
        .args(&entries)
        .arg("::/")
        .output()
        .map_err(|e| format!("running mcopy: {e}"))?;
    if !out.status.success() {
        return Err(format!("mcopy: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// exFAT images for the harness, made and read by tools that are not the project's code.
mod exfat {
    use std::path::Path;
    use std::process::Command;

    use super::{copy_tree, tool};

    /// An exFAT image holding `folder`: mkfs.exfat, then a copy through exfat-fuse.
    pub fn build(folder: &Path, image: &Path, big_mib: u64) -> Result<(), String> {
        let _ = std::fs::remove_file(image);
        std::fs::File::create(image)
            .and_then(|f| f.set_len((big_mib + 48) << 20))
            .map_err(|e| format!("{}: {e}", image.display()))?;
        let out = Command::new(tool("mkfs.exfat"))
            .args(["-L", "SENTINEL"])
            .arg(image)
            .output()
            .map_err(|e| format!("running mkfs.exfat (scripts/install-deps installs it): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mkfs.exfat: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        with_mounted(image, false, |root| {
            copy_tree(folder, root).map_err(|e| format!("copying into the exFAT image: {e}"))
        })
    }

    /// Runs `f` on the image's volume mounted by exfat-fuse on a loop device (root).
    pub fn with_mounted<T>(
        image: &Path,
        read_only: bool,
        f: impl FnOnce(&Path) -> Result<T, String>,
    ) -> Result<T, String> {
        let out = Command::new(tool("losetup"))
            .args(["-f", "--show"])
            .arg(image)
            .output()
            .map_err(|e| format!("running losetup: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "losetup (needs root): {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let device = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mnt = image.with_extension("mnt");
        let _ = std::fs::create_dir_all(&mnt);
        let mut mount = Command::new(tool("mount.exfat-fuse"));
        if read_only {
            mount.args(["-o", "ro"]);
        }
        let mounted = mount.arg(&device).arg(&mnt).output();
        let result = match mounted {
            Ok(o) if o.status.success() => {
                let r = f(&mnt);
                let _ = Command::new("umount").arg(&mnt).status();
                r
            }
            Ok(o) => Err(format!(
                "mount.exfat-fuse: {}",
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Err(format!("running mount.exfat-fuse: {e}")),
        };
        let _ = Command::new(tool("losetup")).args(["-d", &device]).status();
        let _ = std::fs::remove_dir(&mnt);
        result
    }
}

fn mtools(name: &str) -> Command {
    let mut c = Command::new(tool(name));
    c.env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null());
    c
}

/// A tool from PATH or the sbin folders, where mkfs.vfat lives.
fn tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn list_tree(dir: &Path, shown: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let child = shown.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            list_tree(&entry.path(), &child, out)?;
        } else {
            out.push(child.to_string_lossy().into_owned());
        }
    }
    Ok(())
}
