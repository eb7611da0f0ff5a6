#!/usr/bin/env python3
"""Moving a central from SQLite to PostgreSQL (`millwright-central migrate-store`): how long it
takes for N events, beside PostgreSQL's own bulk load (COPY) of the same rows into the same schema,
measured in the same run.

The SQLite store is made by the central itself (`status` creates and migrates the file), then filled
with N events shaped like a plant's (10 edges, event bodies as the edge commits them) by sqlite3
directly, which is fixture making, not what is measured. PostgreSQL is started by this script
(initdb into a temporary directory, a free port, durable settings), like the tests do.

  copy       the events exported to CSV beforehand, loaded with psql's \\copy into an empty,
             migrated database: the database's ceiling for these rows (the reference)
  migrate    millwright-central migrate-store into another empty database: read from SQLite,
             multi-row inserts in one transaction, row counts compared, cursor translated

Run with bench/migrate-store.
"""
import argparse, json, os, sqlite3, subprocess, sys, tempfile, time, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import revision
from central_replicas import Postgres

COLUMNS = ("id, edge, boot_epoch, seq, event_id, site, equipment, signal, type, priority, occurred_at, edge_received_at, "
           "central_received_at, is_historical, body")

def make_sqlite(binary, workdir, n, edges):
    d = os.path.join(workdir, "sqlite")
    os.makedirs(d)
    cfg = os.path.join(d, "central.yaml")
    with open(cfg, "w") as f: f.write(f"central: bench\ndata_dir: {d}/data\nbroker: {{ port: 1883 }}\n")
    subprocess.run([binary, "status", "--config", cfg], check=True, stdout=subprocess.DEVNULL)
    db = sqlite3.connect(os.path.join(d, "data", "central.sqlite"))
    base = 1_764_000_000_000
    rows = []
    with db:
        for i in range(n):
            edge, seq = f"gw-{i % edges}", i // edges + 1
            at = base + i * 10
            body = json.dumps({"v": 1, "event_id": str(uuid.UUID(int=i)), "edge": edge, "site": "plant-a", "boot_epoch": 3,
                               "seq": seq, "equipment": f"press-{i % 40}", "signal": "temperature", "type": "limit_raised",
                               "priority": 0, "occurred_at": at, "edge_received_at": at, "is_historical": False,
                               "values": {"value": 81.5 + i % 7, "limit": 80.0, "deadband": 0.5}}, separators=(",", ":"))
            rows.append((i + 1, edge, 3, seq, str(uuid.UUID(int=i)), "plant-a", f"press-{i % 40}", "temperature",
                         "limit_raised", 0, at, at, at + 40, 0, body))
            if len(rows) == 10_000:
                db.executemany(f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 15)})", rows)
                rows = []
        if rows: db.executemany(f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 15)})", rows)
        for e in range(edges):
            db.execute("INSERT INTO edges (edge, site, first_seen, last_seen, last_epoch, last_seq, events) VALUES (?, 'plant-a', ?, ?, 3, ?, ?)",
                       (f"gw-{e}", base, base, n // edges, n // edges))
        db.execute("INSERT INTO cursors (name, value, position) VALUES ('reconcile', ?, ?)", (n // 2, f"0:{n // 2}"))
    db.close()
    return cfg, os.path.join(d, "data", "central.sqlite")

def pg_config(workdir, name, pg, database):
    path = os.path.join(workdir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(f"central: bench\nbroker: {{ port: 1883 }}\nstore:\n  backend: postgresql\n  host: 127.0.0.1\n"
                f"  port: {pg.port}\n  user: millwright\n  database: {database}\n  tls: disable\n")
    return path

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=".build/release")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=10)
    a = ap.parse_args()
    binary = os.path.join(a.bin_dir, "millwright-central")
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as workdir:
        if os.geteuid() == 0: os.chmod(workdir, 0o755)  # PostgreSQL runs as its own user
        print(f"revision: {revision()}")
        t = time.monotonic()
        old_cfg, sqlite_file = make_sqlite(binary, workdir, a.events, a.edges)
        size = os.path.getsize(sqlite_file)
        print(f"{a.events:,} events from {a.edges} edges in a SQLite store of {size / 2**20:,.0f} MiB (made in {time.monotonic() - t:.0f} s)")
        pg = Postgres(workdir)
        try:
            for db in ("reference", "target"):
                pg.psql("postgres", f"CREATE DATABASE {db}")
                # The central creates and migrates its tables on the first open.
                subprocess.run([binary, "status", "--config", pg_config(workdir, db, pg, db)], check=True, stdout=subprocess.DEVNULL)
            csv = os.path.join(workdir, "events.csv")
            with open(csv, "w") as out:
                subprocess.run(["sqlite3", "-csv", sqlite_file,
                                f"SELECT {COLUMNS.replace('is_historical', 'CASE is_historical WHEN 0 THEN 0 ELSE 1 END')} FROM events ORDER BY id"],
                               check=True, stdout=out)
            t = time.monotonic()
            r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "millwright",
                                "-d", "reference", "-c",
                                f"\\copy events ({COLUMNS}) OVERRIDING SYSTEM VALUE FROM '{csv}' WITH (FORMAT csv)"],
                               capture_output=True, text=True)
            copy_s = time.monotonic() - t
            if r.returncode != 0:
                # Older psql versions cannot say OVERRIDING in \copy; COPY into an identity column works without it.
                t = time.monotonic()
                subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "millwright",
                                "-d", "reference", "-c", f"\\copy events ({COLUMNS}) FROM '{csv}' WITH (FORMAT csv)"], check=True)
                copy_s = time.monotonic() - t
            copied = int(pg.psql("reference", "SELECT COUNT(*) FROM events"))

            t = time.monotonic()
            m = subprocess.run([binary, "migrate-store", "--from", old_cfg, "--to", pg_config(workdir, "target", pg, "target")],
                               capture_output=True, text=True)
            migrate_s = time.monotonic() - t
            if m.returncode != 0:
                print(m.stderr); sys.exit(1)
            moved = int(pg.psql("target", "SELECT COUNT(*) FROM events"))
            print(f"\n{'':>8} {'events':>10} {'seconds':>8} {'events/s':>10} {'vs copy':>8}")
            print(f"{'copy':>8} {copied:>10,} {copy_s:>8.1f} {copied / copy_s:>10,.0f} {1:>8.2f}")
            print(f"{'migrate':>8} {moved:>10,} {migrate_s:>8.1f} {moved / migrate_s:>10,.0f} {(moved / migrate_s) / (copied / copy_s):>8.2f}")
            print("\n(copy excludes exporting the CSV; migrate is the whole command: open, lock, read, insert, compare counts, commit)")
        finally:
            pg.stop()

if __name__ == "__main__":
    main()
