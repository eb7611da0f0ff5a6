"""Shared pieces of the bench/ scripts: private mosquitto brokers, a raw-socket QoS 1
publisher, process probes (RSS, CPU), status and SQLite polling. Standard library only."""
import json, os, shutil, signal, socket, sqlite3, struct, subprocess, threading, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")

def pinned(cpus):
    """A Popen preexec_fn that confines the child (and every thread it starts) to `cpus`; None: no pinning."""
    if not cpus: return None
    return lambda: os.sched_setaffinity(0, cpus)

def start_broker(workdir, name, cpus=None, tls=None):
    """A private mosquitto on a free loopback port; never drops QoS 1 for a slow consumer. `tls`:
    (cafile, certfile, keyfile) for a TLS listener."""
    port = free_port()
    conf = os.path.join(workdir, f"mosquitto-{name}.conf")
    listener_tls = f"cafile {tls[0]}\ncertfile {tls[1]}\nkeyfile {tls[2]}\n" if tls else ""
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\n{listener_tls}allow_anonymous true\npersistence false\n"
                "max_queued_messages 0\nmax_queued_bytes 0\n" + ("user root\n" if os.geteuid() == 0 else ""))
    mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([mosq, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pinned(cpus))
    wait_port(port)
    return proc, port

def make_pki(d):
    """A CA and a server certificate for 127.0.0.1 it signed, made with openssl into folder `d`:
    (ca.pem, server.pem, server.key), the key readable by a broker running as another user."""
    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=millwright-test-ca",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem")
    with open(f"{d}/san.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr")
    ssl("x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key", "-CAcreateserial",
        "-days", "2", "-out", f"{d}/server.pem", "-extfile", f"{d}/san.ext")
    os.chmod(f"{d}/server.key", 0o644)
    return f"{d}/ca.pem", f"{d}/server.pem", f"{d}/server.key"

def stop(proc, grace=15):
    if proc is None or proc.poll() is not None: return
    proc.terminate()
    try: proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill(); proc.wait()

# --- MQTT 3.1.1 by hand: the publisher must never be the bottleneck --------------------

def remaining_length(n):
    out = bytearray()
    while True:
        b = n % 128; n //= 128
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)

def mqtt_string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b

def qos1_packets(messages):
    """Pre-serialised QoS 1 PUBLISH packets for [(topic, payload bytes)], packet ids 1..65535."""
    chunks = []
    for i, (topic, payload) in enumerate(messages):
        body = mqtt_string(topic) + struct.pack("!H", i % 65535 + 1) + payload
        chunks.append(b"\x32" + remaining_length(len(body)) + body)
    return b"".join(chunks)

def mqtt_connect(port, client_id):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    var = mqtt_string("MQTT") + b"\x04\x02" + struct.pack("!H", 120) + mqtt_string(client_id)
    s.sendall(b"\x10" + remaining_length(len(var)) + var)
    ack = b""
    while len(ack) < 4: ack += s.recv(4 - len(ack))
    assert ack[:2] == b"\x20\x02" and ack[3] == 0, "no CONNACK"
    return s

def publish_qos1(port, streams):
    """Publishes every stream [(client_id, packets, count)] on its own connection at once.
    Returns (start, end): the first byte sent, and when the broker had acknowledged
    (PUBACK) every message of every stream."""
    conns = [(mqtt_connect(port, cid), packets, n) for cid, packets, n in streams]
    done = []
    def reader(sock, n):
        need, got = 4 * n, 0            # PUBACK is 4 bytes: 40 02 id id
        while got < need:
            b = sock.recv(1 << 16)
            if not b: break
            got += len(b)
        done.append(time.time())
    threads = [threading.Thread(target=reader, args=(s, n)) for s, _, n in conns]
    for t in threads: t.start()
    start = time.time()
    senders = [threading.Thread(target=s.sendall, args=(p,)) for s, p, _ in conns]
    for t in senders: t.start()
    for t in senders: t.join()
    for t in threads: t.join()
    for s, _, _ in conns:
        try: s.sendall(b"\xe0\x00"); s.close()
        except OSError: pass
    return start, max(done)

