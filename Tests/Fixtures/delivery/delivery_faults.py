#!/usr/bin/env python3
"""Delivery fault harness: an independent publisher (paho-mqtt, not our code) offers QoS 1 readings
with sensor time to a plant mosquitto; millwright-edge promotes each one (deadband 0: every new
value is reported) and forwards it to millwright-central through a central mosquitto. Meanwhile the
edge is SIGKILLed, the central is SIGKILLed, the central leg is cut (central broker stopped), and
the plant broker itself is SIGKILLed.

At the end every reading the plant broker acknowledged (PUBACK to the publisher) must be stored
at the central exactly once. Prints one JSON line of figures; exits 1 on any loss or duplicate.

A SIGKILLed mosquitto loses what it acknowledged since it last wrote its persistence file (every
`autosave_interval`, and on SIGUSR1). No subscriber can get those readings back; only their source
can. So after each plant-broker kill the publisher does what a source with a buffer (a PLC, a
historian, a bridge) does after its broker restarts: it offers its last `--replay-seconds` of
readings again. Everything the edge had already processed comes back too, with the same sensor time,
and must be recognised (`already_seen`), never stored twice.

Usage: delivery_faults.py --bin .build/debug --readings 20000 --rate 5000 --edge-kills 10
"""
import argparse, json, os, random, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time

