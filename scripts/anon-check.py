#!/usr/bin/python3
"""Independent checks of an anonymised derivative, for the tests and the bench (none of
sentinel-dock's code): OpenCV's Haar cascade (Debian opencv-data, python3-opencv) counts the
frames in which it finds a face, and an autocorrelation pitch tracker gives the voice's
median pitch. Prints one JSON object.

usage: anon-check.py VIDEO [--truth FACES.json]

With --truth (make-anon-clip.py's), each frame's Haar hits are also sorted into those on the
portrait's face, its box grown by half its size each side (a face the anonymisation left:
`frames_with_face_on_portrait`), and those elsewhere (the cascade's false positives on the
background or the astronaut's suit: `frames_with_face_elsewhere`).
"""
import argparse
import json
import subprocess
import sys

import cv2
import numpy as np

# alt2: of Debian's frontal-face cascades, the one with the fewest false positives on
# textured backgrounds (the default cascade sees faces in noise), still finding real faces.
MAX_WIDTH = 640
CASCADES = ["/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"]


# Any hit overlapping the face's box grown by this share each side counts as the face.
FACE_MARGIN = 0.5


def on_face(box, scale, face, sx, sy):
    """Whether a Haar box (in the scaled grey frame) overlaps the portrait's face (in the
    clip's pixels, `sx`/`sy` the checked video's size over the clip's), grown."""
    bx, by, bw, bh = (v / scale for v in box)
    x, y, w, h = face
    x0, y0 = (x - FACE_MARGIN * w) * sx, (y - FACE_MARGIN * h) * sy
    x1, y1 = (x + (1 + FACE_MARGIN) * w) * sx, (y + (1 + FACE_MARGIN) * h) * sy
    return bx < x1 and bx + bw > x0 and by < y1 and by + bh > y0


def faces(path, truth=None):
    detectors = [cv2.CascadeClassifier(c) for c in CASCADES]
    if any(d.empty() for d in detectors):
        sys.exit("anon-check: the Haar cascades are missing: apt-get install opencv-data")
    cap = cv2.VideoCapture(path)
    frames = found = on_portrait = elsewhere = 0
    first = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        full_h, full_w = grey.shape
        scale = 1.0
        if grey.shape[1] > MAX_WIDTH:
            # The faces of the bench's 1080p clip are hundreds of pixels wide: half or a
            # third of the size still shows them, at a fraction of the cascade's time.
            scale = MAX_WIDTH / grey.shape[1]
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        boxes = [b for d in detectors
                 for b in d.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))]
        hit = len(boxes) > 0
        if truth is not None and frames < len(truth["faces"]):
            sx, sy = full_w / truth["width"], full_h / truth["height"]
            face = truth["faces"][frames]
            near = [on_face(b, scale, face, sx, sy) for b in boxes]
            on_portrait += any(near)
            elsewhere += not all(near)
        if hit:
            found += 1
            if len(first) < 10:
                first.append(frames)
        frames += 1
    return frames, found, first, on_portrait, elsewhere


def median_pitch(path):
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-vn", "-ac", "1",
                          "-ar", "16000", "-f", "f32le", "-"], capture_output=True, check=True).stdout
    x = np.frombuffer(raw, dtype=np.float32)
    if len(x) == 0:
        return None
    rate, win, hop = 16000, 640, 320
    lo, hi = rate // 400, rate // 60  # 60-400 Hz
    f0 = []
    energy_floor = 0.02 * float(np.max(np.abs(x)) or 1.0)
    for start in range(0, len(x) - win, hop):
        frame = x[start:start + win] - np.mean(x[start:start + win])
        if np.sqrt(np.mean(frame ** 2)) < energy_floor:
            continue
        ac = np.correlate(frame, frame, mode="full")[win - 1:]
        if ac[0] <= 0:
            continue
        # Unbiased: each lag's sum over its own overlap, or longer periods (lower voices)
        # are under-counted.
        ac = ac / (win - np.arange(win)) * win
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] / ac[0] > 0.5:
            f0.append(rate / lag)
    return float(np.median(f0)) if f0 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--truth")
    a = ap.parse_args()
    truth = None
    if a.truth:
        with open(a.truth) as f:
            truth = json.load(f)
    frames, found, first, on_portrait, elsewhere = faces(a.video, truth)
    out = {"frames": frames, "frames_with_face": found, "first_frames_with_face": first,
           "median_pitch_hz": median_pitch(a.video)}
    if truth is not None:
        out["frames_with_face_on_portrait"] = on_portrait
        out["frames_with_face_elsewhere"] = elsewhere
    print(json.dumps(out))


if __name__ == "__main__":
    main()
