//! A BagIt bag (RFC 8493) of recordings: written beside its final name, made durable,
//! renamed without replacing anything, then read back from the disk and checked against
//! the register before anyone is told it is done.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
use sha2::{Digest, Sha256, Sha512};

use super::CommandError;
use crate::custody::register::FileFacts;
use crate::custody::register::audit::hex;

/// One file of the payload: where it comes from and what the register says it is.
#[derive(Debug, Clone)]
pub(crate) struct PayloadFile {
    /// Its path in the store.
    pub source: PathBuf,
    /// Its path inside `data/`, e.g. `SNTL-00042/SNTL-00042_20180312_143015_0001.MP4`.
    pub name: String,
    /// Size and hashes from the register.
    pub facts: FileFacts,
    /// Its bytes read from the replica, checked, when the local store no longer holds it.
    pub staged: Option<std::sync::Arc<File>>,
}

/// What a finished, verified bag holds.
#[derive(Debug, Clone)]
pub(crate) struct WrittenBag {
    /// The bag's folder.
    pub path: PathBuf,
    /// Payload bytes and files (`Payload-Oxum`).
    pub oxum: (u64, usize),
    /// SHA-256 of `manifest-sha256.txt`: one value that pins the whole payload.
    pub manifest_sha256: String,
}

/// Writes the bag `dest/name` with `info` as `bag-info.txt` labels (Payload-Oxum and
/// Bagging-Date are added) and `tags` as further tag files (name, bytes) beside them,
/// listed in the tag manifests, and verifies it.
pub fn write(
    dest: &Path,
    name: &str,
    files: &[PayloadFile],
    info: &[(String, String)],
    tags: &[(&str, Vec<u8>)],
    date: chrono::NaiveDate,
) -> Result<WrittenBag, CommandError> {
    let temp = dest.join(format!(".{name}.partial-{}", std::process::id()));
    let target = dest.join(name);
    fs::create_dir(&temp).map_err(io_err("creating the bag's folder", &temp))?;
    let written = fill(&temp, files, info, tags, date).and_then(|oxum| {
        rename_noreplace(&temp, &target)?;
        fsync_dir(dest)?;
        Ok(oxum)
    });
    let (oxum, manifest_sha256) = match written {
        Ok(w) => w,
        Err(e) => {
            // A bag cut off is never handed over: nothing of it stays.
            let _ = fs::remove_dir_all(&temp);
            return Err(e);
        }
    };
    verify(&target, files)?;
    Ok(WrittenBag {
        path: target,
        oxum,
        manifest_sha256,
    })
}

/// Writes payload and tag files into `root`, fsyncing each; returns the oxum and the
/// SHA-256 of `manifest-sha256.txt`.
fn fill(
    root: &Path,
    files: &[PayloadFile],
    info: &[(String, String)],
    extra: &[(&str, Vec<u8>)],
    date: chrono::NaiveDate,
) -> Result<((u64, usize), String), CommandError> {
    let payload = copy_payload(root, files)?;
    let oxum = (payload.bytes, files.len());
    let mut bag_info = String::new();
    for (label, value) in info {
        bag_info.push_str(&format!("{label}: {}\n", single_line(value)));
    }
    bag_info.push_str(&format!(
        "Bagging-Date: {date}\nPayload-Oxum: {}.{}\n",
        oxum.0, oxum.1
    ));
    let manifest_256 = payload.sha256_lines.concat();
    let tags = [
        (
            "bagit.txt",
            "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_string(),
        ),
        ("bag-info.txt", bag_info),
        ("manifest-sha256.txt", manifest_256.clone()),
        ("manifest-sha512.txt", payload.sha512_lines.concat()),
    ];
    let mut tag_256 = String::new();
    let mut tag_512 = String::new();
    let all = tags
        .iter()
        .map(|(file, text)| (*file, text.as_bytes()))
        .chain(extra.iter().map(|(file, bytes)| (*file, bytes.as_slice())));
    for (file, bytes) in all {
        write_synced(&root.join(file), bytes)?;
        tag_256.push_str(&format!("{}  {file}\n", hex(&Sha256::digest(bytes))));
        tag_512.push_str(&format!("{}  {file}\n", hex(&Sha512::digest(bytes))));
    }
    write_synced(&root.join("tagmanifest-sha256.txt"), tag_256.as_bytes())?;
    write_synced(&root.join("tagmanifest-sha512.txt"), tag_512.as_bytes())?;
    for folder in payload.folders.iter().chain([&root.to_path_buf()]) {
        open_to_group(folder)?;
    }
    for folder in payload.folders.iter().rev() {
        fsync_dir(folder)?;
    }
    fsync_dir(root)?;
    Ok((oxum, hex(&Sha256::digest(manifest_256.as_bytes()))))
}

/// The payload as copied: manifest lines, the folders made, the bytes.
struct Payload {
    sha256_lines: Vec<String>,
    sha512_lines: Vec<String>,
    folders: Vec<PathBuf>,
    bytes: u64,
}

