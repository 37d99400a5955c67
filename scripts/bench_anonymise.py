#!/usr/bin/python3
"""scripts/bench --anonymise: ours against deface (PyPI), side by side, on a clip built in
the same invocation (scripts/make-anon-clip.py: the public-domain astronaut portrait moved,
scaled and turned across a 1080p 30 fps background, espeak-ng speech).

Prints, as medians over --runs pairs (ours, then deface, alternating so that a busy machine
weighs on both alike): our wall time / clip duration (goal <= 1.5), our time / deface's
(goal <= 1.0); for each output the frames in which OpenCV's Haar cascade still finds a face
on the portrait (goal 0 for ours; the clip's maker says where the portrait is in each
frame) and, apart, its false positives elsewhere on the background, and the voice's median pitch before and after (scripts/anon-check.py).

deface 1.5.0 and onnxruntime 1.22.1 (the runtime ours loads too) are installed from PyPI
into a venv under /var/cache/sentinel-dock-bench, for the bench only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = "/var/cache/sentinel-dock-bench/deface-venv"
DEFACE = ["deface==1.5.0", "onnxruntime==1.22.1"]
OURS = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                    "release", "examples", "anonymise_file")


def deface_venv():
    exe = os.path.join(VENV, "bin", "deface")
    if not os.path.exists(exe):
        print(f"bench: installing {' '.join(DEFACE)} into {VENV}", file=sys.stderr)
        subprocess.run(["/usr/bin/python3", "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "--quiet", *DEFACE], check=True)
    return exe


def check(video, truth):
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "anon-check.py"), video,
                          "--truth", truth], capture_output=True, check=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--detect-every", type=int, help="ours: [anonymise] detect_every (default: its default)")
    a = ap.parse_args()
    deface = deface_venv()
    work = tempfile.mkdtemp(prefix="bench-anonymise-")
    try:
        clip = os.path.join(work, "clip.mp4")
        truth = os.path.join(work, "clip.faces.json")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "make-anon-clip.py"), clip,
                        "--width", str(a.width), "--height", str(a.height), "--fps", str(a.fps),
                        "--seconds", str(a.seconds), "--truth", truth], check=True)
        ours_t, deface_t = [], []
        for run in range(a.runs):
            out = os.path.join(work, f"ours-{run}")
            os.mkdir(out)
            t = time.monotonic()
            every = [str(a.detect_every)] if a.detect_every else []
            subprocess.run([OURS, clip, out, *every], check=True, stdout=subprocess.DEVNULL)
            ours_t.append(time.monotonic() - t)
            d_out = os.path.join(work, f"deface-{run}.mp4")
            t = time.monotonic()
            subprocess.run([deface, clip, "-o", d_out, "--keep-audio",
                            "--ffmpeg-config", '{"codec": "libx264"}'],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deface_t.append(time.monotonic() - t)
            print(f"run {run + 1}: ours {ours_t[-1]:.1f} s, deface {deface_t[-1]:.1f} s", file=sys.stderr)
        ratios = [o / d for o, d in zip(ours_t, deface_t)]
        original = check(clip, truth)
        ours = check(os.path.join(work, "ours-0", "clip.anon.mp4"), truth)
        theirs = check(os.path.join(work, "deface-0.mp4"), truth)
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        print(json.dumps({
            "clip": {"width": a.width, "height": a.height, "fps": a.fps, "seconds": a.seconds,
                     "frames": original["frames"]},
            "runs": a.runs,
            "detect_every": a.detect_every or "default",
            "load_average": load,
            "ours_seconds": statistics.median(ours_t),
            "deface_seconds": statistics.median(deface_t),
            "ours_per_clip_second": statistics.median(ours_t) / a.seconds,
            "ours_over_deface": statistics.median(ratios),
            # On the portrait: a face left (goal 0 for ours). Elsewhere: the cascade's false
            # positives on the background, which say nothing of the anonymisation.
            "frames_with_face_on_portrait": {k: v["frames_with_face_on_portrait"] for k, v in
                                             (("original", original), ("ours", ours),
                                              ("deface", theirs))},
            "frames_with_face_elsewhere": {k: v["frames_with_face_elsewhere"] for k, v in
                                           (("original", original), ("ours", ours),
                                            ("deface", theirs))},
            "median_pitch_hz": {"original": original["median_pitch_hz"],
                                "ours": ours["median_pitch_hz"],
                                "deface": theirs["median_pitch_hz"]},
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