def read_batches(path):
    """[(topic, payload bytes)] from a millwright-bench make-batches file."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            topic, payload = line.rstrip(b"\n").split(b"\t", 1)
            out.append((topic, payload))
    return out

# --- probes -------------------------------------------------------------------------------

def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"): return int(line.split()[1])
    except OSError:
        pass
    return 0

def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0

def read_json(path):
    try:
        with open(path) as f: return json.load(f)
    except (OSError, ValueError):
        return None

def edge_status(data_dir):
    """The edge's status.json in its data dir, or None while it is not (fully) written."""
    return read_json(os.path.join(data_dir, "status.json"))

def rfc3339_seconds(text):
    """Epoch seconds of the edge's RFC 3339 UTC times ("2026-11-28T10:00:00.123Z")."""
    import calendar
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float(text[19:-1] or 0)

def wait_edge_connected(data_dir, log_name, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        st = edge_status(data_dir)
        if st and st["brokers"] and st["brokers"][0]["connected"]: return st
        time.sleep(0.05)
    raise RuntimeError("edge did not connect; see " + log_name)

def sqlite_value(path, sql, default=0):
    """One value from a SQLite file, read-only; `default` while it is not there or busy."""
    if not os.path.exists(path): return default
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            row = con.execute(sql).fetchone()
            return default if row is None or row[0] is None else row[0]
        finally:
            con.close()
    except sqlite3.Error:
        return default

def wait_for_log(path, text, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                if text in f.read(): return True
        except OSError:
            pass
        time.sleep(0.05)
    return False

def median(xs):
    s = sorted(xs)
    if not s: return 0
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2

def run_driver(args):
    """Runs millwright-bench, echoes its output, returns the parsed RESULT line."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "): result = json.loads(line[7:])
        else: print("  " + line)
    if p.returncode != 0 or result is None:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode})")
    return result

def revision():
    """The commit measured, and any Sources/ files modified in the work tree (results must be traceable)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--short", "--", "Sources", "Package.swift"], capture_output=True, text=True).stdout.split("\n")
        dirty = [l[3:] for l in dirty if l.strip()]
        return head + (f" + uncommitted changes in {', '.join(dirty)}" if dirty else "")
    except OSError:
        return "unknown"

def perf_record(pid, out):
    """`perf record` (call graphs) of a running process until perf_stop; None without perf."""
    if not shutil.which("perf"): return None
    return subprocess.Popen(["perf", "record", "-g", "-F", "499", "-p", str(pid), "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def perf_stop(p):
    if p is None: return
    p.send_signal(signal.SIGINT)
    try: p.wait(timeout=60)
    except subprocess.TimeoutExpired: p.kill()

class Central:
    """millwright-central with its own data dir on the central broker."""
    def __init__(self, binary, workdir, tag, port, cpus=None, broker_extra=""):
        self.dir = os.path.join(workdir, f"central-{tag}")
        os.makedirs(self.dir)
        self.db = os.path.join(self.dir, "data", "central.sqlite")
        cfg = os.path.join(self.dir, "central.yaml")
        with open(cfg, "w") as f:
            f.write(f"central: bench-{tag}\ndata_dir: data\nbroker: {{ port: {port}, client_id: bench-central-{tag}{broker_extra} }}\n")
        self.log = os.path.join(self.dir, "central.log")
        self.proc = subprocess.Popen([binary, "run", "--config", cfg, "--log-level", "info"],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT, preexec_fn=pinned(cpus))
        if not wait_for_log(self.log, "MQTT connected"):
            raise RuntimeError(f"the central did not connect; see {self.log}")
        time.sleep(0.5)  # SUBACK

    def stored(self, edge=None):
        """Events stored (from the per-edge counters the central keeps in the same transaction)."""
        if edge: return sqlite_value(self.db, f"SELECT events FROM edges WHERE edge = '{edge}'")
        return sqlite_value(self.db, "SELECT SUM(events) FROM edges")

    def stop(self):
        stop(self.proc)