/// Copies each file into `root/data/`, refusing any whose bytes are not what the register
/// proved at collection.
fn copy_payload(root: &Path, files: &[PayloadFile]) -> Result<Payload, CommandError> {
    let data = root.join("data");
    fs::create_dir(&data).map_err(io_err("creating", &data))?;
    let mut p = Payload {
        sha256_lines: Vec::new(),
        sha512_lines: Vec::new(),
        folders: vec![data.clone()],
        bytes: 0,
    };
    for f in files {
        let target = data.join(&f.name);
        if let Some(parent) = target.parent()
            && !p.folders.iter().any(|d| d == parent)
        {
            fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
            p.folders.push(parent.to_path_buf());
        }
        let (sha256, sha512, size) = copy_hashed(f, &target)?;
        if size != f.facts.size || sha256 != f.facts.digests.sha256_hex() {
            return Err(CommandError::Invalid(format!(
                "the stored file {} ({size} bytes, sha256 {sha256}) is not what the register proved ({} bytes, sha256 {}): the store is damaged; nothing was extracted. Run a scrub and report it",
                f.source.display(),
                f.facts.size,
                f.facts.digests.sha256_hex()
            )));
        }
        p.bytes += size;
        p.sha256_lines.push(format!("{sha256}  data/{}\n", f.name));
        p.sha512_lines.push(format!("{sha512}  data/{}\n", f.name));
    }
    Ok(p)
}

/// Reads every payload file of the renamed bag back from the disk and compares it with
/// the register, and the manifest with what was written.
fn verify(bag: &Path, files: &[PayloadFile]) -> Result<(), CommandError> {
    for f in files {
        let path = bag.join("data").join(&f.name);
        let file = File::open(&path).map_err(io_err("reading back", &path))?;
        // The pages just written are clean after fsync: drop them so the disk is read.
        let _ = posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
        let (sha256, _, size) = hash_stream(file, None).map_err(io_err("reading back", &path))?;
        if size != f.facts.size || sha256 != f.facts.digests.sha256_hex() {
            return Err(CommandError::Invalid(format!(
                "the bag's copy {} read back as {size} bytes with sha256 {sha256}, not the register's {} bytes with sha256 {}: do not hand this bag over; delete it and extract again",
                path.display(),
                f.facts.size,
                f.facts.digests.sha256_hex()
            )));
        }
    }
    Ok(())
}

/// Copies `from` to a new file `to`, hashing once; fsyncs the copy. Returns SHA-256,
/// SHA-512 and size.
fn copy_hashed(f: &PayloadFile, to: &Path) -> Result<(String, String, u64), CommandError> {
    let from = f.source.as_path();
    let source = match &f.staged {
        Some(staged) => staged.try_clone().and_then(|mut file| {
            io::Seek::rewind(&mut file)?;
            Ok(file)
        }),
        None => OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(from),
    }
    .map_err(io_err("reading the stored file", from))?;
    let mut target = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(to)
        .map_err(io_err("creating", to))?;
    readable_by_group(&target, to)?;
    let hashed = hash_stream(source, Some(&mut target)).map_err(io_err("copying to", to))?;
    target.sync_all().map_err(io_err("syncing", to))?;
    Ok(hashed)
}

fn hash_stream(mut from: File, mut to: Option<&mut File>) -> io::Result<(String, String, u64)> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut s256, mut s512, mut size) = (Sha256::new(), Sha512::new(), 0u64);
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        s256.update(&buf[..n]);
        s512.update(&buf[..n]);
        if let Some(t) = to.as_mut() {
            t.write_all(&buf[..n])?;
        }
        size += n as u64;
    }
    Ok((hex(&s256.finalize()), hex(&s512.finalize()), size))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(path)
        .map_err(io_err("creating", path))?;
    readable_by_group(&f, path)?;
    f.write_all(bytes).map_err(io_err("writing", path))?;
    f.sync_all().map_err(io_err("syncing", path))
}

/// A bag's files are read-only, and readable by the export folder's group: the operators
/// who hand bags over (the folder's setgid bit gives the bag its group). Set explicitly,
/// because the service's umask (0077) would leave them to the service alone.
fn readable_by_group(file: &File, path: &Path) -> Result<(), CommandError> {
    file.set_permissions(fs::Permissions::from_mode(0o440))
        .map_err(io_err("setting the mode of", path))
}

/// A bag's folder: the service writes it, the export folder's group reads it; a setgid
/// bit inherited from the export folder is kept, so that what is made inside stays the group's.
fn open_to_group(folder: &Path) -> Result<(), CommandError> {
    let setgid = fs::metadata(folder)
        .map_err(io_err("reading the mode of", folder))?
        .permissions()
        .mode()
        & 0o2000;
    fs::set_permissions(folder, fs::Permissions::from_mode(0o750 | setgid))
        .map_err(io_err("setting the mode of", folder))
}

fn fsync_dir(path: &Path) -> Result<(), CommandError> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing the folder", path))
}

/// Renames the finished folder to the bag's name, never replacing anything there.
fn rename_noreplace(from: &Path, to: &Path) -> Result<(), CommandError> {
    use nix::errno::Errno;
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    let err = io_err("naming the bag", to);
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(()),
        // File systems without the flag: the name is checked, then taken (the folder is
        // the operator's own, and the name carries the audit entry's number).
        Err(Errno::EINVAL | Errno::ENOSYS) if fs::symlink_metadata(to).is_err() => {
            fs::rename(from, to).map_err(err)
        }
        Err(e) => Err(err(io::Error::from(e))),
    }
}

/// bag-info values are one line: line breaks and other controls become spaces.
fn single_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn io_err<'p>(what: &'p str, path: &'p Path) -> impl FnOnce(io::Error) -> CommandError + 'p {
    move |source| CommandError::Io {
        what: what.to_string(),
        path: path.to_path_buf(),
        source,
    }
}
