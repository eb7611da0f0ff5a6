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

With --replicas N (PostgreSQL only) the central runs as N replicas sharing the database and a
shared subscription, and --replica-scenario takes them down as operators do: `lose-one` SIGKILLs one
replica and never restarts it, `rolling` stops each in turn with SIGTERM and restarts it once it has
gone, `kill-all` SIGKILLs all of them together and restarts them after --all-down-seconds. The
figures then include the store's longest pause: the longest time between two commits at the
central (from each stored event's central_received_at), and for kill-all the time from the first
replica's return to the next commit.

Usage: delivery_faults.py --bin .build/debug --readings 20000 --rate 5000 --edge-kills 10
"""
import argparse, json, os, random, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time

import paho.mqtt.client as mqtt

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))  # the package
sys.path.insert(0, os.path.join(ROOT, "bench"))
from benchlib import make_pki  # noqa: E402


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


class Secure:
    """--secure: both brokers as deploy/mosquitto ships them, over TLS. A CA and a certificate for
    127.0.0.1 made with openssl, a password per identity (scripts/make-credentials), the shipped ACL
    files; every client (the edge, the replicas, the publisher, the presence watcher) verifies the
    broker and logs in."""

    def __init__(self, work, replicas):
        self.dir = f"{work}/secure"
        os.makedirs(self.dir)
        d = self.dir
        ca, cert, key = make_pki(d)  # bench/benchlib.py: the same CA and certificate the TLS benchmark makes
        self.replica_names = [f"millwright-central-{r}" for r in range(replicas)]  # users in the shipped ACL
        identities = ["plant:millwright-edge", "plant:sensors", "central:plant-a/gw-1", "central:observer"] + \
            [f"central:{n}" for n in self.replica_names]
        subprocess.run([f"{ROOT}/scripts/make-credentials", "--readable", f"{d}/credentials", *identities], check=True, capture_output=True)
        self.ca, self.cert, self.key = ca, cert, key

    def password_file(self, broker, identity):
        return f"{self.dir}/credentials/{broker}-{identity.replace('/', '_')}.pass"

    def password(self, broker, identity):
        with open(self.password_file(broker, identity)) as f:
            return f.read().strip()

    def listener(self, broker):
        """The listener lines of a broker config (after `listener PORT 127.0.0.1`)."""
        return (f"allow_anonymous false\npassword_file {self.dir}/credentials/{broker}-broker.passwd\n"
                f"acl_file {ROOT}/deploy/mosquitto/{broker}-broker.acl\n"
                f"cafile {self.ca}\ncertfile {self.cert}\nkeyfile {self.key}\n")

    def yaml(self, broker, identity):
        """The keys a client's broker mapping adds (flow style, with a leading comma)."""
        return f", username: {identity}, password_file: {self.password_file(broker, identity)}, tls: {{ ca_file: {self.ca} }}"

    def paho(self, client, broker, identity):
        client.tls_set(ca_certs=self.ca)
        client.username_pw_set(identity, self.password(broker, identity))


class Presence:
    """The central replicas' retained presence as an independent client (paho) sees it."""

    def __init__(self, port, secure=None):
        self.lock, self.state = threading.Lock(), {}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="presence-watcher", protocol=mqtt.MQTTv5)
        if secure:
            secure.paho(self.client, "central", "observer")
        self.client.on_message = self.on_message
        self.client.on_connect = lambda c, *_: c.subscribe("millwright/v1/central/replicas/+/presence", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def on_message(self, client, userdata, m):
        replica = m.topic.split("/")[4]
        try:
            state = json.loads(m.payload)["state"] if m.payload else None
        except (ValueError, KeyError, TypeError):
            state = None
        with self.lock:
            self.state[replica] = state

    def online(self):
        with self.lock:
            return {r for r, s in self.state.items() if s == "online"}

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def watch_presence(port, secure=None):
    return Presence(port, secure)


def store_pauses(commit_times, outage=None):
    """The longest time between two consecutive commits (seconds), leaving out a gap that began
    during `outage` (start, end: while no replica ran); and the time from the outage's end to the next
    commit."""
    times = sorted(set(commit_times))
    longest, resume = 0.0, None
    for before, after in zip(times, times[1:]):
        if outage and outage[0] <= after and before <= outage[1]:
            continue
        longest = max(longest, after - before)
    if outage:
        later = [t for t in times if t >= outage[1]]
        resume = round(later[0] - outage[1], 3) if later else None
    return round(longest, 3), resume


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
    ap.add_argument("--replicas", type=int, default=1, help="central replicas (more than 1 needs --pg-port)")
    ap.add_argument("--replica-scenario", choices=["none", "lose-one", "rolling", "kill-all"], default="none")
    ap.add_argument("--scenario-at", type=float, default=0.3, help="when the scenario starts, as a fraction of the readings")
    ap.add_argument("--all-down-seconds", type=float, default=5, help="kill-all: how long no replica runs")
    ap.add_argument("--ack-timeout", default="2s", help="the edge's uplink.ack_timeout")
    ap.add_argument("--max-pause", type=float, default=None,
                    help="with a replica scenario: fail when the store paused longer (seconds; kill-all: also its resume)")
    ap.add_argument("--secure", action="store_true",
                    help="both brokers locked down as deploy/mosquitto ships them (passwords, the shipped ACLs), over TLS")
    ap.add_argument("--edge-arg", action="append", default=[],
                    help="extra argument for millwright-edge run (e.g. --unsafe-acknowledge-on-receipt, to see the suite catch loss)")
    a = ap.parse_args()
    if a.replicas > 1 and not a.pg_port:
        ap.error("--replicas above 1 needs --pg-port (replicas share a PostgreSQL database)")
    if a.replica_scenario != "none" and a.replicas < 2:  # "none" with replicas: the reference, no fault
        ap.error("--replica-scenario needs --replicas 2 or more")
    rng = random.Random(a.seed)
    bindir = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="millwright-delivery-")
    procs = []
    result = None
    try:
        plant_port, central_port = free_port(), free_port()
        os.makedirs(f"{work}/plant-persist")
        secure = Secure(work, a.replicas) if a.secure else None
        replica_name = (lambda r: secure.replica_names[r - 1]) if secure else (lambda r: f"c-{r}")
        # The plant broker as deploy/mosquitto/plant-broker.conf configures it (ports and paths aside).
        with open(f"{work}/plant.conf", "w") as f:
            f.write(f"listener {plant_port} 127.0.0.1\n" + (secure.listener("plant") if secure else "allow_anonymous true\n")
                    + "persistence true\n"
                    f"persistence_location {work}/plant-persist/\nautosave_interval 30\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
                    # Run as root, mosquitto switches to the user `mosquitto`, which could not write here.
                    + ("user root\n" if os.geteuid() == 0 else ""))
        with open(f"{work}/central-broker.conf", "w") as f:
            f.write(f"listener {central_port} 127.0.0.1\n" + (secure.listener("central") if secure else "allow_anonymous true\n")
                    + "persistence false\n"
                    "max_queued_messages 0\nmax_inflight_messages 0\n" + ("user root\n" if os.geteuid() == 0 else ""))
        with open(f"{work}/edge.yaml", "w") as f:
            f.write(f"""site: plant-a
edge: gw-1
data_dir: {work}/edge-data
brokers:
  plant: {{ port: {plant_port}, client_id: gw-1-plant, clean_start: false, reconnect: {{ initial: 100ms, maximum: 1s }}{secure.yaml("plant", "millwright-edge") if secure else ""} }}
uplink: {{ port: {central_port}, client_id: gw-1-uplink, ack_timeout: {a.ack_timeout}, reconnect: {{ initial: 100ms, maximum: 1s }}{secure.yaml("central", "plant-a/gw-1") if secure else ""} }}
ingest: {{ status_interval: 1s, watch_interval: 0s }}
sensors:
  - name: temp
    topic: "plant/{{equipment}}/temp"
    qos: 1
    decode: {{ format: json, value: value, time: ts, time_format: unix_ms }}
    rules:
      deadband: {{ absolute: 0 }}
""")
        replicas = []
        for r in range(1, a.replicas + 1):
            with open(f"{work}/central-{r}.yaml", "w") as f:
                if a.replicas == 1:
                    f.write(f"""central: c-1
data_dir: {work}/central-data
broker: {{ port: {central_port}, client_id: {replica_name(1)}, clean_start: false, reconnect: {{ initial: 100ms, maximum: 1s }}{secure.yaml("central", replica_name(1)) if secure else ""} }}
""")
                else:
                    # As docs/SCALING.md sets replicas up: own client id, one share group, the
                    # session ending with the connection (the default with a shared subscription).
                    f.write(f"""central: c
data_dir: {work}/central-data-{r}
broker: {{ port: {central_port}, client_id: {replica_name(r)}, clean_start: true, keepalive: 10s, reconnect: {{ initial: 100ms, maximum: 1s }}{secure.yaml("central", replica_name(r)) if secure else ""} }}
ingest: {{ shared_subscription: centrals }}
""")
                if a.pg_port:
                    f.write(f"store: {{ backend: postgresql, host: 127.0.0.1, port: {a.pg_port}, user: millwright, "
                            f"database: {a.pg_database}, tls: disable }}\n")
            replicas.append(Proc([f"{bindir}/millwright-central", "run", "--config", f"{work}/central-{r}.yaml"], f"{work}/central-{r}.log"))
        central = replicas[0]
        plant = Proc(["mosquitto", "-c", f"{work}/plant.conf"], f"{work}/plant.log")
        cbroker = Proc(["mosquitto", "-c", f"{work}/central-broker.conf"], f"{work}/central-broker.log")
        edge = Proc([f"{bindir}/millwright-edge", "run", "--config", f"{work}/edge.yaml"] + a.edge_arg, f"{work}/edge.log")
        procs += [edge] + replicas + [cbroker, plant]
        plant.start(); cbroker.start()
        wait_for(lambda: port_open(plant_port) and port_open(central_port), 15, "the brokers")
        presence = watch_presence(central_port, secure) if a.replicas > 1 else None
        for r in replicas:
            r.start()
        if presence:
            wait_for(lambda: presence.online() >= {replica_name(i) for i in range(1, a.replicas + 1)}, 60, "every replica to announce itself")
        edge.start()
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
            if secure:
                secure.paho(pub, "plant", "sensors")
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

        # The replica scenario runs beside the publisher, in a thread that lives until the end: a
        # child's PR_SET_PDEATHSIG fires when the thread that started it ends.
        scenario = {"events": [], "done": threading.Event(), "finished": threading.Event(), "error": None}
        def run_scenario():
            try:
                ev = scenario["events"]
                if a.replica_scenario == "lose-one":
                    replicas[1].kill(); ev.append(("replica_kill", time.time(), replica_name(2)))
                elif a.replica_scenario == "rolling":
                    for n, r in enumerate(replicas, start=1):
                        ev.append(("replica_stop", time.time(), replica_name(n)))
                        r.stop(grace=30)
                        ev.append(("replica_stopped", time.time(), replica_name(n)))
                        wait_for(lambda: replica_name(n) not in presence.online(), 30, f"c-{n} to be announced gone")
                        r.start(); ev.append(("replica_start", time.time(), replica_name(n)))
                        wait_for(lambda: replica_name(n) in presence.online(), 60, f"c-{n} to announce itself again")
                elif a.replica_scenario == "kill-all":
                    for r in replicas:
                        r.kill()
                    ev.append(("replicas_all_killed", time.time(), "all"))
                    time.sleep(a.all_down_seconds)
                    ev.append(("replicas_return", time.time(), "all"))
                    for r in replicas:
                        r.start()
            except Exception as e:  # reported in the result; the run goes on so every process is stopped
                scenario["error"] = repr(e)
            scenario["finished"].set()
            scenario["done"].wait()
        scenario_thread = threading.Thread(target=run_scenario, daemon=True)
        scenario_at = int(a.readings * a.scenario_at) if a.replica_scenario != "none" else None

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
            if scenario_at is not None and i >= scenario_at:
                scenario_at = None
                scenario_thread.start()
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
        if a.replica_scenario != "none":
            wait_for(scenario["finished"].is_set, 300, "the replica scenario to finish")
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
        pause = {}
        if a.replicas > 1:
            out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(a.pg_port), "-U", "millwright",
                                  "-d", a.pg_database, "-c", "SELECT DISTINCT central_received_at FROM events"],
                                 capture_output=True, text=True, check=True)
            commits = [int(line) / 1000 for line in out.stdout.split()]
            ev = scenario["events"]
            outage = None
            if a.replica_scenario == "kill-all":
                outage = (next(t for k, t, _ in ev if k == "replicas_all_killed"), next(t for k, t, _ in ev if k == "replicas_return"))
            longest, resume = store_pauses(commits, outage)
            pause = {"longest_store_pause_s": longest, "resume_after_first_return_s": resume,
                     "scenario_error": scenario["error"],
                     "scenario": [(k, round(t - t0, 2), who) for k, t, who in ev]}
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
            "replicas": a.replicas, "replica_scenario": a.replica_scenario, "secure": a.secure, **pause,
        }
        print(json.dumps(result))
        too_slow = a.max_pause is not None and pause and (
            pause["longest_store_pause_s"] >= a.max_pause or (pause["resume_after_first_return_s"] or 0) >= a.max_pause)
        return 0 if not lost and not duplicated and len(acked) == a.readings and not pause.get("scenario_error") and not too_slow else 1
    finally:
        if "scenario" in locals():
            scenario["done"].set()
        if "presence" in locals() and presence:
            presence.stop()
        for p in procs:
            p.stop()
        # A failed or lossy run keeps its directory (logs, databases) for a look.
        if not a.keep and result and not result["lost"] and not result["duplicated"]:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
