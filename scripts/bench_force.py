#!/usr/bin/env python3
"""Benchmark: a force's register on PostgreSQL, with SQLite beside it in the same run.

1. Commits. `force_commits` (examples/force_commits) runs N docks at once (default 10),
   each its own thread, connection, camera and ingest session, each ingesting recordings
   one after the other through the ingest's own register calls (insert_discovered,
   record_stored, record_state wiped); every record_stored (the commit of a recording and
   its audit entry) is timed. In each pair: 10 docks on PostgreSQL (target: median at
   most 20 ms), then the baselines, 1 dock on PostgreSQL and 10 docks on one SQLite file.
   PostgreSQL runs with fsync on (`scripts/postgres start DIR --durable`), its data on the
   machine's disk.

2. Search pages. `force_search` (examples/force_search) times the query of each of the
   console's pages (50 rows, newest first: pages 1, 20 and 200, a month, a camera, an
   agent, a brigade, a state, a flag, held, a place), as `search` runs it in a read
   transaction, on a PostgreSQL register of 10,000,000 recordings (target: each under
   300 ms) and on an SQLite register of 1,000,000 (`fill_register`, as `scripts/bench
   --register` makes it), alternately. Not through the daemon: on this branch
   `sentinel-dockd` panics opening a PostgreSQL register inside its async runtime
   (the `postgres` crate's blocking client), see docs/performance.md.

Each figure is the median of --pairs runs (default 5), with the spread (min..max).

The filled registers are kept in --cache (default /var/cache/sentinel-dock-bench/force):
the PostgreSQL cluster in CACHE/pg (its database `force` is filled once, server-side,
with INSERT ... SELECT generate_series, in about 11 minutes, and reused by every later
run with the same --recordings, --cameras and --days: delete CACHE/pg to fill again),
and the SQLite register in CACHE/sqlite (remade when its day has passed). The cache
takes about 19 GB (14.5 GB PostgreSQL, 4 GB SQLite).

Run it through `scripts/bench --force`, which builds the release binaries first.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

COMMIT_TARGET_MS = 20.0
PAGE_TARGET = 0.3
PSQL = "/usr/lib/postgresql/15/bin/psql"


def run(argv, **kw):
    return subprocess.run(argv, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


def psql(uri, sql):
    return run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql])


def with_db(admin, name):
    head, _, query = admin.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}?{query}"


def create_db(admin, name, fresh):
    if fresh:
        psql(admin, f"DROP DATABASE IF EXISTS {name}")
    if not psql(admin, f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():
        psql(admin, f"CREATE DATABASE {name}")
    return with_db(admin, name)


# The force's register at scale, written by the server itself. Recordings are spread as
# fill_register spreads them (two shifts a day per camera, each camera's recordings in its
# shift, three agents per camera in three brigades in rotation, 0.3 % quarantined, the rest
# wiped, one attribution each), over DAYS days to yesterday; 1 % carry the flag
# clock-drift and 0.5 % sidecar-no-trailer; one in 20,000 is held. The audit chain and the
# recordings' events are not written (the search pages read neither). The rules' triggers
# are off during the fill (rows are written as the rules leave them) and the indexes are
# built after it, then the tables analysed.
FILL = """
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
-- Neither the rules' triggers nor the foreign keys' checks: rows are written as the
-- rules leave them, consistent by construction.
SET session_replication_role = replica;
CREATE FUNCTION bench_ts(t timestamp) RETURNS text LANGUAGE sql IMMUTABLE
    AS $f$ SELECT to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $f$;
CREATE TEMP TABLE saved_indexes AS
    SELECT indexname, indexdef FROM pg_indexes
    WHERE tablename IN ('recordings', 'attributions')
      AND indexname NOT IN ('recordings_pkey', 'attributions_pkey');
DO $$ DECLARE i record; BEGIN
    FOR i IN SELECT indexname FROM saved_indexes LOOP
        EXECUTE format('DROP INDEX %I', i.indexname);
    END LOOP;
END $$;

CREATE TEMP TABLE p AS SELECT
    {recordings}::bigint AS n, {cameras}::bigint AS c, 3 * {cameras}::bigint AS a,
    {days}::bigint AS d,
    ceil({recordings}::numeric / ({cameras} * {days}))::bigint AS per_day,
    (current_date - {days})::timestamp AS day0;

