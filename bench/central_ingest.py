#!/usr/bin/env python3
"""Central ingest benchmark: 10 simulated edges publish protocol-v1 batches to one broker.

`millwright-bench make-batches` builds, for each simulated edge (bench-gw-01 .. bench-gw-10),
N fresh events with boot_epoch and seq as the outbox assigns them, in batches of
--batch-events, byte for byte the JSON UplinkService.encode produces. Each edge then
publishes its batches QoS 1 on millwright/v1/bench/<edge>/events over its own raw socket,
pre-serialised, all ten at once, so the publishers are never the bottleneck. Each round,
alternating which goes first:

  transport  `mosquitto_sub -q 1` on millwright/v1/+/+/events consumes every batch: the
             rate the broker and loopback can deliver (the ceiling);
  central    millwright-central with a fresh store: from the first byte published until its
             SQLite holds every event (per-edge counters committed in the same transaction).

Run it with bench/central-ingest (which builds first).
"""
import argparse, os, shutil, subprocess, sys, tempfile, time
from collections import defaultdict
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (Central, cpu_seconds, median, perf_record, perf_stop, proc_status_kib, publish_qos1, qos1_packets,
                      read_batches, revision, run_driver, start_broker, stop)

def streams_of(batches):
    by_topic = defaultdict(list)
    for topic, payload in batches: by_topic[topic].append((topic, payload))
    return [(f"bench-pub-{i}", qos1_packets(msgs), len(msgs)) for i, (_, msgs) in enumerate(sorted(by_topic.items()))]

def run_sub(port, streams, n_batches, timeout):
    sub = subprocess.Popen(["mosquitto_sub", "-p", str(port), "-t", "millwright/v1/+/+/events", "-q", "1",
                            "-C", str(n_batches), "-i", f"bench-sub-{time.time_ns()}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # subscribed
    start, acked = publish_qos1(port, streams)
    deadline = time.time() + timeout
    while time.time() < deadline:
        pid, status, usage = os.wait4(sub.pid, os.WNOHANG)
        if pid:
            return dict(seconds=time.time() - start, cpu=usage.ru_utime + usage.ru_stime, publish_s=acked - start)
        time.sleep(0.002)
    sub.kill(); sub.wait()
    raise RuntimeError("mosquitto_sub did not receive every batch")

def run_central(binary, workdir, tag, port, streams, total, timeout, perf_dir):
    central = Central(binary, workdir, tag, port)
    try:
        cpu0 = cpu_seconds(central.proc.pid)
        perf = perf_record(central.proc.pid, os.path.join(perf_dir, f"central-{tag}.perf.data")) if perf_dir else None
        start, acked = publish_qos1(port, streams)
        deadline = time.time() + timeout
        stored = 0
        while time.time() < deadline:
            stored = central.stored()
            if stored >= total: break
            time.sleep(0.05)
        done = time.time()
        perf_stop(perf)
        return dict(seconds=done - start, stored=stored, cpu=cpu_seconds(central.proc.pid) - cpu0,
                    rss_peak=proc_status_kib(central.proc.pid, "VmHWM"), publish_s=acked - start)
    finally:
        central.stop()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=".build/release")
    ap.add_argument("--edges", type=int, default=10)
    ap.add_argument("--events", type=int, default=100_000, help="events per simulated edge")
    ap.add_argument("--batch-events", type=int, default=500, help="events per batch (the edge's default batch_events)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--perf", metavar="DIR", help="record a perf profile of the central in each round into DIR")
    a = ap.parse_args()
    if a.perf: os.makedirs(a.perf, exist_ok=True)
    bench, central_bin = os.path.join(a.bin_dir, "millwright-bench"), os.path.join(a.bin_dir, "millwright-central")
    workdir = tempfile.mkdtemp(prefix="millwright-central-ingest-")
    broker, port = start_broker(workdir, "central")
    try:
        print(f"revision: {revision()}")
        batch_file = os.path.join(workdir, "batches.txt")
        made = run_driver([bench, "make-batches", "--out", batch_file, "--edges", str(a.edges), "--events", str(a.events),
                           "--batch-events", str(a.batch_events)])
        batches = read_batches(batch_file)
        os.unlink(batch_file)
        streams = streams_of(batches)
        total, n_batches = made["events"], made["batches"]
        del batches
        print(f"{a.edges} simulated edges x {a.events:,} events = {total:,} events in {n_batches:,} QoS 1 batches "
              f"({made['bytes'] / 1e6:.0f} MB, {made['bytes'] / total:.0f} bytes per event); {a.rounds} rounds, alternating")
        print(f"{'round':>5} {'mosquitto_sub ev/s':>19} {'central ev/s':>13} {'ratio':>6} {'sub CPU us/ev':>14} "
              f"{'central CPU us/ev':>18} {'stored':>10} {'publish s':>10} {'central peak RSS':>17}")
        subs, cents = [], []
        for r in range(1, a.rounds + 1):
            order = ["sub", "central"] if r % 2 else ["central", "sub"]
            res = {}
            for which in order:
                if which == "sub":
                    res[which] = run_sub(port, streams, n_batches, a.timeout)
                else:
                    res[which] = run_central(central_bin, workdir, f"r{r}", port, streams, total, a.timeout, a.perf)
            s, c = res["sub"], res["central"]
            srate, crate = total / s["seconds"], c["stored"] / c["seconds"]
            subs.append(srate); cents.append(crate)
            print(f"{r:>5} {srate:>19,.0f} {crate:>13,.0f} {crate / srate:>6.2f} {s['cpu'] / total * 1e6:>14.2f} "
                  f"{c['cpu'] / max(1, c['stored']) * 1e6:>18.2f} {c['stored']:>10,} {c['publish_s']:>10.1f} "
                  f"{c['rss_peak'] / 1024:>15.1f}Mi")
            if c["stored"] < total: print(f"      central stored only {c['stored']:,} of {total:,} within {a.timeout:.0f} s")
        ms, mc = median(subs), median(cents)
        print(f"\nmedian: mosquitto_sub {ms:,.0f} events/s, millwright-central {mc:,.0f} events/s, ratio {mc / ms:.2f}")
        print(f"target: >= 100,000 events/s into SQLite: {'met' if mc >= 100_000 else 'MISSED'} ({mc:,.0f})")
    finally:
        stop(broker)
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
