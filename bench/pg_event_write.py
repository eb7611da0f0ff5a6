#!/usr/bin/env python3
"""How the central's PostgreSQL ingest store should write a group commit's events: one INSERT
binding every column as an array (`unnest`, the reference) against COPY FROM STDIN into a
temporary table and one INSERT from it (`copy`), on the same events in the same run.

PostgreSQL is started by this script (initdb into a temporary directory, a free port, fsync and
synchronous_commit on), like the tests do; every round and method gets a fresh database, and the
methods alternate order per round. The driver (millwright-bench pg-event-write) builds the events
in memory as the batch decoder hands them over (bodies shaped like a plant's, 24 presses) and
commits them through PostgresIngestStore: duplicates skipped, new keys returned, edge totals
updated, exactly as the central does.

Run with bench/pg-event-write.
"""
import argparse, os, shutil, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import revision, run_driver
from central_replicas import Postgres

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", default=".build/release")
    p.add_argument("--edges", type=int, default=10)
    p.add_argument("--events", type=int, default=20000, help="events per edge")
    p.add_argument("--batch-events", type=int, default=500)
    p.add_argument("--batches-per-commit", type=int, default=8)
    p.add_argument("--writers", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="millwright-pg-event-write-")
    os.chmod(workdir, 0o755)  # PostgreSQL runs as its own user when this runs as root
    pg = None
    try:
        pg = Postgres(workdir)
        names = [f"bench_{i}" for i in range(a.rounds * 2)]
        for n in names: pg.psql("postgres", f"CREATE DATABASE {n}")
        print(f"revision {revision()}; PostgreSQL on port {pg.port}")
        result = run_driver([os.path.join(a.bin_dir, "millwright-bench"), "pg-event-write", "--port", str(pg.port),
                             "--databases", ",".join(names), "--edges", str(a.edges), "--events", str(a.events),
                             "--batch-events", str(a.batch_events), "--batches-per-commit", str(a.batches_per_commit),
                             "--writers", str(a.writers), "--rounds", str(a.rounds)])
        ratio = result["copy"] / result["unnest"] if result["unnest"] else 0
        print(f"\nmedian events/s: unnest {result['unnest']:,.0f} (reference), copy {result['copy']:,.0f}: ratio {ratio:.2f}")
    finally:
        if pg: pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
