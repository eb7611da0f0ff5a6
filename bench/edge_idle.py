#!/usr/bin/env python3
"""What an idle edge costs: millwright-edge connected to its plant broker and to a running central,
nothing published, for --seconds (default 30); the CPU each process used over that time, as a
share of one core, beside the two mosquitto brokers of the same run (the reference: a process that
sleeps until a socket has something for it).

The edge is configured as a plant would leave it (one sensor; status, keepalive and checkpoint
intervals at their defaults), so what it spends is its timers and its waits. Run it with
bench/edge-idle (which builds first).
"""
import argparse, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Central, cpu_seconds, revision, start_broker, stop, wait_edge_connected

SITE, EDGE = "bench", "bench-gw"


def edge_yaml(data_dir, plant_port, central_port):
    return f"""
site: {SITE}
edge: {EDGE}
data_dir: {data_dir}
brokers:
  plant: {{ port: {plant_port}, client_id: {EDGE}-plant }}
uplink: {{ port: {central_port}, client_id: {EDGE}-uplink }}
sensors:
  - name: state
    topic: "line/{{equipment}}/state"
    decode: {{ format: text }}
    rules:
      state: {{ map: {{ RUN: running, IDLE: idle }} }}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default=".build/release")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--settle", type=float, default=5, help="seconds after the edge connected before measuring")
    a = ap.parse_args()
    edge_bin, central_bin = (os.path.join(a.bin_dir, x) for x in ("millwright-edge", "millwright-central"))
    workdir = tempfile.mkdtemp(prefix="millwright-idle-")
    plant = cbroker = central = edge = None
    try:
        print(f"revision: {revision()}")
        plant, plant_port = start_broker(workdir, "plant")
        cbroker, central_port = start_broker(workdir, "central")
        central = Central(central_bin, workdir, "idle", central_port)
        data = os.path.join(workdir, "edge-data")
        os.makedirs(data)
        cfg = os.path.join(workdir, "edge.yaml")
        with open(cfg, "w") as f:
            f.write(edge_yaml(data, plant_port, central_port))
        log = os.path.join(workdir, "edge.log")
        edge = subprocess.Popen([edge_bin, "run", "--config", cfg, "--log-level", "info"], stdout=open(log, "w"), stderr=subprocess.STDOUT)
        wait_edge_connected(data, log)
        time.sleep(a.settle)
        procs = {"millwright-edge": edge.pid, "millwright-central": central.proc.pid,
                 "mosquitto (plant, reference)": plant.pid, "mosquitto (central, reference)": cbroker.pid}
        before = {k: cpu_seconds(p) for k, p in procs.items()}
        start = time.time()
        time.sleep(a.seconds)
        elapsed = time.time() - start
        after = {k: cpu_seconds(p) for k, p in procs.items()}
        if edge.poll() is not None:
            raise RuntimeError(f"the edge exited; see {log}")
        print(f"idle for {elapsed:.1f} s, nothing published; CPU as a share of one core:")
        for k in procs:
            used = after[k] - before[k]
            print(f"  {k:32} {100 * used / elapsed:6.2f}%  ({used * 1000:.0f} ms)")
    finally:
        stop(edge)
        if central: central.stop()
        stop(plant); stop(cbroker)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
