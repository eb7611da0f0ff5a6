/// How to reach and identify with one broker.
public struct MQTTConnectionOptions: Sendable, Hashable {
    public enum ProtocolVersion: String, Sendable, Hashable, Codable {
        case v311 = "3.1.1"
        case v5 = "5"
    }

    public struct TLS: Sendable, Hashable {
        public var caFile: String?
        public var caPath: String?
        public var certFile: String?
        public var keyFile: String?
        /// Skip the server hostname check (test setups only).
        public var insecureSkipHostnameCheck: Bool

        public init(caFile: String? = nil, caPath: String? = nil, certFile: String? = nil,
                    keyFile: String? = nil, insecureSkipHostnameCheck: Bool = false) {
            self.caFile = caFile
            self.caPath = caPath
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecureSkipHostnameCheck = insecureSkipHostnameCheck
        }
    }

    /// A message the broker publishes for us if we vanish without disconnecting.
    public struct Will: Sendable, Hashable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: Int
        public var retain: Bool

        public init(topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = true) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }
    }

    public var host: String
    public var port: Int
    /// Stable across restarts when `cleanStart` is false, so the broker keeps the session.
    public var clientID: String
    public var protocolVersion: ProtocolVersion
    public var username: String?
    public var password: String?
    public var tls: TLS?
    /// Keepalive in seconds.
    public var keepalive: Int
    /// False keeps a persistent session: QoS 1/2 messages queued while we were away are delivered.
    public var cleanStart: Bool
    /// MQTT 5 session expiry in seconds when `cleanStart` is false (3.1.1 sessions never expire).
    public var sessionExpiry: UInt32
    public var reconnect: ReconnectBackoff.Policy
    /// Incoming QoS 1/2 messages in flight at once.
    public var receiveMaximum: Int
    public var will: Will?

    public init(host: String = "127.0.0.1", port: Int = 1883, clientID: String,
                protocolVersion: ProtocolVersion = .v311, username: String? = nil, password: String? = nil,
                tls: TLS? = nil, keepalive: Int = 30, cleanStart: Bool = true, sessionExpiry: UInt32 = 86_400,
                reconnect: ReconnectBackoff.Policy = .init(), receiveMaximum: Int = 1000, will: Will? = nil) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.protocolVersion = protocolVersion
        self.username = username
        self.password = password
        self.tls = tls
        self.keepalive = keepalive
        self.cleanStart = cleanStart
        self.sessionExpiry = sessionExpiry
        self.reconnect = reconnect
        self.receiveMaximum = receiveMaximum
        self.will = will
    }

    func validate() throws(MQTTError) {
        guard (1...65535).contains(port) else { throw .invalidOptions("port \(port) is not in 1...65535") }
        guard !clientID.isEmpty || cleanStart else {
            throw .invalidOptions("a persistent session (clean_start false) needs a non-empty client id")
        }
        guard (5...65535).contains(keepalive) else { throw .invalidOptions("keepalive \(keepalive)s is not in 5...65535") }
        guard password == nil || username != nil else { throw .invalidOptions("a password needs a username") }
        if let t = tls, t.caFile == nil && t.caPath == nil {
            throw .invalidOptions("TLS needs ca_file or ca_path")
        }
        if let t = tls, (t.certFile == nil) != (t.keyFile == nil) {
            throw .invalidOptions("a client certificate needs both cert_file and key_file")
        }
    }
}

/// One message as the subscriber receives it; topic and payload are copies owned by Swift.
public struct MQTTMessage: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: Int = 0, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// Connection state changes reported to the owner.
public enum MQTTConnectionEvent: Sendable, Hashable {
    case connected(sessionPresent: Bool)
    /// The broker refused the connection (bad credentials, protocol, id); retried with backoff.
    case refused(reason: String)
    case disconnected(reason: String)
    /// A connect attempt failed at the network level; the next attempt comes after `retryIn` seconds.
    case connectFailed(reason: String, retryIn: Double)
}
