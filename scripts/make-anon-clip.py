#!/usr/bin/python3
"""Builds a clip nobody can object to using, for the anonymisation's tests and bench: the
public-domain astronaut portrait shipped by Debian's python3-skimage, moved, scaled and
turned across a textured background, with speech from espeak-ng. Writes an MP4 (H.264 +
AAC) with ffmpeg.

usage: make-anon-clip.py OUT.mp4 [--width W] [--height H] [--fps F] [--seconds S]
                         [--truth FACES.json]

--truth writes where the portrait's face is in each frame ({"width", "height", "faces":
[[x, y, w, h], ...]}: the box OpenCV's Haar cascade finds on the untouched portrait, carried
through each frame's scaling, turn and move), so that anon-check.py can tell a face left on
the portrait from a false positive on the background.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import cv2
from skimage import data

CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"
SPEECH = ("This is a training recording. The agent explains the situation to the citizen, "
          "calmly and clearly, and asks him to step aside. ")


def background(w, h):
    rng = np.random.default_rng(42)
    # Soft blobs rather than pixel noise: texture for the encoder and the sharpness
    # measure, but nothing an independent face detector takes for a face.
    noise = rng.integers(0, 60, size=(h // 40 + 2, w // 40 + 2, 3), dtype=np.uint8)
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    xs = np.linspace(0, 1, w)[None, :, None]
    ys = np.linspace(0, 1, h)[:, None, None]
    base = (110 + 60 * xs + 30 * ys).astype(np.uint8)
    return np.clip(base.astype(np.int16) + noise - 30, 0, 255).astype(np.uint8)


def portrait_face(portrait):
    """The face's box on the untouched portrait (the checker's own cascade, not ours)."""
    cascade = cv2.CascadeClassifier(CASCADE)
    grey = cv2.equalizeHist(cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY))
    found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    if len(found) != 1:
        sys.exit(f"make-anon-clip: the cascade finds {len(found)} faces on the portrait, not 1")
    return [float(v) for v in found[0]]


def carried(face, scale, m, x, y):
    """`face` (portrait pixels) scaled, turned by `m` and moved to (x, y): its bounding box."""
    fx, fy, fw, fh = (v * scale for v in face)
    corners = np.array([[fx, fy, 1], [fx + fw, fy, 1], [fx, fy + fh, 1], [fx + fw, fy + fh, 1]])
    pts = corners @ m.T
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return [round(x + x0, 1), round(y + y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--truth")
    a = ap.parse_args()
    w, h, fps = a.width, a.height, a.fps
    frames = int(round(a.seconds * fps))
    portrait = data.astronaut()  # 512x512 RGB, public domain (NASA)
    bg = background(w, h)
    face = portrait_face(portrait)
    faces = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "speech.wav")
        text = SPEECH * max(1, int(a.seconds // 8) + 1)
        subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", wav, text], check=True)
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
               "-i", wav, "-map", "0:v", "-map", "1:a", "-af", "apad", "-t", f"{frames / fps:.3f}",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-movflags", "+faststart", a.out]
        enc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        for i in range(frames):
            t = i / max(1, frames - 1)
            size = int(h * (0.55 + 0.25 * math.sin(2 * math.pi * t)))
            angle = 12 * math.sin(4 * math.pi * t)
            p = cv2.resize(portrait, (size, size), interpolation=cv2.INTER_AREA)
            m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
            p = cv2.warpAffine(p, m, (size, size), borderMode=cv2.BORDER_REFLECT)
            x = int((w - size) * t)
            y = int((h - size) * (0.5 + 0.4 * math.sin(2 * math.pi * t * 1.5)))
            frame = bg.copy()
            frame[y:y + size, x:x + size] = p
            faces.append(carried(face, size / portrait.shape[0], m, x, y))
            enc.stdin.write(frame.tobytes())
        enc.stdin.close()
        if enc.wait() != 0:
            sys.exit("make-anon-clip: ffmpeg failed")
    if a.truth:
        with open(a.truth, "w") as f:
            json.dump({"width": w, "height": h, "faces": faces}, f)


if __name__ == "__main__":
    main()
