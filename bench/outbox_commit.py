#!/usr/bin/env python3
"""Outbox commit benchmark: synchronous=FULL vs NORMAL, group sizes 1, 100 and 1000.

For each group size, `millwright-bench outbox-commit` commits the same pre-built events
(realistic limit/count/state/summary envelopes) to a fresh EdgeStore with
OutboxConfig.synchronousFull true and false, alternating which goes first each round, and
reports events/s. Then, when strace is installed, an fsync audit counts the fdatasync/fsync
calls of 1,000 single-event commits under each setting: FULL must sync the WAL on every
commit, NORMAL only at checkpoints. Run it with bench/outbox-commit (which builds first).
"""
import argparse, os, re, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import median, revision, run_driver

def fsync_audit(binary, commits, workdir):
    """fdatasync+fsync calls per commit of `commits` single-event commits, per setting."""
    out = {}
    for mode in ("full", "normal"):
        p = subprocess.run(["strace", "-f", "-qq", "-c", "-e", "trace=fdatasync,fsync", binary, "outbox-commit",
                            "--events", str(commits), "--batch", "1", "--rounds", "1", "--mode", mode, "--dir", workdir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        calls = sum(int(m.group(1)) for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?f(?:data)?sync$",
                                                         p.stderr, re.M))
        out[mode] = calls
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/millwright-bench")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", default="1,100,1000", help="group sizes, comma-separated")
    ap.add_argument("--events", type=int, default=60_000, help="events per measurement for groups of 100 and more")
    ap.add_argument("--single-events", type=int, default=5_000, help="events per measurement for groups of 1")
    ap.add_argument("--dir", default=None, help="where the outboxes go (default: the system temp dir; use the data disk)")
    a = ap.parse_args()
    workdir = a.dir or os.environ.get("TMPDIR", "/tmp")
    print(f"revision: {revision()}")
    rows = []
    for b in [int(x) for x in a.batches.split(",")]:
        n = a.single_events if b == 1 else a.events
        print(f"group size {b}: {n} events, {a.rounds} rounds")
        r = run_driver([a.binary, "outbox-commit", "--events", str(n), "--batch", str(b), "--rounds", str(a.rounds), "--dir", workdir])
        ratios = [f / nm for f, nm in zip(r["full"], r["normal"])]
        rows.append((b, n, r["median_full"], r["median_normal"], r["ratio"], median(ratios), min(ratios), max(ratios)))
    print(f"\n{'group':>6} {'events':>7} {'FULL ev/s':>10} {'NORMAL ev/s':>12} {'ratio of medians':>17} {'per-round ratio (median, min..max)':>36}")
    for b, n, f, nm, ratio, mr, lo, hi in rows:
        print(f"{b:>6} {n:>7} {f:>10,.0f} {nm:>12,.0f} {ratio:>17.2f} {mr:>18.2f} ({lo:.2f}..{hi:.2f})")
    if shutil.which("strace"):
        commits = 1000
        audit = fsync_audit(a.binary, commits, workdir)
        print(f"\nfsync audit ({commits} single-event commits, strace): FULL {audit['full']} fdatasync/fsync calls "
              f"({audit['full'] / commits:.2f} per commit), NORMAL {audit['normal']} ({audit['normal'] / commits:.2f} per commit)")
        if audit["full"] < commits:
            print("  WARNING: under FULL the WAL is not synced on every commit: the outbox is not running with synchronous=FULL,\n"
                  "  so the FULL column above measures NORMAL (see docs/BENCHMARKS.md).")
    else:
        print("\nfsync audit skipped: strace is not installed (apt-get install strace)")
    print("target: FULL at least 0.80 of NORMAL")

if __name__ == "__main__":
    main()
