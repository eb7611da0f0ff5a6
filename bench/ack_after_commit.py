#!/usr/bin/env python3
"""Acknowledge-after-commit benchmark: the QoS 1 ingest rate of millwright-edge as shipped (each
reading's PUBACK waits for the commit that holds its effects) beside the same binary with
libmosquitto's own acknowledge-on-receipt (the hidden --unsafe-acknowledge-on-receipt flag, the
behaviour before: a crash loses acknowledged readings), measured in the same run, alternating.

The case measured is the one that lost data: the edge restarts onto a persistent session in which
the plant broker queued N QoS 1 readings, and drains them. Rate = readings / (time from the edge's
start to its last reading); the edge's start-up is the same in both modes. Run with bench/ack-after-commit.
"""
from benchlib import edge_status, free_port, rfc3339_seconds, stop, wait_edge_connected, wait_port
import argparse, os, shutil, subprocess, tempfile, time

def config(port, data_dir, receive_maximum):
    return f"""site: bench
edge: bench-gw
data_dir: {data_dir}
brokers:
  plant: {{ host: 127.0.0.1, port: {port}, client_id: bench-edge, clean_start: false, receive_maximum: {receive_maximum} }}
ingest: {{ status_interval: 100ms, watch_interval: 0s }}
templates:
  temperature:
    limit: {{ high: 80, high_high: 95, hysteresis: 2, on_delay: 1s }}
    deadband: {{ absolute: 5, heartbeat: 10m }}
sensors:
  - name: temperature
    topic: "bench/{{equipment}}/temp"
    signal: temp
    qos: 1
    decode: {{ format: json, value: value, time: ts }}
    template: temperature
"""

def run_edge(binary, cfg, data_dir, extra, log):
    return subprocess.Popen([binary, "run", "--config", cfg, "--log-level", "warning"] + extra, stdout=log, stderr=log)

def one_round(binary, port, workdir, n, sensors, unsafe, receive_maximum, lines_file):
    data_dir = os.path.join(workdir, f"edge-{time.time_ns()}")
    cfg = os.path.join(workdir, f"edge-{time.time_ns()}.yaml")
    with open(cfg, "w") as f: f.write(config(port, data_dir, receive_maximum))
    extra = ["--unsafe-acknowledge-on-receipt"] if unsafe else []
    log = open(os.path.join(workdir, "edge.log"), "a")
    # 1. Subscribe once so the broker keeps a session, then go away.
    edge = run_edge(binary, cfg, data_dir, extra, log)
    wait_edge_connected(data_dir, log.name)
    stop(edge)
    # 2. The plant keeps publishing while the edge is away: N readings queue in its session.
    pubs = []
    for s in range(sensors):
        with open(lines_file(s)) as lf:
            pubs.append(subprocess.Popen(["mosquitto_pub", "-p", str(port), "-t", f"bench/m{s:03d}/temp", "-q", "1", "-l"],
                                         stdin=lf))
    for p in pubs: p.wait()
    # 3. The edge restarts onto the flood; time until its last reading.
    start = time.time()
    edge = run_edge(binary, cfg, data_dir, extra, log)
    try:
        deadline = time.time() + 300
        got = 0
        while time.time() < deadline:
            st = edge_status(data_dir)
            got = st["pipeline"]["messages_received"] if st else 0
            if got >= n: break
            time.sleep(0.02)
        st = edge_status(data_dir)
        p = st["pipeline"]
        return p["messages_received"] / (rfc3339_seconds(p["last_message_at"]) - start), p["messages_received"], st["events_committed"]
    finally:
        stop(edge)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/millwright-edge")
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--sensors", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--receive-maximum", type=int, default=1000)
    a = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="millwright-bench-ack-")
    port = free_port()
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        # As deploy/mosquitto/plant-broker.conf, without persistence to disk (not what is measured).
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 1000\n"
                + ("user root\n" if os.geteuid() == 0 else ""))
    mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([mosq, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        per = a.messages // a.sensors
        t0 = int(time.time() * 1000) - 3_600_000
        paths = []
        for s in range(a.sensors):
            path = os.path.join(workdir, f"lines-{s}.txt")
            with open(path, "w") as f:
                for k in range(per):
                    v = 60 + (k % 40) * 0.5
                    f.write('{"value":%.2f,"ts":%d}\n' % (v, t0 + k * 10))
            paths.append(path)
        n = per * a.sensors
        print(f"{n} QoS 1 readings queued in the edge's persistent session over {a.sensors} sensors, drained on restart; "
              f"receive_maximum {a.receive_maximum}; {a.rounds} rounds, alternating")
        print(f"{'round':>5} {'ack on receipt msg/s':>21} {'ack after commit msg/s':>23} {'ratio':>6}")
        refs, gated = [], []
        for r in range(1, a.rounds + 1):
            ref, got_r, _ = one_round(a.binary, port, workdir, n, a.sensors, True, a.receive_maximum, lambda s: paths[s])
            g, got_g, _ = one_round(a.binary, port, workdir, n, a.sensors, False, a.receive_maximum, lambda s: paths[s])
            refs.append(ref); gated.append(g)
            print(f"{r:>5} {ref:>21,.0f} {g:>23,.0f} {g/ref:>6.2f}   (received {got_r} / {got_g} of {n})")
        med = lambda xs: sorted(xs)[len(xs) // 2]
        print(f"\nmedian: acknowledge on receipt {med(refs):,.0f} msg/s, acknowledge after commit {med(gated):,.0f} msg/s, "
              f"ratio {med(gated)/med(refs):.2f} (target >= 0.90)")
    finally:
        broker.terminate(); broker.wait()
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