INSERT INTO cameras (serial, model, firmware, first_seen, last_seen)
    SELECT format('SNTL-%s', lpad(k::text, 5, '0')), 'SENTINEL-BWC2', '2.3.1',
           to_char(p.day0 - interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    FROM p, generate_series(1, p.c) k;
INSERT INTO enrolments (serial, model, enrolled_at, enrolled_by)
    SELECT serial, model, first_seen, 'chef-pm' FROM cameras;
INSERT INTO agents (matricule, name, brigade, added_at, added_by)
    SELECT format('PM-%s', lpad((100 + k)::text, 4, '0')), format('Agent %s', 100 + k),
           (ARRAY['jour', 'soir', 'VTT'])[1 + (k - 1) % 3],
           to_char(p.day0 - interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'chef-pm'
    FROM p, generate_series(1, p.a) k;

-- One session and one assignment per camera and shift: id = (day * 2 + shift) * c + camera + 1.
CREATE TEMP TABLE shifts AS
    SELECT s AS id, s % p.c AS cam, s / p.c / 2 AS day, (s / p.c) % 2 AS shift,
           p.day0 + make_interval(days => (s / p.c / 2)::int, hours => 6 + 8 * ((s / p.c) % 2)::int) AS at,
           format('SNTL-%s', lpad((1 + s % p.c)::text, 5, '0')) AS camera,
           format('PM-%s', lpad((101 + (s % p.c + p.c * ((s / p.c) % 3)) % p.a)::text, 4, '0')) AS agent
    FROM p, generate_series(0, 2 * p.c * p.d - 1) s;
INSERT INTO sessions (id, camera, source, profile, started_at, finished_at, outcome)
    SELECT id + 1, camera, 'usb', 'sentinel-bwc2',
           to_char(at + interval '450 minutes', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           to_char(at + interval '470 minutes', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'complete'
    FROM shifts;
INSERT INTO assignments (id, camera, agent, issued_at, issued_by, returned_at, returned_by)
    SELECT id + 1, camera, agent, to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'chef-pm',
           to_char(at + interval '450 minutes', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'dock'
    FROM shifts;

-- Recording i: camera i % c; its k-th of that camera (k = i / c) on day k / per_day, in the
-- morning shift for the first half of the day's, else the afternoon's, 7.5 hours each.
INSERT INTO recordings (id, camera, stem, session, state, start_utc, end_utc, prerecord_secs,
        duration_secs, video_size, video_blake3, video_sha256, video_path, sidecar_size,
        sidecar_blake3, sidecar_sha256, sidecar_path, gps_fixes, gps_no_fix, gps_first_at,
        gps_first_lat, gps_first_lon, gps_last_at, gps_last_lat, gps_last_lon, gps_min_lat,
        gps_max_lat, gps_min_lon, gps_max_lon, flags, reasons, discovered_at, updated_at,
        attribution_pending, retention_from, time_source, recorded_at)
SELECT i + 1, camera, stem, session, state, s_txt, e_txt, 10, dur + 0.04,
       (dur * 972222 * (0.95 + 0.1 * r1))::bigint, m1 || m2, m2 || m1,
       format('%s/%s/%s/%s.MP4', area, left(s_txt, 10), camera, stem),
       120 + (dur + 10) * 150, reverse(m1) || m2, reverse(m2) || m1,
       format('%s/%s/%s/%s.NMEA', area, left(s_txt, 10), camera, stem),
       dur + 10, 0, s_txt, lat, lon, e_txt, lat2, lon2,
       least(lat, lat2), greatest(lat, lat2), least(lon, lon2), greatest(lon, lon2),
       CASE WHEN h % 1000 < 10 THEN '["clock-drift"]'
            WHEN h % 1000 < 15 THEN '["sidecar-no-trailer"]' ELSE '[]' END,
       CASE WHEN state = 'quarantined'
            THEN '["sha256-mismatch: the sidecar declares another SHA-256 than the bytes read from the camera"]'
            ELSE '[]' END,
       bench_ts(stop + interval '470 minutes'), bench_ts(stop + interval '475 minutes'), 0,
       e_txt, 'camera', s_txt
FROM (
    SELECT *, bench_ts(start) AS s_txt, bench_ts(stop) AS e_txt, md5(m1) AS m2 FROM (
    SELECT i, camera, stem, session, start, start + make_interval(secs => dur) AS stop, dur, h,
           r1, lat, lon, lat + (r2 - 0.5) * dur * 2e-5 AS lat2, lon + (r3 - 0.5) * dur * 2e-5 AS lon2,
           CASE WHEN h % 1000 >= 997 THEN 'quarantined' ELSE 'wiped' END AS state,
           CASE WHEN h % 1000 >= 997 THEN 'quarantine' ELSE 'recordings' END AS area,
           md5(i::text) AS m1
    FROM (
        SELECT i, cam, format('SNTL-%s', lpad((1 + cam)::text, 5, '0')) AS camera,
               format('SNTL-%s_%s_%s', lpad((1 + cam)::text, 5, '0'),
                      to_char(start, 'YYYYMMDD_HH24MISS'), lpad((k % 10000)::text, 4, '0')) AS stem,
               (day * 2 + shift) * c + cam + 1 AS session, start, 60 + h % 120 AS dur, h,
               (h % 9973) / 9973.0 AS r1, (h % 7919) / 7919.0 AS r2, (h % 7907) / 7907.0 AS r3,
               45.0434 + ((h % 4001) / 4000.0 - 0.5) * 0.04 AS lat,
               5.0517 + ((h % 3989) / 3988.0 - 0.5) * 0.04 AS lon
        FROM (
            SELECT x.i, x.cam, x.k, x.day, x.shift, p.c,
                   p.day0 + make_interval(days => day::int, hours => 6 + 8 * shift::int,
                                          secs => (j - shift * half) * 27000.0 / half + cam * 7) AS start,
                   abs(hashint8(i))::bigint AS h
            FROM (
                SELECT i, i % p.c AS cam, i / p.c AS k, (i / p.c) / p.per_day AS day,
                       (i / p.c) % p.per_day AS j,
                       CASE WHEN (i / p.c) % p.per_day < (p.per_day + 1) / 2 THEN 0 ELSE 1 END AS shift,
                       (p.per_day + 1) / 2 AS half
                FROM p, generate_series(0, p.n - 1) i
            ) x, p
        ) y
    ) z
) w OFFSET 0
) v;

INSERT INTO attributions (id, recording, agent, kind, assignment, attributed_by, attributed_at, reason)
    SELECT r.id, r.id, s.agent, 'automatic', r.session, 'sentinel-dockd', r.updated_at,
           format('camera %s issued to agent %s', r.camera, s.agent)
    FROM recordings r JOIN shifts s ON s.id + 1 = r.session;
INSERT INTO holds (recording, procedure_ref, placed_by, placed_at, reason)
    SELECT id, format('PV-%s', id), 'chef-pm', updated_at, 'requisition'
    FROM recordings WHERE id % 20000 = 7;

DO $$ DECLARE i record; BEGIN
    FOR i IN SELECT indexdef FROM saved_indexes LOOP EXECUTE i.indexdef; END LOOP;
END $$;
SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT coalesce(max(id), 1) FROM sessions))
    FROM (VALUES ('sessions'), ('assignments')) v(t);
SELECT setval(pg_get_serial_sequence('recordings', 'id'), (SELECT max(id) FROM recordings));
SELECT setval(pg_get_serial_sequence('attributions', 'id'), (SELECT max(id) FROM attributions));
DROP FUNCTION bench_ts(timestamp);
"""

def fill_postgres(uri, force_commits, args):
    """The 10,000,000-recording register in the cluster, made once and kept."""
    params = {"recordings": args.recordings, "cameras": args.cameras, "days": args.days}
    done = psql(uri, "SELECT to_regclass('bench_fill') IS NOT NULL").strip() == "t"
    if done:
        info = json.loads(psql(uri, "SELECT info FROM bench_fill"))
        if info.get("params") == params:
            print(f"PostgreSQL: the register filled at {info['at']} is reused "
                  f"({info['recordings']} recordings, {info['size']})", flush=True)
            return info
        raise SystemExit(f"the cached PostgreSQL register was filled with {info['params']}, "
                         f"not {params}: delete {args.cache}/pg to fill it again")
    need = args.recordings * 2000  # 1.7 kB a recording with its indexes, and the WAL's
    free = shutil.disk_usage(args.cache).free
    if free < need:
        raise SystemExit(f"{args.cache} has {free / 1e9:.1f} GB free; the fill needs about "
                         f"{need / 1e9:.1f} GB: free some, or give --cache on a larger disk")
    print(f"PostgreSQL: filling {args.recordings} recordings ({args.cameras} cameras, "
          f"{args.days} days) ...", flush=True)
    run([force_commits, "--url", uri, "--schema-only"])
    t0 = time.monotonic()
    sql = FILL.format(**params)
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", uri, "-1"],
                   input=sql, text=True, check=True, stdout=subprocess.DEVNULL)
    psql(uri, "VACUUM (ANALYZE) recordings, attributions, holds, agents, sessions")
    seconds = time.monotonic() - t0
    size = psql(uri, "SELECT pg_size_pretty(pg_database_size(current_database()))").strip()
    info = {"params": params, "at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "recordings": int(psql(uri, "SELECT count(*) FROM recordings")), "size": size,
            "seconds": seconds}
    psql(uri, f"CREATE TABLE bench_fill (info text); INSERT INTO bench_fill VALUES ('{json.dumps(info)}')")
    print(f"PostgreSQL: {info['recordings']} recordings in {seconds:.0f} s, {size}", flush=True)
    return info


def fill_sqlite(fill, args):
    """The 1,000,000-recording SQLite register, made by fill_register in the cache and used
    there (the search pages change nothing); made again when its day has passed."""
    folder = os.path.join(args.cache, "sqlite")
    register, info_path = os.path.join(folder, "register.sqlite"), os.path.join(folder, "fill.json")
    params = ["--recordings", str(args.sqlite_recordings), "--due", str(args.sqlite_recordings // 10),
              "--retention-days", str(args.retention_days), "--cameras", "8"]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        if info.get("params") == params and info["now"][:10] == today:
            print(f"SQLite: the register made at {info['now']} is reused", flush=True)
            return register, info
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    print(f"SQLite: making the register: {' '.join(params)} ...", flush=True)
    out = run([fill, "--register", register, *params])
    info = json.loads(out.strip().splitlines()[-1])
    info["params"] = params
    with open(info_path, "w") as f:
        json.dump(info, f)
    return register, info


def commits(force_commits, admin, work, args):
    """--pairs rounds of: 10 docks on PostgreSQL, 1 dock on PostgreSQL, 10 on SQLite."""
    uri = create_db(admin, "force_commits", fresh=True)
    run([force_commits, "--url", uri, "--schema-only"])
    runs = {"pg10": [], "pg1": [], "sqlite10": []}
    for pair in range(1, args.pairs + 1):
        sqlite = os.path.join(work, f"commits-{pair}.sqlite")
        kinds = [("pg10", ["--url", uri, "--docks", str(args.docks)]),
                 ("pg1", ["--url", uri, "--docks", "1"]),
                 ("sqlite10", ["--sqlite", sqlite, "--docks", str(args.docks)])]
        for kind, argv in kinds:
            out = run([force_commits, *argv, "--recordings", str(args.per_dock),
                       "--tag", f"{pair}{kind}"])
            r = json.loads(out.strip().splitlines()[-1])
            r["load"] = os.getloadavg()[0]
            runs[kind].append(r)
            print(f"  pair {pair} {kind:9} record_stored median {r['stored_median_ms']:6.2f} ms, "
                  f"p95 {r['stored_p95_ms']:6.2f} ms ({r['recordings']} commits, load {r['load']:.1f})",
                  flush=True)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(sqlite + suffix):
                os.remove(sqlite + suffix)
    return runs


def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}..{fmt.format(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5, help="runs of each figure (median and spread)")
    ap.add_argument("--docks", type=int, default=10)
    ap.add_argument("--per-dock", type=int, default=100, help="recordings each dock commits")
    ap.add_argument("--recordings", type=int, default=10_000_000, help="on PostgreSQL")
    ap.add_argument("--cameras", type=int, default=80, help="on PostgreSQL: a force's (10 docks x 8)")
    ap.add_argument("--days", type=int, default=400, help="on PostgreSQL, to yesterday")
    ap.add_argument("--sqlite-recordings", type=int, default=1_000_000)
    ap.add_argument("--retention-days", type=int, default=360, help="the SQLite fill's")
    ap.add_argument("--only", choices=["commits", "pages"], default=None)
    ap.add_argument("--bin", default="target/release", help="folder of the binaries")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--cache", default="/var/cache/sentinel-dock-bench/force",
                    help="where the filled registers are kept between runs")
    args = ap.parse_args()
    binaries = os.path.abspath(args.bin)
    force_commits = os.path.join(binaries, "examples", "force_commits")
    force_search = os.path.join(binaries, "examples", "force_search")
    fill = os.path.join(binaries, "examples", "fill_register")
    os.makedirs(args.cache, exist_ok=True)
    pg_dir = os.path.join(args.cache, "pg")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postgres")
    work = tempfile.mkdtemp(prefix="sentinel-bench-force-", dir=args.dir)
    os.chmod(work, 0o755)
    failed = False
    try:
        # A server left by an interrupted run may run without fsync: start it afresh.
        run([script, "stop", pg_dir])
        admin = run([script, "start", pg_dir, "--durable"]).strip()
        print(f"PostgreSQL 15, fsync on, data in {pg_dir}; load {os.getloadavg()}", flush=True)
        if args.only in (None, "commits"):
            runs = commits(force_commits, admin, work, args)
            print(f"\nrecord_stored, {args.pairs} runs each: median of the runs' medians (min..max)")
            for kind, label in (("pg10", f"PostgreSQL, {args.docks} docks"),
                                ("pg1", "PostgreSQL, 1 dock"),
                                ("sqlite10", f"SQLite, {args.docks} docks")):
                med = [r["stored_median_ms"] for r in runs[kind]]
                p95 = [r["stored_p95_ms"] for r in runs[kind]]
                mark = ""
                if kind == "pg10":
                    ok = statistics.median(med) <= COMMIT_TARGET_MS
                    failed |= not ok
                    mark = f"target {COMMIT_TARGET_MS:.0f} ms {'ok' if ok else 'OVER'}"
                print(f"  {label:24} median {spread(med, '{:.2f}')} ms, p95 {spread(p95, '{:.2f}')} ms  {mark}")
            ratio = [a["stored_median_ms"] / b["stored_median_ms"] for a, b in zip(runs["pg10"], runs["pg1"])]
            ratio_s = [a["stored_median_ms"] / b["stored_median_ms"] for a, b in zip(runs["pg10"], runs["sqlite10"])]
            print(f"  PostgreSQL 10 docks / 1 dock: {spread(ratio, '{:.2f}')}; "
                  f"/ SQLite 10 docks: {spread(ratio_s, '{:.2f}')}")
        if args.only in (None, "pages"):
            uri = create_db(admin, "force", fresh=False)
            info = fill_postgres(uri, force_commits, args)
            sqlite, sq_info = fill_sqlite(fill, args)
            # Each register's month is the same distance before its own last day.
            lasts = {"pg": (datetime.date.today() - datetime.timedelta(days=1)).isoformat(),
                     "sqlite": sq_info["last_day"]}
            where = {"pg": ["--url", uri], "sqlite": ["--sqlite", sqlite]}
            results = {}
            for pair in range(args.pairs):
                for engine in ("pg", "sqlite"):
                    out = run([force_search, *where[engine], "--last-day", lasts[engine], "--runs", "1"])
                    for page in json.loads(out):
                        results.setdefault((page["page"], engine), []).append(
                            (page["seconds"][0], page["rows"], page["more"]))
                print(f"  pair {pair + 1} done, load {os.getloadavg()[0]:.1f}", flush=True)
            print(f"\nsearch pages (the query of each, in a read transaction), {args.pairs} runs each,"
                  f" median (min..max) in seconds; load {os.getloadavg()}")
            names = [p["page"] for p in json.loads(out)]
            head_pg, head_sq = f"PostgreSQL {info['recordings']:,}", f"SQLite {sq_info['recordings']:,}"
            print(f"{'page':22} {head_pg:>34} {head_sq:>34}  target {PAGE_TARGET} s")
            for name in names:
                cells = []
                for engine in ("pg", "sqlite"):
                    rs = results[(name, engine)]
                    cells.append(f"{spread([r[0] for r in rs], '{:.3f}')} [{rs[0][1]}{'+' if rs[0][2] else ''} rows]")
                ok = statistics.median(r[0] for r in results[(name, "pg")]) <= PAGE_TARGET
                failed |= not ok
                print(f"{name:22} {cells[0]:>34} {cells[1]:>34}  {'ok' if ok else 'OVER'}")
    finally:
        subprocess.run([script, "stop", pg_dir])
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
