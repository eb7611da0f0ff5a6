#!/usr/bin/env python3
"""How long the first start of the release that partitions `events` on PostgreSQL (migration
"retention v2") takes on a store of the earlier schema: N events of a plant's mix spread over the
last 12 months, migrated by opening the database as the central does, beside the reference: a plain
copy of the same table into an unpartitioned one (INSERT ... SELECT) in the same run.

PostgreSQL is started by this script (initdb into a temporary directory, a free port), like the
tests do. Run with bench/pg-partition-upgrade.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import revision, run_driver
from central_replicas import Postgres

STEP = "retention v2: events partitioned by class and month"
TYPES = ["summary", "value_reported", "count", "state_changed", "limit_raised", "limit_cleared", "downtime"]

def fill(pg, db, n):
    types = "ARRAY[" + ",".join(f"'{t}'" for t in TYPES) + "]"
    body = "repeat('x', 600)"
    pg.psql(db, f"""
        INSERT INTO events (edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at,
            edge_received_at, central_received_at, is_historical, body)
        SELECT 'gw-' || (s % 10), 1, s, 'e' || s, 'plant-a', 'press-' || (s % 24), 'temp', ({types})[1 + s % {len(TYPES)}], 1,
            (extract(epoch FROM now()) * 1000)::bigint - (s::bigint * 31536000000 / {n}), 0, 0, false, {body}
        FROM generate_series(1, {n}) AS s""")
    pg.psql(db, "VACUUM ANALYZE events")

def timed(pg, db, sql):
    t = time.time()
    pg.psql(db, sql)
    return time.time() - t

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", default=".build/release")
    p.add_argument("--events", type=int, default=1_000_000)
    a = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="millwright-pg-upgrade-")
    os.chmod(workdir, 0o755)
    pg = None
    driver = os.path.join(a.bin_dir, "millwright-bench")
    try:
        pg = Postgres(workdir)
        print(f"revision {revision()}; PostgreSQL on port {pg.port}; {a.events:,} events over 12 months")
        schema = subprocess.run([driver, "pg-upgrade", "--schema-until", STEP], capture_output=True, text=True, check=True).stdout
        pg.psql("postgres", "CREATE DATABASE bench")
        path = os.path.join(workdir, "schema.sql")
        with open(path, "w") as f: f.write(schema)
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "millwright",
                        "-d", "bench", "-f", path], check=True, stdout=subprocess.DEVNULL)
        fill(pg, "bench", a.events)
        size = pg.psql("bench", "SELECT pg_size_pretty(pg_total_relation_size('events'))")
        reference = timed(pg, "bench", "CREATE TABLE events_copy (LIKE events INCLUDING DEFAULTS); INSERT INTO events_copy SELECT * FROM events")
        pg.psql("bench", "DROP TABLE events_copy")
        result = run_driver([driver, "pg-upgrade", "--port", str(pg.port), "--database", "bench"])
        moved = pg.psql("bench", "SELECT count(*) FROM events")
        parts = pg.psql("bench", "SELECT count(*) FROM pg_class WHERE relispartition AND relname LIKE 'events%'")
        print(f"\nevents table {size}; migrated {moved} events into {parts} partitions in {result['seconds']:.1f} s "
              f"({int(moved) / result['seconds']:,.0f} events/s); reference, a plain copy of the table: {reference:.1f} s "
              f"(ratio {result['seconds'] / reference:.2f})")
    finally:
        if pg: pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