import paho.mqtt.client as mqtt


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Proc:
    """A child that dies with us: PR_SET_PDEATHSIG through preexec, and killed in `stop`."""

    def __init__(self, args, log, cwd=None):
        self.args, self.log, self.cwd, self.p = args, log, cwd, None

    def start(self):
        def child_setup():
            # A test runner's threads may block signals (SIGTERM, SIGUSR1), and a child inherits the
            # mask: unblocked, so `stop` and the broker's SIGUSR1 work whoever started the harness.
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            try:
                import ctypes
                ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            except Exception:
                pass
        out = open(self.log, "ab")
        self.p = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd, preexec_fn=child_setup)

    def kill(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()

    def stop(self, grace=10):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/debug")
    ap.add_argument("--readings", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--sensors", type=int, default=4)
    ap.add_argument("--edge-kills", type=int, default=10)
    ap.add_argument("--central-kills", type=int, default=1)
    ap.add_argument("--central-outages", type=int, default=1)
    ap.add_argument("--plant-kills", type=int, default=0)
    ap.add_argument("--replay-seconds", type=float, default=10,
                    help="after a plant-broker kill, the publisher offers this many seconds of its readings again")
    ap.add_argument("--drain-timeout", type=float, default=180)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--pg-port", type=int, default=None,
                    help="store the central's data in PostgreSQL on 127.0.0.1 at this port (user millwright, trust) instead of SQLite")
    ap.add_argument("--pg-database", default=None, help="the empty database for --pg-port")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--edge-arg", action="append", default=[],
                    help="extra argument for millwright-edge run (e.g. --unsafe-acknowledge-on-receipt, to see the suite catch loss)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    bindir = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="millwright-delivery-")
    procs = []
    result = None
    try:
        plant_port, central_port = free_port(), free_port()
        os.makedirs(f"{work}/plant-persist")
        # The plant broker as deploy/mosquitto/plant-broker.conf configures it (ports and paths aside).
        with open(f"{work}/plant.conf", "w") as f:
            f.write(f"listener {plant_port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {work}/plant-persist/\nautosave_interval 30\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
                    # Run as root, mosquitto switches to the user `mosquitto`, which could not write here.
                    + ("user root\n" if os.geteuid() == 0 else ""))
        with open(f"{work}/central-broker.conf", "w") as f:
            f.write(f"listener {central_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nmax_inflight_messages 0\n")
        with open(f"{work}/edge.yaml", "w") as f:
            f.write(f"""site: plant-a
edge: gw-1
data_dir: {work}/edge-data
brokers:
  plant: {{ port: {plant_port}, client_id: gw-1-plant, clean_start: false, reconnect: {{ initial: 100ms, maximum: 1s }} }}
uplink: {{ port: {central_port}, client_id: gw-1-uplink, ack_timeout: 2s, reconnect: {{ initial: 100ms, maximum: 1s }} }}
ingest: {{ status_interval: 1s, watch_interval: 0s }}
sensors:
  - name: temp
    topic: "plant/{{equipment}}/temp"
    qos: 1
    decode: {{ format: json, value: value, time: ts, time_format: unix_ms }}
    rules:
      deadband: {{ absolute: 0 }}
""")
        with open(f"{work}/central.yaml", "w") as f:
            f.write(f"""central: c-1
data_dir: {work}/central-data
broker: {{ port: {central_port}, client_id: c-1, clean_start: false, reconnect: {{ initial: 100ms, maximum: 1s }} }}
""")
            if a.pg_port:
                f.write(f"store: {{ backend: postgresql, host: 127.0.0.1, port: {a.pg_port}, user: millwright, "
                        f"database: {a.pg_database}, tls: disable }}\n")
        plant = Proc(["mosquitto", "-c", f"{work}/plant.conf"], f"{work}/plant.log")
        cbroker = Proc(["mosquitto", "-c", f"{work}/central-broker.conf"], f"{work}/central-broker.log")
        central = Proc([f"{bindir}/millwright-central", "run", "--config", f"{work}/central.yaml"], f"{work}/central.log")
        edge = Proc([f"{bindir}/millwright-edge", "run", "--config", f"{work}/edge.yaml"] + a.edge_arg, f"{work}/edge.log")
        procs += [edge, central, cbroker, plant]
        plant.start(); cbroker.start()
        wait_for(lambda: port_open(plant_port) and port_open(central_port), 15, "the brokers")
        central.start(); edge.start()
        edge_log = f"{work}/edge.log"
        connected = lambda: os.path.exists(edge_log) and open(edge_log, errors="replace").read().count("MQTT connected")
        wait_for(lambda: connected() >= 2, 30, "the edge to connect to both brokers")
        persist_file = f"{work}/plant-persist/mosquitto.db"
        if a.plant_kills:
            # What autosave_interval does 30 s after start: the edge's session and subscription are in the
            # persistence file, so a restarted broker queues readings for the edge before it reconnects.
            plant.p.send_signal(signal.SIGUSR1)
            wait_for(lambda: os.path.exists(persist_file), 15, "the plant broker to write its persistence file")

        # The publisher: QoS 1, one reading per message, value = its number, ts increasing per sensor.
        acked = set()
        mids = {}         # mid of the current client -> reading, until the broker acknowledges it
        early = set()     # mids acknowledged before publish() returned them to us
        lock = threading.Lock()
        current = {}

        def on_publish(client, userdata, mid, reason_code=None, properties=None):
            with lock:
                if client is not current.get("client"):
                    return
                key = mids.pop(mid, None)
                if key is not None:
                    acked.add(key)
                else:
                    early.add(mid)

        def connect_publisher():
            pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sensor-publisher", clean_session=True)
            pub.max_inflight_messages_set(1000)
            pub.max_queued_messages_set(0)
            pub.on_publish = on_publish
            pub.reconnect_delay_set(min_delay=1, max_delay=1)
            with lock:
                current["client"] = pub
                mids.clear(); early.clear()
            pub.connect("127.0.0.1", plant_port)
            pub.loop_start()
            wait_for(pub.is_connected, 30, "the publisher to connect to the plant broker")
            return pub

        def offer(i):
            # paho numbers messages 1..65535 and keeps unacknowledged ones by that number: with more
            # than that outstanding (a replay queued at once behind a slow broker), a new message
            # replaces an unsent one. Like a source with a bounded buffer, wait below that.
            deadline = time.time() + 120
            while True:
                with lock:
                    if len(mids) < 20000:
                        break
                if time.time() > deadline:
                    raise TimeoutError("20,000 readings unacknowledged by the plant broker for 120 s")
                time.sleep(0.002)
            sensor = i % a.sensors
            payload = json.dumps({"ts": base_ts + i, "value": i})  # ts strictly increasing per sensor too
            info = pub.publish(f"plant/m{sensor}/temp", payload, qos=1)
            with lock:
                if info.mid in early:
                    early.discard(info.mid)
                    acked.add((f"m{sensor}", i))
                else:
                    # Sent, or queued by paho while disconnected and sent when it reconnects.
                    mids[info.mid] = (f"m{sensor}", i)

        pub = connect_publisher()

        kill_at = sorted(rng.sample(range(a.readings // 10, a.readings * 9 // 10), a.edge_kills)) if a.edge_kills else []
        ckill_at = sorted(rng.sample(range(a.readings // 10, a.readings * 9 // 10), a.central_kills)) if a.central_kills else []
        outage_at = sorted(rng.sample(range(a.readings // 10, a.readings * 8 // 10), a.central_outages)) if a.central_outages else []
        pkill_at = sorted(rng.sample(range(a.readings // 10, a.readings * 8 // 10), a.plant_kills)) if a.plant_kills else []
        replayed = 0
        faults = []
        restart_broker_at = None
        base_ts = int(time.time() * 1000) - 60_000
        start = t0 = time.time()
        for i in range(a.readings):
            offer(i)
            if pkill_at and i >= pkill_at[0]:
                pkill_at.pop(0)
                plant.kill(); faults.append(("plant_kill", i))
                # The source offers its recent readings again, in order (see the module comment), from a
                # new session: readings its old session still had in flight must not overtake the replay,
                # because the edge takes a reading at or before the last sensor time it processed for
                # a sensor as already seen.
                pub.loop_stop()
                with lock:
                    first = min([max(0, i + 1 - int(a.replay_seconds * a.rate))] + [n for _, n in mids.values()])
                plant.start()
                wait_for(lambda: port_open(plant_port), 15, "the plant broker back")
                pub = connect_publisher()
                for j in range(first, i + 1):
                    offer(j)
                replayed += i + 1 - first
                # Pacing resumes from here, as a source that was held up would.
                start = time.time() - (i + 1) / a.rate
            if kill_at and i >= kill_at[0]:
                kill_at.pop(0)
                edge.kill(); faults.append(("edge_kill", i))
                edge.start()
            if ckill_at and i >= ckill_at[0]:
                ckill_at.pop(0)
                central.kill(); faults.append(("central_kill", i))
                central.start()
            if outage_at and i >= outage_at[0]:
                outage_at.pop(0)
                cbroker.kill(); faults.append(("central_leg_outage", i))
                restart_broker_at = time.time() + 2.0
            # Started from this thread: PR_SET_PDEATHSIG fires when the starting *thread* ends.
            if restart_broker_at and time.time() >= restart_broker_at:
                cbroker.start()
                restart_broker_at = None
            # Pace to the rate.
            ahead = (i + 1) / a.rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
        offer_s = time.time() - t0
        if restart_broker_at:
            time.sleep(max(0, restart_broker_at - time.time()))
            cbroker.start()
        wait_for(lambda: not mids, 120, "the plant broker to acknowledge every reading")
        pub.loop_stop(); pub.disconnect()
        wait_for(lambda: port_open(central_port), 30, "the central broker back")

        db = f"{work}/central-data/central.sqlite"

        def at_central():
            if a.pg_port:
                out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-h", "127.0.0.1", "-p", str(a.pg_port),
                                      "-U", "millwright", "-d", a.pg_database, "-c",
                                      "SELECT equipment, (body::json -> 'values' ->> 'value')::float8 FROM events "
                                      "WHERE type = 'value_reported'"], capture_output=True, text=True)
                if out.returncode != 0:
                    return []
                return [(e, float(v)) for e, v in (line.split("\t") for line in out.stdout.splitlines() if line)]
            if not os.path.exists(db):
                return []
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                return con.execute("SELECT equipment, json_extract(body, '$.values.value') FROM events "
                                   "WHERE type = 'value_reported'").fetchall()
            except sqlite3.OperationalError:
                return []
            finally:
                con.close()
        deadline = time.time() + a.drain_timeout
        rows = []
        while time.time() < deadline:
            rows = at_central()
            if acked <= {(e, int(v)) for e, v in rows}:
                break
            time.sleep(0.5)
        seen = {}
        for e, v in rows:
            seen[(e, int(v))] = seen.get((e, int(v)), 0) + 1
        lost = sorted(acked - set(seen))
        duplicated = sum(n - 1 for n in seen.values() if n > 1)
        result = {
            "readings_offered": a.readings, "acknowledged_by_plant_broker": len(acked), "stored_at_central": len(rows),
            "lost": len(lost), "duplicated": duplicated, "offer_seconds": round(offer_s, 1), "rate_per_s": a.rate,
            "edge_kills": sum(1 for f in faults if f[0] == "edge_kill"),
            "central_kills": sum(1 for f in faults if f[0] == "central_kill"),
            "central_leg_outages": sum(1 for f in faults if f[0] == "central_leg_outage"),
            "plant_kills": sum(1 for f in faults if f[0] == "plant_kill"), "replayed_after_plant_kills": replayed,
            "first_lost": lost[:5], "work_dir": work if a.keep or lost or duplicated else None,
        }
        print(json.dumps(result))
        return 0 if not lost and not duplicated and len(acked) == a.readings else 1
    finally:
        for p in procs:
            p.stop()
        # A failed or lossy run keeps its directory (logs, databases) for a look.
        if not a.keep and result and not result["lost"] and not result["duplicated"]:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
