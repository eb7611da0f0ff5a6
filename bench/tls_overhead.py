#!/usr/bin/env python3
"""What TLS on the central leg costs: millwright-edge drains the same outbox into a fresh central,
once through a plain central broker and once through a TLS one (a certificate for 127.0.0.1 from a CA
this script makes; the edge and the central verify it), alternating, in the same run. The figure is
the end-to-end rate (the edge reading, encrypting and sending, the broker decrypting and
re-encrypting, the central decrypting, validating and committing) and the TLS / plain ratio.

The plant broker stays plain (it carries nothing in this measurement). Anonymous brokers: the
credentials' cost is one check per connection, not per message. Run it with bench/tls-overhead
(which builds first).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Central, cpu_seconds, make_pki, revision, run_driver, start_broker, stop
from drain_backlog import edge_yaml

SITE, EDGE = "bench", "bench-gw"


def drain(a, workdir, outbox, n, mode, pki):
    """One drain of a copy of `outbox` through a plain or a TLS central broker; seconds and CPU."""
    run = os.path.join(workdir, f"{mode}-{time.time_ns()}")
    data = os.path.join(run, "edge-data")
    os.makedirs(data)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(outbox + suffix):
            shutil.copy(outbox + suffix, os.path.join(data, "edge.sqlite" + suffix))
    tls = mode == "tls"
    plant, plant_port = start_broker(run, "plant")
    cbroker, central_port = start_broker(run, "central", tls=pki if tls else None)
    keys = f", tls: {{ ca_file: {pki[0]} }}" if tls else ""
    central = edge = None
    try:
        central = Central(a.central, run, mode, central_port, broker_extra=keys)
        cfg = os.path.join(run, "edge.yaml")
        with open(cfg, "w") as f:
            # The drain benchmark's edge, with the edge's own uplink defaults (and TLS when measured).
            f.write(edge_yaml(EDGE, data, plant_port, central_port, argparse.Namespace(batch_events=None, batch_bytes=None,
                                                                                     inflight=None, window=None), uplink_extra=keys))
        log = os.path.join(run, "edge.log")
        start = time.time()
        edge = subprocess.Popen([a.edge, "run", "--config", cfg, "--log-level", "info"], stdout=open(log, "w"), stderr=subprocess.STDOUT)
        deadline = start + a.timeout
        while central.stored(EDGE) < n:
            if time.time() > deadline or edge.poll() is not None:
                raise RuntimeError(f"{mode}: {central.stored(EDGE)} of {n} stored; see {log}")
            time.sleep(0.05)
        seconds = time.time() - start
        return dict(seconds=seconds, rate=n / seconds, edge_cpu=cpu_seconds(edge.pid), central_cpu=cpu_seconds(central.proc.pid),
                    broker_cpu=cpu_seconds(cbroker.pid))
    finally:
        stop(edge)
        if central: central.stop()
        stop(plant); stop(cbroker)
        shutil.rmtree(run, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default=".build/release")
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=3, help="drains per mode, alternating plain and TLS")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    a.edge, a.central, a.bench = (os.path.join(a.bin_dir, x) for x in ("millwright-edge", "millwright-central", "millwright-bench"))
    workdir = tempfile.mkdtemp(prefix="millwright-tls-")
    try:
        print(f"revision: {revision()}")
        print(f"backlog: {a.events:,} events, drained {a.rounds} times through each central broker, alternating")
        pki = make_pki(workdir)
        outbox = os.path.join(workdir, "outbox", "edge.sqlite")
        os.makedirs(os.path.dirname(outbox))
        run_driver([a.bench, "fill-outbox", "--path", outbox, "--events", str(a.events), "--site", SITE, "--edge", EDGE, "--age", "3600"])
        results = {"plain": [], "tls": []}
        for r in range(a.rounds):
            for mode in (("plain", "tls") if r % 2 == 0 else ("tls", "plain")):
                d = drain(a, workdir, outbox, a.events, mode, pki)
                results[mode].append(d)
                print(f"  round {r + 1} {mode:5}: {d['seconds']:6.1f} s, {d['rate']:>8,.0f} events/s; CPU s: edge {d['edge_cpu']:.1f}, "
                      f"broker {d['broker_cpu']:.1f}, central {d['central_cpu']:.1f}")
        med = {m: statistics.median(x["rate"] for x in v) for m, v in results.items()}
        cpu = {m: statistics.median(x["edge_cpu"] + x["broker_cpu"] + x["central_cpu"] for x in v) for m, v in results.items()}
        print(f"\nplain (reference): {med['plain']:>8,.0f} events/s (median), CPU {cpu['plain']:.1f} s in all three processes")
        print(f"TLS:               {med['tls']:>8,.0f} events/s (median), CPU {cpu['tls']:.1f} s")
        print(f"TLS / plain: {med['tls'] / med['plain']:.2f} of the rate; CPU {cpu['tls'] / cpu['plain']:.2f}x "
              f"(target: the rate costs under 10%: {'met' if med['tls'] / med['plain'] >= 0.9 else 'MISSED'})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
