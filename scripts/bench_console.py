#!/usr/bin/env python3
"""Benchmark: the console under a burst, through a real daemon and a real console.

Builds a register with `fill_register` (100,000 recordings by default), starts
`sentinel-dockd` on it and `sentinel-dockctl console` as the caller (root, as in CI, the
head of service in `[access]`), then lets --clients HTTP clients (20) ask the search page
as fast as each gets its answers for --seconds (30), --runs times (5). Each client cycles
through the search's first page, a later page, a camera, an agent and a month. Prints, for
each run and then as the median and spread of the runs: requests served, 5xx answers,
other failures, and the median and 95th-percentile latency.

The daemon serves 32 control connections at once and closes any beyond that at once; the
console queues its requests to the daemon (8 at once), so no client should see a 5xx.
Run it through `scripts/bench --console-load`, which builds the release binaries first.
"""

import argparse
import http.client
import os
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_register import generate  # noqa: E402  (the same register maker)


def start_daemon(dockd, work):
    user = pwd.getpwuid(os.geteuid()).pw_name
    config = os.path.join(work, "bench.toml")
    os.makedirs(os.path.join(work, "dock"), exist_ok=True)
    with open(config, "w") as f:
        f.write(f"""[store]\npath = "{work}/store"\nreserve = 0\n
[register]\npath = "{work}/register.sqlite"\n
[dock]\npath = "{work}/dock"\n[control]\nsocket = "{work}/control.sock"\n
[access]\nhead = ["{user}"]\n
[retention]\ndays = 3650\n""")
    log_path = os.path.join(work, "daemon.log")
    log = open(log_path, "w")
    daemon = subprocess.Popen([dockd, "--config", config], stderr=log,
                              env=dict(os.environ, SENTINEL_DOCK_LOG_OUTPUT="stderr"))
    t0 = time.monotonic()
    while True:
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited; see {log_path}")
        with open(log_path) as f:
            if "daily upkeep" in f.read():
                break
        if time.monotonic() - t0 > 1800:
            raise SystemExit(f"no daily upkeep after 30 minutes; see {log_path}")
        time.sleep(0.05)
    return daemon, config, log, log_path


def start_console(ctl, config):
    console = subprocess.Popen([ctl, "--config", config, "console", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = console.stdout.readline().strip()
    m = re.match(r"http://([^/]+):(\d+)/\?token=(\S+)", url)
    if not m:
        console.kill()
        raise SystemExit(f"the console's first line is not its URL: {url!r}")
    host, port, token = m.group(1), int(m.group(2)), m.group(3)
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", f"/?token={token}")
    r = c.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie", "").split(";")[0]
    if r.status != 303 or not cookie:
        raise SystemExit(f"no session from the token: {r.status}")
    return console, host, port, cookie


def load(host, port, cookie, clients, seconds, paths):
    """clients threads, each on its own keep-alive connection, for seconds."""
    latencies, statuses, failures = [], [], []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        i = n
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.monotonic()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    failures.append(str(e))
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
                continue
            with lock:
                latencies.append(time.monotonic() - t0)
                statuses.append(status)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return {
        "requests": len(statuses),
        "5xx": sum(1 for s in statuses if s >= 500),
        "other": sum(1 for s in statuses if s != 200 and s < 500) + len(failures),
        "median": statistics.median(latencies) if latencies else float("nan"),
        "p95": p95,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default="target/release", help="folder of the binaries")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--cache", default=None,
                    help="keep the generated register here and reuse it the same day")
    args = ap.parse_args()
    binaries = os.path.abspath(args.bin)
    dockd, ctl = (os.path.join(binaries, b) for b in ("sentinel-dockd", "sentinel-dockctl"))
    fill = os.path.join(binaries, "examples", "fill_register")
    work = tempfile.mkdtemp(prefix="sentinel-bench-console-", dir=args.dir)
    gen = argparse.Namespace(recordings=args.recordings, due=0, retention_days=3650,
                             cameras=8, cache=args.cache)
    daemon = console = log = None
    runs = []
    try:
        # With no recording past retention the store stays empty: made here so that
        # --cache can copy it.
        os.makedirs(os.path.join(work, "store"), exist_ok=True)
        info = generate(fill, work, gen)
        first = info["first_day"]
        print(f"{info['recordings']} recordings from {first} to {info['last_day']}", flush=True)
        daemon, config, log, log_path = start_daemon(dockd, work)
        console, host, port, cookie = start_console(ctl, config)
        y, m = int(first[:4]), int(first[5:7])
        month = f"from={y + (m // 12)}-{m % 12 + 1:02d}-01&to={y + (m // 12)}-{m % 12 + 1:02d}-28"
        paths = ["/recordings", "/recordings?page=5", "/recordings?camera=SNTL-00003",
                 "/recordings?agent=PM-0105", f"/recordings?{month}"]
        for n in range(args.runs):
            r = load(host, port, cookie, args.clients, args.seconds, paths)
            runs.append(r)
            print(f"run {n + 1}: {r['requests']} requests, {r['5xx']} 5xx, {r['other']} other failures, "
                  f"median {r['median'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms", flush=True)
        with open(log_path) as f:
            closed = f.read().count("connections already open")
        print(f"control connections the daemon closed at its cap: {closed}")
    finally:
        for p in (console, daemon):
            if p is not None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=120)
        if log is not None:
            log.close()
        shutil.rmtree(work, ignore_errors=True)
    if not runs:
        return 1
    print(f"{args.clients} clients x {args.seconds:.0f} s, {len(runs)} runs: median (min..max)")
    for key, scale, unit in (("requests", 1, ""), ("5xx", 1, ""), ("other", 1, ""),
                             ("median", 1000, " ms"), ("p95", 1000, " ms")):
        values = [r[key] * scale for r in runs]
        print(f"  {key:9} {statistics.median(values):8.0f}{unit} ({min(values):.0f}..{max(values):.0f})")
    return 1 if any(r["5xx"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
