#!/usr/bin/env python3
"""Ingest benchmark: millwright-edge vs mosquitto_sub on the same QoS 0 burst.

A private mosquitto broker; a raw-socket publisher sends pre-serialised MQTT PUBLISH
packets (so the publisher is never the bottleneck) for N messages spread over S sensor
topics. Each consumer is timed the same way: from the publisher's first byte to the
consumer's last message. Run it with bench/ingest-burst (which builds first).
"""
from benchlib import cpu_seconds, free_port, proc_status_kib, mqtt_string, remaining_length, rfc3339_seconds, wait_edge_connected, wait_port
import argparse, calendar, json, os, random, shutil, signal, socket, struct, subprocess, sys, tempfile, time

def build_burst(n, sensors, seed):
    """QoS 0 PUBLISH packets: small JSON readings, a random walk per sensor with excursions."""
    rnd = random.Random(seed)
    values = [60.0] * sensors
    t0 = int(time.time() * 1000)
    topics = [mqtt_string(f"bench/m{i:04d}/temp") for i in range(sensors)]
    chunks = []
    for k in range(n):
        i = k % sensors
        v = values[i] + rnd.uniform(-1.5, 1.5)
        if rnd.random() < 0.002: v += 25          # an excursion now and then: limit alarms
        v = max(20.0, min(110.0, v + (60.0 - v) * 0.05))
        values[i] = v
        payload = b'{"value":%.2f,"ts":%d}' % (v, t0 + k // sensors * 100)
        body = topics[i] + payload
        chunks.append(b"\x30" + remaining_length(len(body)) + body)
    return b"".join(chunks)

def publish(port, burst):
    """Connects as MQTT 3.1.1, sends the whole burst, disconnects. Returns the start time."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    var = mqtt_string("MQTT") + b"\x04\x02" + struct.pack("!H", 60) + mqtt_string(f"bench-pub-{os.getpid()}")
    s.sendall(b"\x10" + remaining_length(len(var)) + var)
    assert s.recv(4)[:2] == b"\x20\x02", "no CONNACK"
    start = time.time()
    s.sendall(burst)
    s.sendall(b"\xe0\x00")
    s.close()
    return start

def rss_peak_kib(pid):
    return proc_status_kib(pid, "VmHWM")

def run_mosquitto_sub(port, burst, n):
    sub = subprocess.Popen(["mosquitto_sub", "-p", str(port), "-t", "bench/#", "-q", "0", "-C", str(n)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # subscribed
    start = publish(port, burst)
    deadline = time.time() + 120
    while time.time() < deadline:
        pid, status, usage = os.wait4(sub.pid, os.WNOHANG)
        if pid:
            rate = n / (time.time() - start)
            return rate, (usage.ru_utime + usage.ru_stime) / n * 1e6
        time.sleep(0.002)
    sub.kill(); return None, None

def agent_config(port, data_dir, status_interval):
    return f"""
site: bench
edge: bench-gw
data_dir: {data_dir}
brokers:
  plant: {{ host: 127.0.0.1, port: {port}, protocol: "3.1.1", client_id: bench-edge, clean_start: true }}
ingest:
  status_interval: {status_interval}
  watch_interval: 0s
templates:
  temperature:
    limit: {{ high: 80, high_high: 95, hysteresis: 2, on_delay: 1s }}
    deadband: {{ absolute: 5, heartbeat: 10m }}
    window: {{ every: 1m, aggregates: [min, max, mean] }}
    stale: {{ after: 5m }}
sensors:
  - name: temperature
    topic: "bench/{{equipment}}/temp"
    signal: temp
    qos: 0
    decode: {{ format: json, value: value, time: ts }}
    template: temperature
"""

def read_status(data_dir):
    try:
        with open(os.path.join(data_dir, "status.json")) as f: return json.load(f)
    except (OSError, ValueError):
        return None

def run_agent(binary, port, burst, n, workdir, sensors):
    data_dir = os.path.join(workdir, f"agent-{time.time_ns()}")
    cfg = os.path.join(workdir, "bench-edge.yaml")
    with open(cfg, "w") as f: f.write(agent_config(port, data_dir, "100ms"))
    log = open(os.path.join(workdir, "agent.log"), "w")
    agent = subprocess.Popen([binary, "run", "--config", cfg, "--log-level", "warning"], stdout=log, stderr=log)
    try:
        wait_edge_connected(data_dir, log.name)
        time.sleep(0.5)
        cpu0 = cpu_seconds(agent.pid)
        start = publish(port, burst)
        # Done when the count stops moving (QoS 0: the broker may drop for a slow consumer).
        last, still, st = -1, 0, None
        while still < 10:
            time.sleep(0.1)
            st = read_status(data_dir) or st
            got = st["pipeline"]["messages_received"] if st else 0
            if got >= n: break
            still = still + 1 if got == last else 0
            last = got
        time.sleep(0.3)
        st = read_status(data_dir)
        p = st["pipeline"]
        rate = p["messages_received"] / (rfc3339_seconds(p["last_message_at"]) - start)
        peak = rss_peak_kib(agent.pid)
        cpu = (cpu_seconds(agent.pid) - cpu0) / p["messages_received"] * 1e6
        return rate, p, st["events_committed"], peak, cpu
    finally:
        agent.send_signal(signal.SIGTERM)
        try: agent.wait(timeout=15)
        except subprocess.TimeoutExpired: agent.kill()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/millwright-edge")
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="millwright-bench-")
    port = free_port()
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 0\nmax_queued_bytes 0\n" + ("user root\n" if os.geteuid() == 0 else ""))
    mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([mosq, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        burst = build_burst(a.messages, a.sensors, 7)
        print(f"burst: {a.messages} QoS 0 messages, {a.sensors} sensor topics, {len(burst)/1e6:.1f} MB; {a.rounds} rounds, alternating")
        print(f"{'round':>5} {'mosquitto_sub msg/s':>20} {'millwright-edge msg/s':>22} {'ratio':>6} "
              f"{'sub CPU us/msg':>15} {'edge CPU us/msg':>16} {'received':>9} {'processed':>9} {'events':>7} {'peak RSS':>9}")
        subs, agents, rows, cpus = [], [], [], []
        for r in range(1, a.rounds + 1):
            s, scpu = run_mosquitto_sub(port, burst, a.messages)
            ag, p, committed, peak, acpu = run_agent(a.binary, port, burst, a.messages, workdir, a.sensors)
            subs.append(s or 0); agents.append(ag); cpus.append((scpu or 0, acpu))
            unprocessed = p["messages_received"] - p["messages_processed"] - p["messages_rejected"]
            rows.append((p["messages_received"], unprocessed, peak))
            print(f"{r:>5} {s or 0:>20,.0f} {ag:>22,.0f} {ag/(s or 1):>6.2f} {scpu or 0:>15.2f} {acpu:>16.2f} "
                  f"{p['messages_received']:>9} {p['messages_processed']:>9} {committed:>7} {peak/1024:>7.1f}MiB")
        med = lambda xs: sorted(xs)[len(xs) // 2]
        ms, ma = med(subs), med(agents)
        ratios = sorted(ag / (s or 1) for s, ag in zip(subs, agents))
        print(f"\nmedian: mosquitto_sub {ms:,.0f} msg/s, millwright-edge {ma:,.0f} msg/s, ratio of medians {ma/ms:.2f}, "
              f"median per-round ratio {ratios[len(ratios)//2]:.2f} (target >= 0.90)")
        print(f"CPU per message (median): mosquitto_sub {med([c[0] for c in cpus]):.2f} us, millwright-edge {med([c[1] for c in cpus]):.2f} us")
        print(f"every round: received {min(r[0] for r in rows)}..{max(r[0] for r in rows)} of {a.messages}, "
              f"left unprocessed {max(r[1] for r in rows)}, peak RSS max {max(r[2] for r in rows)/1024:.1f} MiB (target < 40 MiB)")
    finally:
        broker.terminate(); broker.wait()
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
