import CMosquitto
import Foundation
import Logging
import Synchronization

/// An MQTT client over libmosquitto, safe to use from any thread.
///
/// One network thread per client runs libmosquitto's loop; messages are delivered
/// on that thread to `onMessage` synchronously (so the hot path needs no hop) with
/// topic and payload already copied. Connection loss is handled here: capped
/// exponential backoff with jitter, then reconnect and resubscribe.
public final class MQTTClient: Sendable {
    public typealias MessageHandler = @Sendable (MQTTMessage) -> Void
    public typealias ConnectionHandler = @Sendable (MQTTConnectionEvent) -> Void
    /// The broker took a QoS 1 message (PUBACK) or finished a QoS 2 exchange: its message id.
    public typealias PublishedHandler = @Sendable (Int32) -> Void

    let options: MQTTConnectionOptions
    let logger: Logger
    let handle: MosquittoHandle
    let box: CallbackBox
    let state: Mutex<ClientState>
    /// Wakes the network thread out of a backoff wait on stop.
    let wakeup = NSCondition()
    let finished = ThreadEnd()
    /// When set, acknowledgements wait for the gate (see `DeliveryGate`).
    let gate: (any DeliveryGate)?
    let wakePipe: WakePipe?
    let gateCounters = Mutex(DeliveryGateCounters())

    /// What the broker sends of retained messages when we (re)subscribe.
    public enum RetainHandling: Sendable, Hashable {
        /// Only for a subscription the session did not have: a reconnect never replays them.
        case onlyNew
        /// On every (re)subscribe, even into a surviving session: for state such as presence.
        case always
    }

    struct Subscription: Sendable, Hashable {
        var qos: Int
        var retain: RetainHandling
    }

    struct ClientState: Sendable {
        var subscriptions: [String: Subscription] = [:]
        var running = false
        var stopping = false
        var connected = false
        var backoff: ReconnectBackoff
        var connects = 0
    }

    /// Creates the client; nothing touches the network until `start()`.
    ///
    /// With a `gate`, a QoS 1 message is acknowledged to the broker only after the gate reports the
    /// commit that covers it, and reading pauses while `options.receiveMaximum` messages wait.
    public init(options: MQTTConnectionOptions, logger: Logger = Logger(label: "mqtt"), gate: (any DeliveryGate)? = nil,
                onMessage: @escaping MessageHandler, onConnectionChange: @escaping ConnectionHandler = { _ in },
                onPublished: PublishedHandler? = nil) throws(MQTTError) {
        try options.validate()
        MQTTLibrary.initialize()
        self.gate = gate
        if gate != nil {
            guard let pipe = WakePipe() else {
                throw MQTTError.library(call: "pipe2", code: Int32(MOSQ_ERR_ERRNO.rawValue), message: "cannot create the wake-up pipe")
            }
            wakePipe = pipe
        } else {
            wakePipe = nil
        }
        self.options = options
        self.logger = logger
        self.state = Mutex(ClientState(backoff: ReconnectBackoff(policy: options.reconnect)))
        self.box = CallbackBox(onMessage: onMessage, onConnectionChange: onConnectionChange, onPublished: onPublished)
        let userdata = Unmanaged.passRetained(box).toOpaque()
        guard let raw = mosquitto_new(options.clientID.isEmpty ? nil : options.clientID, options.cleanStart, userdata) else {
            Unmanaged<CallbackBox>.fromOpaque(userdata).release()
            throw MQTTError.library(call: "mosquitto_new", code: Int32(MOSQ_ERR_NOMEM.rawValue),
                                    message: "could not create a client (out of memory or invalid id)")
        }
        self.handle = MosquittoHandle(raw: raw)
        box.client.withLock { $0 = WeakClient(client: self) }
        do {
            try configure()
        } catch {
            mosquitto_destroy(raw)
            Unmanaged<CallbackBox>.fromOpaque(userdata).release()
            throw error
        }
    }

    deinit {
        // The network thread holds the client, so this runs only after `stop()` joined it.
        stopBlocking()
        mosquitto_destroy(handle.raw)
        // The box outlives the loop: released only after the handle is destroyed.
        Unmanaged<CallbackBox>.passUnretained(box).release()
    }

