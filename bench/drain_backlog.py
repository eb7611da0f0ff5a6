#!/usr/bin/env python3
"""Backlog drain benchmark: millwright-edge forwards a 1,000,000-event outbox to a running central.

Two private mosquitto brokers (plant and central). `millwright-bench fill-outbox` pre-fills
an edge outbox with N realistic events committed an hour ago (an outage). Then, in one run:

  reference 1  the central ingesting the same N events published directly: the batches the
               edge would send (EdgeStore.nextBatch, UplinkService.encode's JSON, made by
               `millwright-bench make-batches --from-outbox`) on one raw QoS 1 connection, so
               the publisher is never the bottleneck: the ceiling for the edge's drain;
  reference 2  the RSS of the same edge with an empty outbox, connected and idle;
  the drain    millwright-edge started on the full outbox with a fresh central running: time
               until the central's SQLite holds all N events, the edge's RSS every 0.5 s.

With --pin, the central and its broker run on CPU 1 and everything else (the edge, the plant broker,
the reference's publisher, this script) on CPU 0, in both the reference and the drain: the
central gets the same one core in both, as it would on its own machine, and the ratio says whether
the edge keeps up with it. Without --pin all processes share all cores, so in the drain the edge
takes CPU the central has to itself in reference 1.

Run it with bench/drain-backlog (which builds first).
"""
import argparse, os, shutil, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (Central, cpu_seconds, pinned, revision, perf_record, perf_stop, proc_status_kib, publish_qos1, qos1_packets, read_batches,
                      read_json, run_driver, sqlite_value, start_broker, stop)

SITE, EDGE = "bench", "bench-gw"

# The edge's shipped uplink defaults (edge/README.md), used for the direct reference's batches when
# the run does not set its own.
EDGE_BATCH_EVENTS, EDGE_BATCH_BYTES = 2000, 1 << 20

def uplink_keys(a):
    """The uplink window settings the run sets; the rest are the edge's defaults."""
    keys = {"batch_events": a.batch_events, "batch_bytes": a.batch_bytes, "max_inflight_batches": a.inflight, "window": a.window}
    return "".join(f" {k}: {v}," for k, v in keys.items() if v is not None)

def edge_yaml(edge, data_dir, plant_port, central_port, a, uplink_extra=""):
    return f"""
site: {SITE}
edge: {edge}
data_dir: {data_dir}
brokers:
  plant: {{ port: {plant_port}, client_id: {edge}-plant }}
uplink: {{ port: {central_port}, client_id: {edge}-uplink,{uplink_keys(a)} status_interval: 1s{uplink_extra} }}
ingest: {{ status_interval: 250ms, watch_interval: 0s }}
sensors:
  - name: state
    topic: "line/{{equipment}}/state"
    decode: {{ format: text }}
    rules:
      state: {{ map: {{ RUN: running, IDLE: idle }} }}
"""

# CPU sets for --pin (None: every process may run anywhere).
CENTRAL_CPUS = None
EDGE_CPUS = None

def start_edge(binary, workdir, name, yaml):
    cfg = os.path.join(workdir, f"{name}.yaml")
    with open(cfg, "w") as f: f.write(yaml)
    log = os.path.join(workdir, f"{name}.log")
    return subprocess.Popen([binary, "run", "--config", cfg, "--log-level", "info"], stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            preexec_fn=pinned(EDGE_CPUS)), log

def central_direct(a, workdir, port, batch_file, n):
    """Reference 1: the same batches published straight to the central broker."""
    batches = read_batches(batch_file)
    packets = qos1_packets(batches)
    central = Central(a.central, workdir, "direct", port, cpus=CENTRAL_CPUS)
    try:
        cpu0 = cpu_seconds(central.proc.pid)
        start, acked = publish_qos1(port, [("bench-direct-pub", packets, len(batches))])
        deadline = time.time() + a.timeout
        while central.stored(EDGE) < n and time.time() < deadline:
            time.sleep(0.1)
        done = time.time()
        got = central.stored(EDGE)
        return dict(rate=got / (done - start), seconds=done - start, stored=got, batches=len(batches),
                    cpu_us=(cpu_seconds(central.proc.pid) - cpu0) / max(1, got) * 1e6,
                    rss_peak=proc_status_kib(central.proc.pid, "VmHWM"), publish_s=acked - start)
    finally:
        central.stop()

