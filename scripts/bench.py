#!/usr/bin/env python3
"""Benchmark: sentinel-dockd ingest against the script a technician would otherwise write.

Makes a camera volume (real FAT32 image, mkfs.vfat + mtools) holding synthetic but
well-formed recordings (ISO BMFF: ftyp + mdat + moov/mvhd, with correct sidecars), then,
in the same invocation and from the same cold start (page cache dropped when allowed):

  baseline: mcopy -s out of the image; sync; b3sum; sha256sum   (no read-back proof)
  ours:     sentinel-dockd ingest (hash, store, fsync, read back from disk, register, wipe)

and prints wall time, CPU seconds per GB, peak RSS, and the ratio ours / baseline.

With --dock N it measures a full dock instead: N cameras, each throttled like a USB 2.0
camera ([simulate] read_bytes_per_sec), linked into the running daemon's dock folder at
once; it prints the time until every recording is wiped against the time the throttle
alone allows (the physical limit).
With --exfat it compares an exFAT camera (mkfs.exfat, filled through exfat-fuse on a loop
device: root) with a FAT32 camera of the same content, `--pairs` times in alternation,
and prints the median wall time of each and their ratio.
Run it through scripts/bench, which builds the release binary first.
"""

import argparse
import hashlib
import signal
import sqlite3
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

SERIAL = "SNTL-00042"
MIB = 1 << 20


def nmea(body):
    checksum = 0
    for b in body.encode("ascii"):
        checksum ^= b
    return f"${body}*{checksum:02X}\n"


def mvhd(duration_secs, timescale=1000):
    body = struct.pack(">B3xIIII", 0, 0, 0, timescale, int(duration_secs * timescale))
    body += struct.pack(">IH10x", 0x00010000, 0x0100)
    body += struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    body += bytes(24) + struct.pack(">I", 2)
    return struct.pack(">I4s", 8 + len(body), b"mvhd") + body


def write_recording(folder, start, seq, size, duration, serial=SERIAL):
    """Writes <stem>.MP4 of exactly `size` bytes and its sidecar; returns the stem."""
    stem = f"{serial}_{start:%Y%m%d_%H%M%S}_{seq:04d}"
    ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp42")
    moov_body = mvhd(duration)
    moov = struct.pack(">I4s", 8 + len(moov_body), b"moov") + moov_body
    payload = size - len(ftyp) - len(moov) - 8
    sha = hashlib.sha256()
    block = os.urandom(MIB)
    with open(os.path.join(folder, stem + ".MP4"), "wb") as f:
        def put(b):
            f.write(b)
            sha.update(b)
        put(ftyp)
        put(struct.pack(">I4s", 8 + payload, b"mdat"))
        left = payload
        n = 0
        while left:
            # Vary each MiB so that nothing downstream can deduplicate or compress.
            chunk = (struct.pack(">Q", n) + block[8:])[: min(MIB, left)]
            put(chunk)
            left -= len(chunk)
            n += 1
        put(moov)
    end = start + timedelta(seconds=duration)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    with open(os.path.join(folder, stem + ".NMEA"), "w", newline="") as f:
        f.write(nmea(f"PSNTL,HDR,1,{serial},2.3.1,{stem}.MP4,{start:{iso}},10"))
        f.write(nmea(f"PSNTL,END,{end:{iso}},{size},{sha.hexdigest()}"))
    return stem


