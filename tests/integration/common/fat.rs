//! Real FAT images made by mkfs.vfat and filled by mtools, and read back by mtools.
//!
//! Names mtools writes as given (mtools 4.0.32, UTF-8 locale): long names up to 255
//! characters, lower case, spaces (also leading), `; + = [ ] , # $ % & @ ! ~ ` ^ { } ( ) '`,
//! non-ASCII letters, several dots, names starting with a dot, `con.txt`.
//! Refused by FAT, so `build_fat_image` panics: `* ? < > " \ |`, control characters, a
//! trailing space, `CON`/`NUL`-like device names without extension, a name differing from
//! an existing one only in case. Panicked on here because mtools would silently change
//! them: `:` (taken as a drive), a trailing `.` (dropped), `.` and `..`, over 255
//! characters (mtools 4.0.32 crashes).

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{CameraSpec, require_tool, tool_path};

/// Where the volume starts in a `Layout::Partitioned` image: 1 MiB, as partitioning tools
/// align the first partition.
pub const PARTITION_OFFSET: u64 = 1 << 20;
const MIB: u64 = 1 << 20;

/// How the volume sits on the (fake) block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The whole device is the FAT volume.
    Superfloppy,
    /// An MBR table whose first partition, at `PARTITION_OFFSET`, is the FAT volume.
    Partitioned,
}

impl Layout {
    /// Bytes from the start of the image to the volume's boot sector.
    pub fn offset(self) -> u64 {
        match self {
            Layout::Superfloppy => 0,
            Layout::Partitioned => PARTITION_OFFSET,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Layout::Superfloppy => "superfloppy",
            Layout::Partitioned => "partitioned",
        }
    }
}

/// What `build_fat_image_with` may change.
#[derive(Debug, Clone, Default)]
pub struct ImageOptions {
    /// 12, 16 or 32; `None` lets mkfs.vfat choose (FAT16 at the default size).
    pub fat_bits: Option<u8>,
    /// Image size; `None`: the content plus a quarter plus 8 MiB, at least 34 MiB (enough
    /// clusters for FAT32 with 512-byte clusters).
    pub size_mib: Option<u64>,
}

/// `dir/camera-<serial>-<layout>.img`, replaced if it exists, with every file of `spec`.
pub fn build_fat_image(spec: &CameraSpec, dir: &Path, layout: Layout) -> PathBuf {
    build_fat_image_with(spec, dir, layout, &ImageOptions::default())
}

/// `build_fat_image` with a chosen FAT type or size.
pub fn build_fat_image_with(
    spec: &CameraSpec,
    dir: &Path,
    layout: Layout,
    options: &ImageOptions,
) -> PathBuf {
    for tool in ["mkfs.vfat", "mmd", "mcopy"] {
        require_tool(tool);
    }
    let files = spec.files();
    for (path, _) in &files {
        check_name(path);
    }
    let content: u64 = files.iter().map(|(_, bytes)| bytes.len() as u64).sum();
    let size_mib = options
        .size_mib
        .unwrap_or((content * 5 / 4 / MIB + 8).max(34));
    let image = dir.join(format!("camera-{}-{}.img", spec.file_stem(), layout.name()));
    let volume = match layout {
        Layout::Superfloppy => image.clone(),
        Layout::Partitioned => image.with_extension("volume"),
    };
    let _ = fs::remove_file(&image);
    let _ = fs::remove_file(&volume);

    let mut mkfs = Command::new(tool_path("mkfs.vfat").unwrap());
    mkfs.arg("-C").arg("--invariant");
    mkfs.arg("-h").arg((layout.offset() / 512).to_string());
    if !spec.label.is_empty() {
        mkfs.arg("-n").arg(&spec.label);
    }
    if let Some(bits) = options.fat_bits {
        mkfs.arg("-F").arg(bits.to_string());
        if bits == 32 {
            mkfs.arg("-s").arg("1"); // 512-byte clusters: FAT32 fits from 33 MiB
        }
    }
    mkfs.arg(&volume)
        .arg(((size_mib * MIB - layout.offset()) / 1024).to_string());
    check("mkfs.vfat", mkfs.stderr(Stdio::piped()).output().unwrap());

    if layout == Layout::Partitioned {
        place_in_partition(&volume, &image, size_mib * MIB);
    }

    // One mcopy a file, the target name given as an argument: the host never holds the
    // volume's names, so any name FAT accepts can be written.
    let target = image_arg(&image, layout);
    let staged = dir.join(format!("camera-{}.staged", spec.file_stem()));
    let mut made_dirs: Vec<String> = Vec::new();
    for (path, bytes) in &files {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 1..parts.len() {
            let folder = parts[..depth].join("/");
            if !made_dirs.contains(&folder) {
                let out = mtools(
                    "mmd",
                    [target.as_ref(), OsStr::new(&format!("::/{folder}"))],
                );
                check(&format!("mmd ::/{folder}"), out);
                made_dirs.push(folder);
            }
        }
        fs::write(&staged, bytes).unwrap();
        let out = mtools(
            "mcopy",
            [
                target.as_ref(),
                staged.as_os_str(),
                OsStr::new(&format!("::/{path}")),
            ],
        );
        check(&format!("mcopy to ::/{path}"), out);
    }
    let _ = fs::remove_file(&staged);
    image
}