def empty_edge_rss(a, workdir, plant_port, central_port, seconds=3.0):
    """Reference 2: the same edge configuration with an empty outbox, connected and idle."""
    data = os.path.join(a.edge_root or workdir, "edge-empty")
    edge, log = start_edge(a.edge, workdir, "edge-empty", edge_yaml(EDGE + "-empty", data, plant_port, central_port, a))
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            st = read_json(os.path.join(data, "status.json"))
            if st and st.get("uplink") and st["uplink"]["connected"] and st["uplink"]["central_online"]: break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"the empty edge did not reach the central; see {log}")
        samples = []
        end = time.time() + seconds
        while time.time() < end:
            samples.append(proc_status_kib(edge.pid, "VmRSS")); time.sleep(0.5)
        return dict(rss=max(samples), rss_peak=proc_status_kib(edge.pid, "VmHWM"))
    finally:
        stop(edge)

def drain(a, workdir, plant_port, central_port, data_dir, n, central):
    """The measured run: the edge drains its outbox into a fresh central (running, empty)."""
    status_path = os.path.join(data_dir, "status.json")
    try:
        edge, log = start_edge(a.edge, workdir, "edge-drain", edge_yaml(EDGE, data_dir, plant_port, central_port, a))
        start = time.time()
        ccpu0 = cpu_seconds(central.proc.pid)
        perfs = [perf_record(edge.pid, os.path.join(a.perf, "edge.perf.data")),
                 perf_record(central.proc.pid, os.path.join(a.perf, "central.perf.data"))] if a.perf else []
        samples = []        # see sample()
        first_stored = None
        try:
            deadline = start + a.timeout
            next_sample = start
            stored = 0
            while time.time() < deadline:
                stored = central.stored(EDGE)
                now = time.time()
                if stored and first_stored is None: first_stored = now
                if stored >= n: break
                if now >= next_sample:
                    samples.append(sample(now - start, edge, read_json(status_path), stored))
                    next_sample += 0.5
                if edge.poll() is not None: raise RuntimeError(f"the edge exited; see {log}")
                time.sleep(0.05)
            done = time.time()
            for p in perfs: perf_stop(p)
            time.sleep(1.0)  # let the last acks land, so the edge's backlog reads 0
            st = read_json(status_path) or {}
            samples.append(sample(time.time() - start, edge, st, central.stored(EDGE)))
            edge_cpu = cpu_seconds(edge.pid)
            r = dict(seconds=done - start, rate=stored / (done - start), stored=stored,
                     rate_from_first=stored / (done - first_stored) if first_stored else 0,
                     rss_peak=proc_status_kib(edge.pid, "VmHWM"), samples=samples, uplink=st.get("uplink") or {},
                     backlog_end=st.get("outbox", {}).get("backlog_events"), edge_cpu_us=edge_cpu / max(1, stored) * 1e6,
                     central_cpu_us=(cpu_seconds(central.proc.pid) - ccpu0) / max(1, stored) * 1e6,
                     central_rss_peak=proc_status_kib(central.proc.pid, "VmHWM"))
        finally:
            stop(edge)
        r["duplicates"] = sqlite_value(central.db, f"SELECT duplicates FROM edges WHERE edge = '{EDGE}'")
        r["rows"] = sqlite_value(central.db, "SELECT COUNT(*) FROM events")
        r["distinct"] = sqlite_value(central.db, "SELECT COUNT(*) FROM (SELECT DISTINCT boot_epoch, seq FROM events)")
        return r
    finally:
        central.stop()

def sample(t, edge, st, stored):
    """(t, edge RSS KiB, edge backlog, central stored, uplink window in batches, ack latency ms)."""
    up = (st or {}).get("uplink") or {}
    return (t, proc_status_kib(edge.pid, "VmRSS"), (st or {}).get("outbox", {}).get("backlog_events"), stored,
            up.get("window_batches"), up.get("ack_latency_ms"))