def make_camera(workdir, total_bytes, count, serial=SERIAL, name="camera.img"):
    """A FAT32 camera image holding `count` recordings of `total_bytes` in all."""
    return make_camera_of(workdir, [total_bytes // count] * count, serial, name)


def make_camera_of(workdir, sizes, serial=SERIAL, name="camera.img"):
    """A FAT32 camera image holding one recording of each size, in order."""
    total_bytes = sum(sizes)
    tree = os.path.join(workdir, "tree")
    day = datetime(2026, 11, 25, 8, 0, 0, tzinfo=timezone.utc)
    folder = os.path.join(tree, "DCIM", day.strftime("%Y%m%d"))
    os.makedirs(folder)
    with open(os.path.join(tree, "DEVICE.INI"), "w") as f:
        f.write(f"[device]\nserial={serial}\nmodel=SENTINEL-BWC2\nfirmware=2.3.1\n")
    for i, each in enumerate(sizes):
        # About 3.5 GB an hour of HD video: the duration follows from the size.
        duration = max(1, round(each / (3.5e9 / 3600)))
        write_recording(folder, day + timedelta(minutes=15 * i), i + 1, each, duration, serial)
    image = os.path.join(workdir, name)
    size_mib = total_bytes // MIB + 96
    subprocess.run(["mkfs.vfat", "-C", "-F", "32", "-n", "SENTINEL", image, str(size_mib * 1024)],
                   check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    for entry in sorted(os.listdir(tree)):
        subprocess.run(["mcopy", "-s", "-i", image, os.path.join(tree, entry), "::"], check=True, env=env)
    shutil.rmtree(tree)
    return image


def make_exfat_camera(workdir, fat_image, name="camera-exfat.img"):
    """An exFAT image holding exactly the files of `fat_image` (copied out by mcopy, in
    through exfat-fuse on a loop device: it mounts block devices only)."""
    tree = os.path.join(workdir, "exfat-tree")
    os.makedirs(tree)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-s", "-i", fat_image, "::*", tree], check=True, env=env)
    image = os.path.join(workdir, name)
    with open(image, "wb") as f:
        f.truncate(os.path.getsize(fat_image))
    subprocess.run(["mkfs.exfat", "-L", "SENTINEL", image], check=True, stdout=subprocess.DEVNULL)
    loop = subprocess.run(["losetup", "-f", "--show", image], check=True, capture_output=True,
                          text=True).stdout.strip()
    mnt = os.path.join(workdir, "exfat-mnt")
    os.makedirs(mnt)
    try:
        subprocess.run(["mount.exfat-fuse", loop, mnt], check=True)
        try:
            for entry in sorted(os.listdir(tree)):
                src = os.path.join(tree, entry)
                if os.path.isdir(src):
                    shutil.copytree(src, os.path.join(mnt, entry), copy_function=shutil.copyfile)
                else:
                    shutil.copyfile(src, os.path.join(mnt, entry))
        finally:
            subprocess.run(["umount", mnt], check=True)
    finally:
        subprocess.run(["losetup", "-d", loop], check=True)
    shutil.rmtree(tree)
    return image


def exfat_against_fat32(binary, work, args):
    """Median wall time of ingesting the exFAT and the FAT32 camera, alternated."""
    print(f"making FAT32 and exFAT cameras with {args.recordings} recordings, "
          f"{args.bytes / MIB:.0f} MiB ...", flush=True)
    masters = {"fat32": make_camera(work, args.bytes, args.recordings)}
    masters["exfat"] = make_exfat_camera(work, masters["fat32"])
    walls = {"fat32": [], "exfat": []}
    cold = False
    for i in range(args.pairs):
        for kind in (("fat32", "exfat") if i % 2 == 0 else ("exfat", "fat32")):
            run_dir = os.path.join(work, f"run-{kind}-{i}")
            os.makedirs(run_dir)
            image = os.path.join(run_dir, "camera.img")
            shutil.copyfile(masters[kind], image)
            cold = drop_caches()
            walls[kind].append(ours(binary, image, run_dir).wall)
            shutil.rmtree(run_dir)
    med = {k: sorted(v)[len(v) // 2] for k, v in walls.items()}
    print(f"page cache dropped before each run: {'yes' if cold else 'no (not permitted)'}")
    for kind, v in walls.items():
        print(f"{kind:6} median wall {med[kind]:7.2f} s over {len(v)} runs: "
              + " ".join(f"{x:.2f}" for x in v))
    print(f"exfat / fat32 median wall-time ratio: {med['exfat'] / med['fat32']:.3f}")
    return 0


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


class Run:
    """Wall time, CPU time and peak RSS of a sequence of commands run one after another."""

    def __init__(self):
        self.wall = 0.0
        self.cpu = 0.0
        self.peak_rss_kib = 0

    def cmd(self, argv, **kw):
        t0 = time.monotonic()
        p = subprocess.Popen(argv, **kw)
        _, status, usage = os.wait4(p.pid, 0)
        self.wall += time.monotonic() - t0
        self.cpu += usage.ru_utime + usage.ru_stime
        self.peak_rss_kib = max(self.peak_rss_kib, usage.ru_maxrss)
        code = os.waitstatus_to_exitcode(status)
        p.returncode = code
        if code != 0:
            raise SystemExit(f"{' '.join(argv)} exited with {code}")
        return self


def baseline(image, out):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    r = Run()
    r.cmd(["mcopy", "-s", "-i", image, "::DCIM", out], env=env, stdout=subprocess.DEVNULL)
    r.cmd(["sync"])
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs)
    r.cmd(["b3sum", *files], stdout=subprocess.DEVNULL)
    r.cmd(["sha256sum", *files], stdout=subprocess.DEVNULL)
    return r


def ours(binary, image, workdir):
    config = os.path.join(workdir, "bench.toml")
    with open(config, "w") as f:
        f.write('[store]\npath = "store"\nreserve = 0\n[register]\npath = "register.sqlite"\n')
    r = Run()
    r.cmd([binary, "--config", config, "ingest", "--serial", SERIAL, image])
    return r


def dock(binary, work, cameras, per_camera, recordings, rate, proof_region=None):
    """N throttled cameras docked at once into the running daemon; returns the ratio."""
    images = []
    for i in range(cameras):
        serial = f"SNTL-{100 + i:05d}"
        images.append((serial, make_camera(work, per_camera, recordings, serial, f"{serial}.img")))
    dock_dir = os.path.join(work, "dock")
    os.makedirs(dock_dir)
    config = os.path.join(work, "dock.toml")
    region = f'proof_region = "{proof_region}"\n' if proof_region else ""
    with open(config, "w") as f:
        f.write(f"""[store]\npath = "store"\nreserve = 0\n[register]\npath = "register.sqlite"\n
[dock]\npath = "{dock_dir}"\n[control]\nsocket = "{work}/control.sock"\n
[ingest]\nmax_parallel = {cameras}\n{region}[simulate]\nread_bytes_per_sec = {rate}\n""")
    drop_caches()
    log = open(os.path.join(work, "daemon.log"), "w")
    daemon = subprocess.Popen([binary, "--config", config], stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(work, "control.sock")):
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise SystemExit("the daemon did not start; see daemon.log")
            time.sleep(0.02)
        start = time.monotonic()
        for serial, image in images:
            os.symlink(image, os.path.join(dock_dir, serial))
        total = cameras * recordings
        db = os.path.join(work, "register.sqlite")
        wiped = 0
        while wiped < total:
            if time.monotonic() - start > 600 or daemon.poll() is not None:
                raise SystemExit(f"only {wiped} of {total} recordings wiped; see daemon.log")
            time.sleep(0.05)
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
                    wiped = conn.execute("SELECT count(*) FROM recordings WHERE state = 'wiped'").fetchone()[0]
            except sqlite3.Error:
                continue
        elapsed = time.monotonic() - start
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()
    video = (per_camera // recordings) * recordings
    limit = video / rate
    print(f"{cameras} cameras x {per_camera / MIB:.0f} MiB at {rate / 1e6:.1f} MB/s each, docked at once")
    print(f"time until all wiped: {elapsed:.2f} s; physical limit (throttle alone): {limit:.2f} s")
    ratio = elapsed / limit
    print(f"dock ratio ours/limit: {ratio:.3f} (target <= 1.10)")
    return ratio


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", type=int, default=1 << 30, help="bytes of recordings (default 1 GiB)")
    ap.add_argument("--recordings", type=int, default=4)
    ap.add_argument("--binary", default="target/release/sentinel-dockd")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--dock", type=int, default=0, metavar="N",
                    help="measure N throttled cameras docked at once instead")
    ap.add_argument("--proof-region", default=None, metavar="SIZE",
                    help='with --dock: [ingest] proof_region, e.g. "1 GiB" (default: the built-in 32 MiB)')
    ap.add_argument("--rate", type=int, default=35_000_000,
                    help="with --dock: bytes per second of each camera (default 35 MB/s, USB 2.0)")
    ap.add_argument("--exfat", action="store_true",
                    help="compare an exFAT camera with a FAT32 camera of the same content (root)")
    ap.add_argument("--pairs", type=int, default=5, help="with --exfat: runs of each (default 5)")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="sentinel-bench-", dir=args.dir)
    if args.exfat:
        try:
            return exfat_against_fat32(binary, work, args)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.dock:
        try:
            per_camera = args.bytes // args.dock
            ratio = dock(binary, work, args.dock, per_camera, args.recordings, args.rate,
                         args.proof_region)
            return 0 if ratio <= 1.10 else 1
        finally:
            shutil.rmtree(work, ignore_errors=True)
    try:
        print(f"making a camera with {args.recordings} recordings, {args.bytes / MIB:.0f} MiB ...", flush=True)
        master = make_camera(work, args.bytes, args.recordings)
        gb = args.bytes / 1e9
        runs = {}
        for name in ("baseline", "ours"):
            image = os.path.join(work, f"{name}.img")
            shutil.copyfile(master, image)
            cold = drop_caches()
            if name == "baseline":
                runs[name] = baseline(image, os.path.join(work, "baseline-out"))
            else:
                runs[name] = ours(binary, image, os.path.join(work))
            os.remove(image)
        print(f"page cache dropped before each run: {'yes' if cold else 'no (not permitted)'}")
        print(f"{'':10} {'wall s':>8} {'CPU s/GB':>9} {'peak RSS MiB':>13}")
        for name, r in runs.items():
            print(f"{name:10} {r.wall:8.2f} {r.cpu / gb:9.2f} {r.peak_rss_kib / 1024:13.1f}")
        ratio = runs["ours"].wall / runs["baseline"].wall
        rss = runs["ours"].peak_rss_kib / 1024
        print(f"wall-time ratio ours/baseline: {ratio:.2f} (target <= 1.0, doing more: the read-back proof)")
        print(f"our peak RSS: {rss:.1f} MiB (target <= 64 MiB)")
        return 0 if ratio <= 1.0 and rss <= 64 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