/// Writes `bytes` as the file `path` of an existing image, replacing it (`mcopy -o`), as the
/// camera rewrites a file between two dockings; its folder must exist.
pub fn write_fat_file(image: &Path, layout: Layout, path: &str, bytes: &[u8]) {
    require_tool("mcopy");
    check_name(path);
    let staged = image.with_extension("staged-write");
    fs::write(&staged, bytes).unwrap();
    let target = image_arg(image, layout);
    let out = mtools(
        "mcopy",
        [
            "-o".as_ref(),
            target.as_ref(),
            staged.as_os_str(),
            OsStr::new(&format!("::/{path}")),
        ],
    );
    let _ = fs::remove_file(&staged);
    check(&format!("mcopy -o to ::/{path}"), out);
}

/// Every file on the image (hidden ones included), as `DCIM/20180312/X.MP4`, sorted.
pub fn list_fat_image(image: &Path, layout: Layout) -> Vec<String> {
    list(image, layout)
        .into_iter()
        .filter(|p| !p.ends_with('/'))
        .collect()
}

/// Every folder on the image, as `DCIM/20180312` (no trailing `/`), sorted.
pub fn list_fat_dirs(image: &Path, layout: Layout) -> Vec<String> {
    list(image, layout)
        .into_iter()
        .filter_map(|p| p.strip_suffix('/').map(str::to_owned))
        .collect()
}

/// One file's bytes read by mtools; `None` if it is not there.
pub fn read_fat_file(image: &Path, layout: Layout, path: &str) -> Option<Vec<u8>> {
    require_tool("mcopy");
    // mtools takes `[...]`, `*` and `?` in a source as wildcards: escape them.
    let mut source = String::from("::/");
    for c in path.trim_start_matches('/').chars() {
        if matches!(c, '[' | ']' | '*' | '?' | '\\') {
            source.push('\\');
        }
        source.push(c);
    }
    let target = image_arg(image, layout);
    let out = mtools(
        "mcopy",
        [target.as_ref(), OsStr::new(&source), OsStr::new("-")],
    );
    out.status.success().then_some(out.stdout)
}

fn list(image: &Path, layout: Layout) -> Vec<String> {
    require_tool("mdir");
    let target = image_arg(image, layout);
    let out = mtools(
        "mdir",
        [
            OsStr::new("-/"),
            "-a".as_ref(),
            "-b".as_ref(),
            target.as_ref(),
            "::".as_ref(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // mdir fails with `File "::" not found` on an empty volume.
    let empty = out.stdout.is_empty() && stderr.contains("\"::\" not found");
    assert!(
        out.status.success() || empty,
        "mdir {}: {stderr}",
        image.display()
    );
    let mut paths: Vec<String> = String::from_utf8(out.stdout)
        .expect("mdir printed non-UTF-8 names")
        .lines()
        .map(|line| line.strip_prefix("::/").unwrap_or(line).to_owned())
        .collect();
    paths.sort();
    paths
}

/// Runs an mtools command on its own: no user configuration, no prompt, UTF-8 names.
fn mtools<'a>(tool: &str, args: impl IntoIterator<Item = &'a OsStr>) -> Output {
    Command::new(tool_path(tool).unwrap())
        .args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
}

/// mtools' `-i IMAGE@@OFFSET`.
fn image_arg(image: &Path, layout: Layout) -> std::ffi::OsString {
    let mut arg = std::ffi::OsString::from("-i");
    arg.push(image);
    arg.push(format!("@@{}", layout.offset()));
    arg
}

fn check(what: &str, out: Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Panics on names mtools would write under another name (see the module's comment).
fn check_name(path: &str) {
    for part in path.split('/') {
        let bad = part.is_empty()
            || part == "."
            || part == ".."
            || part.contains(':')
            || part.ends_with('.')
            || part.chars().count() > 255;
        assert!(
            !bad,
            "{path:?}: mtools cannot write {part:?} as is (empty, `.`, `..`, `:`, trailing `.`, \
             or over 255 characters)"
        );
    }
}

/// Builds `image` as an MBR whose one partition (FAT16 or FAT32 LBA, after the boot
/// sector's own type) holds `volume`, then removes `volume`.
fn place_in_partition(volume: &Path, image: &Path, image_size: u64) {
    let mut source = File::open(volume).unwrap();
    let mut boot = [0u8; 512];
    source.read_exact(&mut boot).unwrap();
    source.rewind().unwrap();
    let kind: u8 = if &boot[82..87] == b"FAT32" {
        0x0c
    } else {
        0x0e
    };
    let start = (PARTITION_OFFSET / 512) as u32;
    let sectors = (source.metadata().unwrap().len() / 512) as u32;

    let mut mbr = [0u8; 512];
    mbr[440..444].copy_from_slice(&0x5345_4e54u32.to_le_bytes()); // disk signature "SENT"
    let entry = &mut mbr[446..462];
    entry[1..4].copy_from_slice(&[0xfe, 0xff, 0xff]); // CHS unused: LBA only
    entry[4] = kind;
    entry[5..8].copy_from_slice(&[0xfe, 0xff, 0xff]);
    entry[8..12].copy_from_slice(&start.to_le_bytes());
    entry[12..16].copy_from_slice(&sectors.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xaa;

    let mut disk = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(image)
        .unwrap();
    disk.set_len(image_size).unwrap();
    disk.write_all(&mbr).unwrap();
    disk.seek(SeekFrom::Start(PARTITION_OFFSET)).unwrap();
    std::io::copy(&mut source, &mut disk).unwrap();
    drop(source);
    fs::remove_file(volume).unwrap();
}
