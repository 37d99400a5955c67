#!/usr/bin/python3
"""Independent checks of an anonymised derivative, for the tests and the bench (none of
sentinel-dock's code): OpenCV's Haar cascade (Debian opencv-data, python3-opencv) counts the
frames in which it finds a face, and an autocorrelation pitch tracker gives the voice's
median pitch. Prints one JSON object.

usage: anon-check.py VIDEO
"""
import json
import subprocess
import sys

import cv2
import numpy as np

# alt2: of Debian's frontal-face cascades, the one with the fewest false positives on
# textured backgrounds (the default cascade sees faces in noise), still finding real faces.
MAX_WIDTH = 640
CASCADES = ["/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"]


def faces(path):
    detectors = [cv2.CascadeClassifier(c) for c in CASCADES]
    if any(d.empty() for d in detectors):
        sys.exit("anon-check: the Haar cascades are missing: apt-get install opencv-data")
    cap = cv2.VideoCapture(path)
    frames = found = 0
    first = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if grey.shape[1] > MAX_WIDTH:
            # The faces of the bench's 1080p clip are hundreds of pixels wide: half or a
            # third of the size still shows them, at a fraction of the cascade's time.
            scale = MAX_WIDTH / grey.shape[1]
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        hit = any(len(d.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))) > 0
                  for d in detectors)
        if hit:
            found += 1
            if len(first) < 10:
                first.append(frames)
        frames += 1
    return frames, found, first


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
    path = sys.argv[1]
    frames, found, first = faces(path)
    print(json.dumps({"frames": frames, "frames_with_face": found, "first_frames_with_face": first,
                      "median_pitch_hz": median_pitch(path)}))


if __name__ == "__main__":
    main()
