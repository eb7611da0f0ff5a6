#!/usr/bin/env python3
"""Central replicas on PostgreSQL: ingest throughput with one, two and three replicas, beside the
SQLite figure, in one run.

`millwright-bench make-batches` builds, for each simulated edge, N events in protocol-v1 batches
byte for byte as the edge's uplink encodes them. Each configuration gets a fresh store, then all
edges publish their batches QoS 1 at once over raw sockets (the publishers are never the limit),
and the clock runs until the store holds every event:

  sqlite     one millwright-central on its SQLite file (the embedded default; the reference)
  pg-1..3    1, 2 and 3 replicas on one PostgreSQL, subscribed as $share/centrals/...

PostgreSQL is started by this script (initdb into a temporary directory, a free port, durable
settings: fsync and synchronous_commit on), like the tests do. Run with bench/central-replicas.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (cpu_seconds, free_port, median, publish_qos1, read_batches, revision, run_driver, sqlite_value,
                      start_broker, stop, wait_for_log)
from central_ingest import streams_of

class Postgres:
    def __init__(self, workdir):
        bins = sorted(os.listdir("/usr/lib/postgresql"), key=int)
        self.bin = f"/usr/lib/postgresql/{bins[-1]}/bin"
        self.dir = os.path.join(workdir, "postgres")
        os.makedirs(self.dir)
        self.prefix = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.prefix = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        data = os.path.join(self.dir, "data")
        subprocess.run(self.prefix + [f"{self.bin}/initdb", "-D", data, "-U", "millwright", "--auth=trust", "-E", "UTF8",
                                      "--no-locale"], check=True, stdout=subprocess.DEVNULL)
        self.port = free_port()
        self.proc = subprocess.Popen(self.prefix + [f"{self.bin}/postgres", "-D", data, "-p", str(self.port), "-k", self.dir,
                                                    "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100",
                                                    "-c", "shared_buffers=256MB"],
                                     stdout=open(os.path.join(self.dir, "log"), "w"), stderr=subprocess.STDOUT)
        for _ in range(600):
            if subprocess.run([f"{self.bin}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0: return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def fresh_store(self, tag):
        """A new database for one configuration's run: its name and the central's `store` section."""
        db = f"bench_{tag.replace('-', '_')}"
        self.psql("postgres", f"CREATE DATABASE {db}")
        return db, (f"store: {{ backend: postgresql, host: 127.0.0.1, port: {self.port}, user: millwright, database: {db}, "
                    f"tls: disable, connections: 4 }}\n")

    def psql(self, db, sql):
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U", "millwright",
                              "-d", db, "-c", sql], capture_output=True, text=True)
        return out.stdout.strip()

    def cpu(self):
        """CPU seconds of the postmaster and every backend and worker it runs now."""
        total = cpu_seconds(self.proc.pid)
        for pid in os.listdir("/proc"):
            if not pid.isdigit(): continue
            try:
                with open(f"/proc/{pid}/stat") as f: fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid: total += cpu_seconds(int(pid))
        return total

    def stop(self):
        self.proc.send_signal(2)
        try: self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired: self.proc.kill()

def start_central(binary, workdir, tag, port, store_yaml, shared, group, extra="", ready="MQTT connected"):
    """A central with its own data dir; `extra` is more configuration, `ready` the log line to wait for."""
    d = os.path.join(workdir, tag)
    os.makedirs(d)
    cfg = os.path.join(d, "central.yaml")
    with open(cfg, "w") as f:
        f.write(f"central: bench-{tag}\ndata_dir: data\nbroker: {{ port: {port}, client_id: bench-{tag} }}\n")
        # A share group per configuration: a stopped replica's persistent session keeps getting its
        # share of the group's batches until it expires (docs/SCALING.md), which would starve a later run.
        if shared: f.write(f"ingest: {{ shared_subscription: {group} }}\n")
        f.write(extra)
        f.write(store_yaml)
    log = os.path.join(d, "central.log")
    proc = subprocess.Popen([binary, "run", "--config", cfg, "--log-level", "info"], stdout=open(log, "w"), stderr=subprocess.STDOUT)
    if not wait_for_log(log, ready, timeout=60):
        raise RuntimeError(f"the central did not log '{ready}'; see {log}")
    return proc, d

def run(binary, workdir, port, streams, total, replicas, pg, tag, timeout):
    if pg:
        db, store = pg.fresh_store(tag)
        count = lambda: int(pg.psql(db, "SELECT COALESCE(SUM(events), 0) FROM edges") or 0)
    else:
        store = ""
    procs = [start_central(binary, workdir, f"{tag}-{i}", port, store, shared=pg is not None, group=f"centrals-{tag}")
             for i in range(1, replicas + 1)]
    if not pg:
        path = os.path.join(procs[0][1], "data", "central.sqlite")
        count = lambda: sqlite_value(path, "SELECT SUM(events) FROM edges")
    time.sleep(0.5)  # SUBACKs
    try:
        cpu0 = sum(cpu_seconds(p.pid) for p, _ in procs)
        db_cpu0 = pg.cpu() if pg else 0
        start, _ = publish_qos1(port, streams)
        stored, deadline = 0, time.time() + timeout
        while time.time() < deadline:
            stored = count() or 0
            if stored >= total: break
            time.sleep(0.1)
        seconds = time.time() - start
        cpu = sum(cpu_seconds(p.pid) for p, _ in procs) - cpu0
        db_cpu = (pg.cpu() - db_cpu0) if pg else 0
        return dict(rate=stored / seconds, seconds=seconds, stored=stored, cpu=cpu / max(1, stored) * 1e6,
                    db_cpu=db_cpu / max(1, stored) * 1e6)
    finally:
        for p, _ in procs: stop(p)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=".build/release")
    ap.add_argument("--edges", type=int, default=10)
    ap.add_argument("--events", type=int, default=20_000, help="events per simulated edge")
    ap.add_argument("--batch-events", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--max-replicas", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    bench, central_bin = os.path.join(a.bin_dir, "millwright-bench"), os.path.join(a.bin_dir, "millwright-central")
    workdir = tempfile.mkdtemp(prefix="millwright-central-replicas-")
    if os.geteuid() == 0: os.chmod(workdir, 0o755)
    broker, port = start_broker(workdir, "central")
    pg = None
    try:
        pg = Postgres(workdir)
        print(f"revision: {revision()}")
        batch_file = os.path.join(workdir, "batches.txt")
        made = run_driver([bench, "make-batches", "--out", batch_file, "--edges", str(a.edges), "--events", str(a.events),
                           "--batch-events", str(a.batch_events)])
        streams = streams_of(read_batches(batch_file))
        os.unlink(batch_file)
        total = made["events"]
        print(f"{a.edges} simulated edges x {a.events:,} events = {total:,} events in {made['batches']:,} QoS 1 batches; "
              f"PostgreSQL {pg.bin.split('/')[-2]} with fsync and synchronous_commit on; {os.cpu_count()} cores shared by all")
        configs = [("sqlite", 1, None)] + [(f"pg-{n}", n, pg) for n in range(1, a.max_replicas + 1)]
        results = {name: [] for name, _, _ in configs}
        print(f"{'round':>5} {'store':>7} {'replicas':>8} {'events/s':>10} {'vs sqlite':>9} {'central CPU us/ev':>18} "
              f"{'postgres CPU us/ev':>19} {'stored':>9}")
        for r in range(1, a.rounds + 1):
            base = None
            for name, replicas, db in configs:
                res = run(central_bin, workdir, port, streams, total, replicas, db, f"{name}-r{r}", a.timeout)
                results[name].append(res["rate"])
                base = base or res["rate"]
                print(f"{r:>5} {name.split('-')[0]:>7} {replicas:>8} {res['rate']:>10,.0f} {res['rate'] / base:>9.2f} "
                      f"{res['cpu']:>18.1f} {res['db_cpu']:>19.1f} {res['stored']:>9,}")
                if res["stored"] < total: print(f"      stored only {res['stored']:,} of {total:,} within {a.timeout:.0f} s")
        print("\nmedian events/s: " + ", ".join(f"{k} {median(v):,.0f}" for k, v in results.items()))
    finally:
        if pg: pg.stop()
        stop(broker)
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
