#!/usr/bin/env python3
"""Writes the NMEA sidecar of a fixture recording, as the sentinel-v1 profile (camera-profile.md) describes it.

Usage: fixture-sidecar.py VIDEO SERIAL FIRMWARE DURATION_SECS [--crlf] [--void S,S...]

The start comes from the video's name (<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>.MP4), the end is
start + DURATION_SECS (the MP4's real duration, rounded by the caller). One RMC and one GGA a
second from start to end - 1, along a slow walk near Romans-sur-Isere; the seconds listed in
--void (offsets from the start) have no fix (RMC status V, GGA quality 0). Stdlib only.
"""

import argparse
import datetime as dt
import hashlib
import math
import os
import re
import sys

PRERECORD = 10
STEM = re.compile(r"^(SNTL-\d{5})_(\d{8})_(\d{6})_(\d{4})$")


def nmea(body):
    """'$' + body + '*' + the XOR of the body's bytes, two upper-case hex digits."""
    checksum = 0
    for byte in body.encode("ascii"):
        checksum ^= byte
    return f"${body}*{checksum:02X}"


def ddmm(value, width):
    """Degrees as NMEA's (d)ddmm.mmmm."""
    degrees = int(value)
    minutes = (value - degrees) * 60
    return f"{degrees:0{width}d}{minutes:07.4f}"


def fixes(start, seconds, void, origin):
    """RMC and GGA bodies, a slow walk (about 1.4 m/s) that turns gently."""
    lat, lon = origin
    heading = 60.0
    for t in range(seconds):
        when = start + dt.timedelta(seconds=t)
        hms = when.strftime("%H%M%S") + ".00"
        dmy = when.strftime("%d%m%y")
        if t in void:
            yield f"GPRMC,{hms},V,,,,,,,{dmy},,,N"
            yield f"GPGGA,{hms},,,,,,0,00,99.9,,M,,M,,"
        else:
            speed = 1.4 + 0.2 * math.sin(t / 3)  # m/s
            course = heading % 360
            yield (
                f"GPRMC,{hms},A,{ddmm(lat, 2)},N,{ddmm(lon, 3)},E,"
                f"{speed * 1.943844:.1f},{course:.1f},{dmy},,,A"
            )
            yield (
                f"GPGGA,{hms},{ddmm(lat, 2)},N,{ddmm(lon, 3)},E,1,{7 + t % 3:02d},"
                f"{0.9 + 0.1 * (t % 4):.1f},{160 + 2 * math.sin(t / 5):.1f},M,49.0,M,,"
            )
        # Move one second along the current heading, then turn a little.
        rad = math.radians(heading)
        step = 1.4 + 0.2 * math.sin(t / 3)
        lat += step * math.cos(rad) / 111_320
        lon += step * math.sin(rad) / (111_320 * math.cos(math.radians(lat)))
        heading += 8 * math.sin(t / 4)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("video")
    parser.add_argument("serial")
    parser.add_argument("firmware")
    parser.add_argument("duration", type=int)
    parser.add_argument("--crlf", action="store_true")
    parser.add_argument("--void", default="")
    args = parser.parse_args()

    name = os.path.basename(args.video)
    stem, ext = os.path.splitext(name)
    match = STEM.match(stem)
    if ext != ".MP4" or not match or match.group(1) != args.serial:
        sys.exit(f"fixture-sidecar: {name} is not <{args.serial}>_<YYYYMMDD>_<HHMMSS>_<NNNN>.MP4")
    start = dt.datetime.strptime(match.group(2) + match.group(3), "%Y%m%d%H%M%S")
    end = start + dt.timedelta(seconds=args.duration)
    with open(args.video, "rb") as f:
        video = f.read()
    void = {int(s) for s in args.void.split(",") if s}
    # Each recording starts somewhere else in town, chosen from its sequence number.
    seq = int(match.group(4)) + int(args.serial[-1])
    origin = (45.04 + 0.0021 * seq, 5.05 + 0.0033 * seq)

    iso = "%Y-%m-%dT%H:%M:%SZ"
    lines = [nmea(f"PSNTL,HDR,1,{args.serial},{args.firmware},{name},{start:{iso}},{PRERECORD}")]
    lines += [nmea(body) for body in fixes(start, args.duration, void, origin)]
    lines.append(nmea(f"PSNTL,END,{end:{iso}},{len(video)},{hashlib.sha256(video).hexdigest()}"))
    eol = "\r\n" if args.crlf else "\n"
    with open(os.path.join(os.path.dirname(args.video), stem + ".NMEA"), "w", newline="") as f:
        f.write(eol.join(lines) + eol)


if __name__ == "__main__":
    main()
