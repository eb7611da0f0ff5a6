import CMosquitto
import Synchronization

/// What libmosquitto's C callbacks reach through the userdata pointer.
///
/// Passed retained to `mosquitto_new`; released only after the handle is destroyed,
/// so it outlives every callback. The client is held weakly to avoid a cycle.
final class CallbackBox: Sendable {
    let onMessage: MQTTClient.MessageHandler
    let onConnectionChange: MQTTClient.ConnectionHandler
    let onPublished: MQTTClient.PublishedHandler?
    let client = Mutex(WeakClient(client: nil))
    /// Messages handed to `onMessage` since the held acknowledgements were last written (gated clients).
    let delivered = Atomic<Int>(0)

    init(onMessage: @escaping MQTTClient.MessageHandler, onConnectionChange: @escaping MQTTClient.ConnectionHandler,
         onPublished: MQTTClient.PublishedHandler?) {
        self.onMessage = onMessage
        self.onConnectionChange = onConnectionChange
        self.onPublished = onPublished
    }

    static func from(_ userdata: UnsafeMutableRawPointer?) -> CallbackBox? {
        guard let userdata else { return nil }
        return Unmanaged<CallbackBox>.fromOpaque(userdata).takeUnretainedValue()
    }

    var owner: MQTTClient? { client.withLock { $0.client } }
}

struct WeakClient: Sendable {
    weak var client: MQTTClient?
}

extension MQTTClient {
    func installCallbacks() {
        let m = handle.raw
        mosquitto_connect_with_flags_callback_set(m) { _, userdata, rc, flags in
            CallbackBox.from(userdata)?.owner?.connected(rc: rc, flags: flags)
        }
        mosquitto_disconnect_callback_set(m) { _, userdata, rc in
            CallbackBox.from(userdata)?.owner?.disconnected(rc: rc)
        }
        mosquitto_publish_callback_set(m) { _, userdata, mid in
            CallbackBox.from(userdata)?.onPublished?(mid)
        }
        mosquitto_message_callback_set(m) { _, userdata, message in
            guard let box = CallbackBox.from(userdata), let message else { return }
            let msg = message.pointee
            // libmosquitto frees the message when this callback returns: copy topic and payload now.
            let topic = String(cString: msg.topic)
            let count = Int(msg.payloadlen)
            let payload: [UInt8]
            if count > 0, let bytes = msg.payload {
                payload = [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
            } else {
                payload = []
            }
            box.onMessage(MQTTMessage(topic: topic, payload: payload, qos: Int(msg.qos), retain: msg.retain))
            // Only QoS 1 and 2 have an acknowledgement to hold; QoS 0 is bounded by `mayRead`.
            if msg.qos > 0 { box.delivered.add(1, ordering: .relaxed) }
        }
    }
}