def at_fraction(samples, n, fraction):
    """The sample taken when the central first held at least `fraction` of the backlog."""
    for s in samples:
        _, rss, backlog, stored = s[:4]
        if stored >= fraction * n and rss and backlog is not None: return s
    return samples[-1]

PROGRESS = (0, .1, .2, .3, .4, .5, .6, .7, .8, .9, 1.0)

def by_progress(samples, n, label, show, unit):
    """One line: `show(sample)` at 0%, 10%, ... 100% of the backlog stored."""
    print(f"{label} by progress:  " + "  ".join(f"{int(f * 100)}%:{show(at_fraction(samples, n, f))}" for f in PROGRESS)
          + f"  ({unit})")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=".build/release")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch-events", type=int, help="uplink batch_events (default: the edge's, 2000)")
    ap.add_argument("--batch-bytes", type=int, help="uplink batch_bytes (default: the edge's, 1 MiB)")
    ap.add_argument("--inflight", type=int, help="uplink max_inflight_batches (default: the edge's, 64)")
    ap.add_argument("--window", choices=["adaptive", "fixed"], help="uplink window (default: the edge's, adaptive)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--backlog-age", type=int, default=3600,
                    help="seconds since the backlog was committed (> 60 s: sent flagged is_historical, as after an outage)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    ap.add_argument("--perf", metavar="DIR", help="record perf profiles of the edge and the central during the drain into DIR")
    ap.add_argument("--edge-tmpfs", action="store_true",
                    help="the edge's outbox on /dev/shm, so its writes do not share the central's disk (a gateway has its own)")
    ap.add_argument("--pin", action="store_true",
                    help="the central and its broker on CPU 1, the rest on CPU 0, in the reference and the drain alike")
    a = ap.parse_args()
    global CENTRAL_CPUS, EDGE_CPUS
    if a.pin:
        if len(os.sched_getaffinity(0)) < 2: sys.exit("--pin needs two CPUs")
        first, second = sorted(os.sched_getaffinity(0))[:2]
        CENTRAL_CPUS, EDGE_CPUS = {second}, {first}
        os.sched_setaffinity(0, EDGE_CPUS)
    if a.perf: os.makedirs(a.perf, exist_ok=True)
    a.edge, a.central, a.bench = (os.path.join(a.bin_dir, x) for x in ("millwright-edge", "millwright-central", "millwright-bench"))
    n = a.events
    workdir = tempfile.mkdtemp(prefix="millwright-drain-")
    plant, plant_port = start_broker(workdir, "plant", EDGE_CPUS)
    cbroker, central_port = start_broker(workdir, "central", CENTRAL_CPUS)
    try:
        a.edge_root = tempfile.mkdtemp(prefix="millwright-drain-edge-", dir="/dev/shm") if a.edge_tmpfs else None
        data_dir = os.path.join(a.edge_root or workdir, "edge-data")
        outbox = os.path.join(data_dir, "edge.sqlite")
        print(f"revision: {revision()}")
        print(f"backlog: {n:,} events; uplink settings:{uplink_keys(a) or ' the edge defaults'}; work dir {workdir}")
        print("CPUs: " + (f"central and its broker on {sorted(CENTRAL_CPUS)}, edge, plant broker and publisher on {sorted(EDGE_CPUS)}"
                          if a.pin else "shared by every process"))
        print("disks: " + ("the edge's outbox on a tmpfs (/dev/shm), the central's store on the disk" if a.edge_tmpfs
                           else "the edge's outbox and the central's store on the same disk"))
        fill = run_driver([a.bench, "fill-outbox", "--path", outbox, "--events", str(n), "--site", SITE, "--edge", EDGE,
                           "--age", str(a.backlog_age)])
        batch_file = os.path.join(workdir, "direct-batches.txt")
        run_driver([a.bench, "make-batches", "--from-outbox", outbox, "--out", batch_file, "--site", SITE, "--edge", EDGE,
                    "--batch-events", str(a.batch_events or EDGE_BATCH_EVENTS), "--batch-bytes", str(a.batch_bytes or EDGE_BATCH_BYTES)])
        print("reference 1: the central ingesting the same batches published directly ...")
        direct = central_direct(a, workdir, central_port, batch_file, n)
        os.unlink(batch_file)
        central = Central(a.central, workdir, "drain", central_port, cpus=CENTRAL_CPUS)
        print("reference 2: the edge with an empty outbox ...")
        empty = empty_edge_rss(a, workdir, plant_port, central_port)
        print("the drain: millwright-edge on the full outbox ...")
        d = drain(a, workdir, plant_port, central_port, data_dir, n, central)
        s = d["samples"]
        start, mid, end = at_fraction(s, n, 0), at_fraction(s, n, 0.5), s[-1]
        MiB = lambda kib: kib / 1024
        print(f"\n{'':34} {'events/s':>9} {'seconds':>8} {'stored':>9} {'CPU us/event':>13} {'peak RSS':>9}")
        print(f"{'ref 1: central, published direct':34} {direct['rate']:>9,.0f} {direct['seconds']:>8.1f} {direct['stored']:>9,} "
              f"{direct['cpu_us']:>13.1f} {MiB(direct['rss_peak']):>7.1f}Mi  (central)")
        print(f"{'drain: edge -> central, end to end':34} {d['rate']:>9,.0f} {d['seconds']:>8.1f} {d['stored']:>9,} "
              f"{d['edge_cpu_us']:>6.1f} edge {MiB(d['rss_peak']):>7.1f}Mi  (edge)")
        print(f"{'':34} {'':>9} {'':>8} {'':>9} {d['central_cpu_us']:>6.1f} cent {MiB(d['central_rss_peak']):>7.1f}Mi  (central)")
        print(f"drain rate from the first event stored: {d['rate_from_first']:,.0f} events/s; "
              f"drain / direct: {d['rate'] / direct['rate']:.2f}")
        print(f"\nedge RSS: empty outbox {MiB(empty['rss']):.1f} MiB (peak {MiB(empty['rss_peak']):.1f}); with the backlog: "
              f"start {MiB(start[1]):.1f} MiB (t={start[0]:.1f}s, backlog {start[2]}), "
              f"middle {MiB(mid[1]):.1f} MiB (t={mid[0]:.1f}s, central {mid[3]:,}), end {MiB(end[1]):.1f} MiB (backlog {end[2]}), "
              f"peak (VmHWM) {MiB(d['rss_peak']):.1f} MiB")
        by_progress(s, n, "edge RSS", lambda x: f"{MiB(x[1]):.1f}", "MiB")
        by_progress(s, n, "uplink window", lambda x: x[4], "batches")
        by_progress(s, n, "ack latency", lambda x: f"{x[5] or 0:.0f}", "ms")
        up = d["uplink"]
        wc = up.get("window_changes") or {}
        print(f"window changes: grown {wc.get('grown')}, shrunk for latency {wc.get('shrunk_for_latency')}, "
              f"halved on timeout {wc.get('halved_on_timeout')}; ack latency at the end {up.get('ack_latency_ms') or 0:.0f} ms")
        print(f"central: {d['rows']:,} rows, {d['distinct']:,} distinct (boot_epoch, seq), duplicates {d['duplicates']}; "
              f"edge: batches sent {up.get('batches_sent')}, events sent {up.get('events_sent'):,}, "
              f"resends {up.get('resends')}, historical {up.get('historical_sent'):,}, backlog at the end {d['backlog_end']}")
        ok_rate = d["rate"] >= 50_000
        ok_rss = d["rss_peak"] < 64 * 1024
        ratio = d["rate"] / direct["rate"]
        print(f"target (issue 8): drain >= 0.9 of direct: {'met' if ratio >= 0.9 else 'MISSED'} ({ratio:.2f})")
        print(f"targets: >= 50,000 events/s end to end: {'met' if ok_rate else 'MISSED'} ({d['rate']:,.0f}); "
              f"edge RSS < 64 MiB throughout: {'met' if ok_rss else 'MISSED'} (peak {MiB(d['rss_peak']):.1f} MiB)")
    finally:
        stop(plant); stop(cbroker)
        if a.keep: print(f"kept {workdir}" + (f" and {a.edge_root}" if getattr(a, "edge_root", None) else ""))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            if getattr(a, "edge_root", None): shutil.rmtree(a.edge_root, ignore_errors=True)

if __name__ == "__main__":
    main()
