import CMosquitto

/// Every failure of the MQTT client, with a description that says what to do.
public enum MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A libmosquitto call failed; `code` is its MOSQ_ERR_* value.
    case library(call: String, code: Int32, message: String)
    case invalidOptions(String)
    case notRunning
    /// Publishing needs a live connection; libmosquitto would otherwise race the CONNECT packet.
    case notConnected

    public var description: String {
        switch self {
        case .library(let call, let code, let message):
            return "\(call) failed: \(message) (libmosquitto code \(code)). \(Self.advice(for: code))"
        case .invalidOptions(let what):
            return "invalid MQTT options: \(what)"
        case .notRunning:
            return "the MQTT client is stopped; create a new client to connect again"
        case .notConnected:
            return "not connected to the broker yet; retry after the connection is up (see isConnected)"
        }
    }

    static func advice(for code: Int32) -> String {
        switch code {
        case Int32(MOSQ_ERR_NO_CONN.rawValue), Int32(MOSQ_ERR_CONN_LOST.rawValue), Int32(MOSQ_ERR_ERRNO.rawValue):
            return "Check that the broker is running and reachable; the client reconnects by itself."
        case Int32(MOSQ_ERR_TLS.rawValue):
            return "Check the CA, client certificate and key files and that the broker listener uses TLS."
        case Int32(MOSQ_ERR_AUTH.rawValue), Int32(MOSQ_ERR_CONN_REFUSED.rawValue):
            return "Check username and password and the broker's ACL."
        case Int32(MOSQ_ERR_PAYLOAD_SIZE.rawValue):
            return "The payload is larger than MQTT or the broker allows."
        case Int32(MOSQ_ERR_INVAL.rawValue):
            return "An argument was rejected: check topic names and QoS (0, 1 or 2)."
        case Int32(MOSQ_ERR_NOT_SUPPORTED.rawValue):
            return "The feature needs a libmosquitto built with it (for example TLS)."
        default:
            return "See the broker log for details."
        }
    }
}

/// The one place libmosquitto return codes become typed errors.
@inline(__always)
func check(_ rc: Int32, _ call: @autoclosure () -> String) throws(MQTTError) {
    guard rc == Int32(MOSQ_ERR_SUCCESS.rawValue) else {
        throw MQTTError.library(call: call(), code: rc, message: String(cString: mosquitto_strerror(rc)))
    }
}