    private func configure() throws(MQTTError) {
        let m = handle.raw
        try check(mosquitto_threaded_set(m, true), "mosquitto_threaded_set")
        let version = options.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, Int32(version)), "set protocol version")
        try check(mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(options.receiveMaximum)), "set receive maximum")
        if let user = options.username {
            try check(mosquitto_username_pw_set(m, user, options.password), "mosquitto_username_pw_set")
        }
        if let tls = options.tls {
            try check(mosquitto_tls_set(m, tls.caFile, tls.caPath, tls.certFile, tls.keyFile, nil), "mosquitto_tls_set")
            if tls.insecureSkipHostnameCheck {
                try check(mosquitto_tls_insecure_set(m, true), "mosquitto_tls_insecure_set")
            }
        }
        if let will = options.will {
            let rc = will.payload.withUnsafeBytes { buf in
                mosquitto_will_set(m, will.topic, Int32(buf.count), buf.baseAddress, Int32(will.qos), will.retain)
            }
            try check(rc, "mosquitto_will_set \(will.topic)")
        }
        installCallbacks()
    }

    /// Starts the network thread: connect, then keep connected until `stop()`.
    public func start() {
        let shouldStart = state.withLock { s -> Bool in
            guard !s.running && !s.stopping else { return false }
            s.running = true
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            runNetworkLoop()
            finished.signal()
        }
        thread.name = "mqtt-\(options.clientID)"
        thread.start()
    }

    /// Disconnects cleanly and returns once the network thread has ended, without holding a thread
    /// meanwhile (services call it on the cooperative pool). Idempotent.
    public func stop() async {
        guard requestStop() else { return }
        await finished.wait()
        state.withLock { $0.running = false; $0.connected = false }
    }

    /// `stop()` for code that is not async (a test's `defer`): blocks the calling thread until the
    /// network thread has ended. Never from a service: use `await stop()`.
    public func stopBlocking() {
        guard requestStop() else { return }
        finished.waitBlocking()
        state.withLock { $0.running = false; $0.connected = false }
    }

    /// Asks the network thread to end; false when it is not running or already asked.
    func requestStop() -> Bool {
        let wasRunning = state.withLock { s -> Bool in
            let r = s.running && !s.stopping
            s.stopping = true
            return r
        }
        guard wasRunning else { return false }
        // Disconnect first: loop_forever returns once the state is "disconnecting".
        _ = mosquitto_disconnect(handle.raw)
        wakePipe?.ring()
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
        return true
    }

    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Seals and acknowledged messages of a gated client (zeros without a gate).
    public var gateStats: DeliveryGateCounters { gateCounters.withLock { $0 } }

    /// Number of successful connections so far (reconnects included).
    public var connectionCount: Int { state.withLock { $0.connects } }

    /// Subscribes now if connected, and again after every reconnect.
    public func subscribe(_ filter: String, qos: Int, retainHandling: RetainHandling = .onlyNew) throws(MQTTError) {
        guard (0...2).contains(qos) else { throw .invalidOptions("QoS \(qos) is not 0, 1 or 2") }
        guard mosquitto_sub_topic_check(filter) == Int32(MOSQ_ERR_SUCCESS.rawValue) else {
            throw .invalidOptions("\"\(filter)\" is not a valid subscription filter")
        }
        let sub = Subscription(qos: qos, retain: retainHandling)
        let connected = state.withLock { s -> Bool in
            s.subscriptions[filter] = sub
            return s.connected
        }
        if connected { try sendSubscribe(filter, sub) }
    }

    public func unsubscribe(_ filter: String) throws(MQTTError) {
        let connected = state.withLock { s -> Bool in
            s.subscriptions[filter] = nil
            return s.connected
        }
        if connected { try check(mosquitto_unsubscribe(handle.raw, nil, filter), "mosquitto_unsubscribe \(filter)") }
    }

    /// Filter -> QoS of every subscription.
    public var subscriptions: [String: Int] { state.withLock { $0.subscriptions.mapValues(\.qos) } }

    /// Queues a message; libmosquitto sends it from the network thread. Returns its message id,
    /// the one `onPublished` reports when the broker has taken it (QoS 1 and 2).
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int = 0, retain: Bool = false) throws(MQTTError) -> Int32 {
        guard isConnected else { throw .notConnected }
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { buf in
            mosquitto_publish(handle.raw, &mid, topic, Int32(buf.count), buf.baseAddress, Int32(qos), retain)
        }
        try check(rc, "mosquitto_publish \(topic)")
        return mid
    }

    func sendSubscribe(_ filter: String, _ sub: Subscription) throws(MQTTError) {
        if options.protocolVersion == .v5 {
            let opts = sub.retain == .onlyNew ? Int32(MQTT_SUB_OPT_SEND_RETAIN_NEW.rawValue) : Int32(MQTT_SUB_OPT_SEND_RETAIN_ALWAYS.rawValue)
            try check(mosquitto_subscribe_v5(handle.raw, nil, filter, Int32(sub.qos), opts, nil), "mosquitto_subscribe_v5 \(filter)")
        } else {
            try check(mosquitto_subscribe(handle.raw, nil, filter, Int32(sub.qos)), "mosquitto_subscribe \(filter)")
        }
    }
}

/// The raw libmosquitto handle.
///
/// `@unchecked Sendable`: libmosquitto guards its own state with internal mutexes once
/// `mosquitto_threaded_set(true)` is called, which `MQTTClient.configure()` does first.
struct MosquittoHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

/// Process-wide libmosquitto initialisation, exactly once.
public enum MQTTLibrary {
    private static let initialized: Bool = {
        mosquitto_lib_init()
        return true
    }()

    /// Call early from `main`; clients also call it, and only the first call does anything.
    public static func initialize() { _ = initialized }

    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }
}
