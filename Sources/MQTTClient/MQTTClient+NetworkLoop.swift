import CMosquitto
import Foundation

extension MQTTClient {
    /// Runs on the network thread until `stop()`.
    func runNetworkLoop() {
        let m = handle.raw
        var firstAttempt = true
        while !isStopping {
            let rc: Int32
            if firstAttempt {
                rc = connectCall()
            } else {
                rc = mosquitto_reconnect(m)
            }
            if rc == Int32(MOSQ_ERR_SUCCESS.rawValue) {
                firstAttempt = false
                // Returns when the connection is lost (see the disconnect callback) or on stop.
                if let gate, let wakePipe {
                    runGatedSession(gate, wake: wakePipe)
                } else {
                    _ = mosquitto_loop_forever(m, 1000, 1)
                }
                state.withLock { $0.connected = false }
                if isStopping { break }
            } else {
                let reason = String(cString: mosquitto_strerror(rc))
                let delay = nextBackoff()
                logger.warning("MQTT connect failed", metadata: [
                    "broker": "\(options.host):\(options.port)", "reason": "\(reason)", "retry_in_s": "\(delay)",
                ])
                box.onConnectionChange(.connectFailed(reason: reason, retryIn: delay))
                waitBackoff(delay)
                continue
            }
            waitBackoff(nextBackoff())
        }
    }

    private func connectCall() -> Int32 {
        let m = handle.raw
        let keepalive = Int32(options.keepalive)
        guard options.protocolVersion == .v5, !options.cleanStart else {
            return mosquitto_connect(m, options.host, Int32(options.port), keepalive)
        }
        // MQTT 5 ends a session at disconnect unless an expiry is set; libmosquitto keeps
        // these properties for every reconnect.
        var props: OpaquePointer? = nil
        _ = mosquitto_property_add_int32(&props, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), options.sessionExpiry)
        defer { mosquitto_property_free_all(&props) }
        return mosquitto_connect_bind_v5(m, options.host, Int32(options.port), keepalive, nil, props)
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    private func nextBackoff() -> Double { state.withLock { $0.backoff.nextDelay() } }

    private func waitBackoff(_ seconds: Double) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        wakeup.lock()
        while !isStopping && Date() < deadline {
            _ = wakeup.wait(until: deadline)
        }
        wakeup.unlock()
    }

    // MARK: callbacks, on the network thread

    func connected(rc: Int32, flags: Int32) {
        guard rc == 0 else {
            let reason = String(cString: mosquitto_connack_string(rc))
            logger.error("MQTT broker refused the connection", metadata: [
                "broker": "\(options.host):\(options.port)", "reason": "\(reason)",
            ])
            box.onConnectionChange(.refused(reason: reason))
            return
        }
        let sessionPresent = flags & 1 != 0
        let subs = state.withLock { s -> [String: Subscription] in
            s.connected = true
            s.connects += 1
            s.backoff.reset()
            return s.subscriptions
        }
        logger.info("MQTT connected", metadata: [
            "broker": "\(options.host):\(options.port)", "session_present": "\(sessionPresent)",
        ])
        // A 3.1.1 session that survived keeps its subscriptions, and resending them would replay
        // retained messages: only those that want retained state every time are sent again.
        let skipSurviving = sessionPresent && options.protocolVersion == .v311
        for (filter, sub) in subs.sorted(by: { $0.key < $1.key }) where !(skipSurviving && sub.retain == .onlyNew) {
            do { try sendSubscribe(filter, sub) } catch {
                logger.error("MQTT subscribe failed", metadata: ["filter": "\(filter)", "error": "\(error)"])
            }
        }
        box.onConnectionChange(.connected(sessionPresent: sessionPresent))
    }

    func disconnected(rc: Int32) {
        state.withLock { $0.connected = false }
        if rc != 0 && !isStopping {
            let reason = String(cString: mosquitto_strerror(rc))
            logger.warning("MQTT connection lost", metadata: ["broker": "\(options.host):\(options.port)", "reason": "\(reason)"])
            box.onConnectionChange(.disconnected(reason: reason))
            // Make loop_forever hand control back, so our own backoff (with jitter) decides when to retry.
            _ = mosquitto_disconnect(handle.raw)
        } else {
            box.onConnectionChange(.disconnected(reason: "client disconnected"))
        }
    }
}
