#!/usr/bin/env python3
"""Posting throughput with one, two and three central replicas on PostgreSQL, beside one central on
SQLite, in one run.

Each configuration gets a fresh store and N due postings of kind `escalation`, routed to an `mqtt`
target (QoS 1 on the central broker: a target that answers at once, so the central's delivery path
is what is measured, not an ERP). The postings are written straight into the store's `postings`
table once every replica has started (fixture making, not measured); the clock runs until every
posting is `acked`. A subscriber on the target topic counts what was published: each posting must
arrive once, so a replica that delivered a posting another had claimed would show as a duplicate.

Each delivery is three commits (claimed as sent, acknowledged, the target's health) and one QoS 1
publish; replicas claim postings with FOR UPDATE SKIP LOCKED, so they work side by side. PostgreSQL
is started by this script (initdb into a temporary directory, a free port, durable settings). Run
with bench/central-postings.
"""
import argparse, os, shutil, sqlite3, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_seconds, median, revision, start_broker, stop
from central_replicas import Postgres, start_central

TOPIC = "bench/escalations"

class Counter:
    """Counts messages on the target topic (paho-mqtt, QoS 1, its own session)."""
    def __init__(self, port, tag):
        import paho.mqtt.client as mqtt
        self.seen, self.lock = {}, threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-counter-{tag}")
        self.client.on_message = self.on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"{TOPIC}/#", qos=1)
        self.client.loop_start()
        time.sleep(0.5)

    def on_message(self, client, userdata, msg):
        with self.lock: self.seen[msg.payload] = self.seen.get(msg.payload, 0) + 1

    def stop(self):
        self.client.loop_stop(); self.client.disconnect()
        with self.lock: return len(self.seen), sum(self.seen.values()) - len(self.seen)

def insert_sql(n, now_ms, pg):
    sources = "'{}'::text[]" if pg else "'[]'"
    key = "'bench-' || g" if pg else "'bench-' || value"
    payload = ("'{\"equipment\":\"press-' || (g % 40) || '\",\"n\":' || g || '}'" if pg
               else "'{\"equipment\":\"press-' || (value % 40) || '\",\"n\":' || value || '}'")
    series = f"generate_series(1, {n}) AS g" if pg else "s"
    prefix = "" if pg else f"WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < {n}) "
    return (prefix + f"INSERT INTO postings (idempotency_key, target, kind, line, payload, sources, status, attempts, next_attempt_at, "
            f"created_at, updated_at) SELECT {key}, 'uns', 'escalation', '', {payload}, {sources}, 'pending', 0, 0, {now_ms}, {now_ms} "
            f"FROM {series}")

def run(binary, workdir, port, n, replicas, pg, tag, timeout):
    db, store = pg.fresh_store(tag) if pg else (None, "")
    target = f"targets:\n  uns: {{ kind: mqtt, topic: \"{TOPIC}/{{equipment}}\" }}\nroutes:\n  escalation: uns\n"
    procs = [start_central(binary, workdir, f"{tag}-{i}", port, store, shared=pg is not None, group=f"centrals-{tag}",
                           extra=target, ready="central ready") for i in range(1, replicas + 1)]
    counter = Counter(port, tag)
    try:
        now_ms = int(time.time() * 1000)
        if pg:
            pg.psql(db, insert_sql(n, now_ms, True))
            acked = lambda: int(pg.psql(db, "SELECT COUNT(*) FROM postings WHERE status = 'acked'") or 0)
        else:
            path = os.path.join(procs[0][1], "data", "central.sqlite")
            con = sqlite3.connect(path, timeout=30)
            with con: con.execute(insert_sql(n, now_ms, False))
            acked = lambda: con.execute("SELECT COUNT(*) FROM postings WHERE status = 'acked'").fetchone()[0]
        start = time.time()
        cpu0 = sum(cpu_seconds(p.pid) for p, _ in procs)
        db_cpu0 = pg.cpu() if pg else 0
        done, deadline = 0, start + timeout
        while time.time() < deadline:
            done = acked()
            if done >= n: break
            time.sleep(0.1)
        seconds = time.time() - start
        cpu = sum(cpu_seconds(p.pid) for p, _ in procs) - cpu0
        db_cpu = (pg.cpu() - db_cpu0) if pg else 0
        time.sleep(1.0)  # the last publishes reach the counter
        distinct, dup = counter.stop()
        counter = None
        return dict(rate=done / seconds, seconds=seconds, acked=done, cpu=cpu / max(1, done) * 1e6, db_cpu=db_cpu / max(1, done) * 1e6,
                    published=distinct, duplicates=dup)
    finally:
        if counter: counter.stop()
        for p, _ in procs: stop(p)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=".build/release")
    ap.add_argument("--postings", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--max-replicas", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    binary = os.path.join(a.bin_dir, "millwright-central")
    workdir = tempfile.mkdtemp(prefix="millwright-central-postings-")
    if os.geteuid() == 0: os.chmod(workdir, 0o755)
    broker, port = start_broker(workdir, "central")
    pg = None
    try:
        pg = Postgres(workdir)
        print(f"revision: {revision()}")
        print(f"{a.postings:,} due postings per configuration, an mqtt target (QoS 1); PostgreSQL {pg.bin.split('/')[-2]} with "
              f"fsync and synchronous_commit on; {os.cpu_count()} cores shared by all")
        configs = [("sqlite", 1, None)] + [(f"pg-{k}", k, pg) for k in range(1, a.max_replicas + 1)]
        results = {name: [] for name, _, _ in configs}
        print(f"{'round':>5} {'store':>7} {'replicas':>8} {'postings/s':>10} {'vs sqlite':>9} {'central CPU us/p':>17} "
              f"{'postgres CPU us/p':>18} {'acked':>7} {'published':>9} {'twice':>6}")
        for r in range(1, a.rounds + 1):
            base = None
            for name, replicas, db in configs:
                res = run(binary, workdir, port, a.postings, replicas, db, f"{name}-r{r}", a.timeout)
                results[name].append(res["rate"])
                base = base or res["rate"]
                print(f"{r:>5} {name.split('-')[0]:>7} {replicas:>8} {res['rate']:>10,.0f} {res['rate'] / base:>9.2f} "
                      f"{res['cpu']:>17.1f} {res['db_cpu']:>18.1f} {res['acked']:>7,} {res['published']:>9,} {res['duplicates']:>6}")
        print("\nmedian postings/s: " + ", ".join(f"{k} {median(v):,.0f}" for k, v in results.items()))
    finally:
        if pg: pg.stop()
        stop(broker)
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
