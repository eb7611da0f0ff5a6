#!/usr/bin/env python3
"""Central replica fail-over: the store's longest pause when one of three replicas is lost for good,
through a rolling restart, and when all three are killed together, each beside the reference: the
longest pause of the same run with no fault (3 replicas, same load). Every case runs the delivery
fault harness (Tests/Fixtures/delivery/delivery_faults.py): a paho publisher offers QoS 1 readings
at --rate to a plant mosquitto, a real edge forwards them to three replicas on a PostgreSQL this
script starts, and the store is read value by value (0 lost, 0 duplicated or the case fails). The
pause is the longest time between two commits, from each stored event's central_received_at; for
kill-all, the gap while no replica ran is left out and the resume after their return is printed.

Usage: bench/replica-failover [--readings 100000] [--rate 5000] [--rounds 1]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(__file__))
from central_replicas import Postgres
from benchlib import median, revision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=".build/debug")
    ap.add_argument("--readings", type=int, default=100000)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="millwright-failover-")
    os.chmod(work, 0o755)  # PostgreSQL runs as its own user when we are root
    pg = Postgres(work)
    harness = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "delivery", "delivery_faults.py")
    results = {}
    failed = False
    try:
        for rnd in range(a.rounds):
            for scenario in ["none", "lose-one", "rolling", "kill-all"]:
                db = f"failover_{scenario.replace('-', '_')}_{rnd}"
                pg.psql("postgres", f"CREATE DATABASE {db}")
                out = subprocess.run([sys.executable, harness, "--bin", a.bin_dir, "--readings", str(a.readings), "--rate", str(a.rate),
                                      "--edge-kills", "0", "--central-kills", "0", "--central-outages", "0", "--replicas", "3",
                                      "--replica-scenario", scenario, "--scenario-at", "0.3" if scenario != "rolling" else "0.15",
                                      "--ack-timeout", "10s", "--pg-port", str(pg.port), "--pg-database", db],
                                     capture_output=True, text=True)
                line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
                r = json.loads(line)
                if out.returncode != 0:
                    failed = True
                    print(f"{scenario}: FAILED ({out.returncode}): {line}\n{out.stderr[-2000:]}", file=sys.stderr)
                results.setdefault(scenario, []).append(r)
                print(f"round {rnd + 1} {scenario:9s} longest store pause {r.get('longest_store_pause_s')} s"
                      + (f", resumed {r.get('resume_after_first_return_s')} s after the replicas' return" if scenario == "kill-all" else "")
                      + f"; lost {r.get('lost')}, duplicated {r.get('duplicated')}, stored {r.get('stored_at_central')}", flush=True)
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    ref = median([r["longest_store_pause_s"] for r in results.get("none", []) if r.get("longest_store_pause_s") is not None] or [0])
    print(f"\nrevision {revision()}, {a.readings} readings at {a.rate:.0f}/s, 3 replicas on PostgreSQL, median of {a.rounds} round(s)")
    print(f"{'case':10s} {'longest pause s':>16s} {'reference (no fault) s':>23s} {'resume s':>9s}")
    for scenario, rs in results.items():
        pauses = [r["longest_store_pause_s"] for r in rs if r.get("longest_store_pause_s") is not None]
        resumes = [r["resume_after_first_return_s"] for r in rs if r.get("resume_after_first_return_s") is not None]
        fmt = lambda xs: f"{median(xs):.3f}" if xs else "-"
        print(f"{scenario:10s} {fmt(pauses):>16s} {ref:>23.3f} {fmt(resumes):>9s}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
