import EdgeConfig
import EdgeRules
import MillwrightCore

extension IngestPipeline {
    /// Why a new configuration cannot replace the running one without a restart.
    public struct ReloadRefusal: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Swaps in a new configuration atomically with respect to messages: no message is
    /// dropped, and every rule whose sensor and parameters are unchanged keeps its state.
    public func reconfigure(to new: EdgeConfiguration) throws(ReloadRefusal) {
        try state.withLock { (s: inout State) throws(ReloadRefusal) in
            let old = s.config
            for (what, a, b) in [("site", old.site, new.site), ("edge", old.edge, new.edge), ("data_dir", old.dataDir, new.dataDir)] where a != b {
                throw ReloadRefusal(description: "\(what) changed from \"\(a)\" to \"\(b)\"; that needs a restart")
            }
            var next = State(config: new, decoders: new.sensors.map { PayloadDecoder($0.decode) },
                             router: TopicRouter(sensors: new.sensors))
            next.stats = s.stats
            next.counts = s.counts
            next.recentQuarantine = s.recentQuarantine
            next.nextID = s.nextID
            for inst in s.instances {
                let oldSensor = old.sensors[inst.sensor]
                // Same name but a different topic, identity or decoding is a different sensor.
                guard let j = new.sensors.firstIndex(where: { $0.name == oldSensor.name }) else { continue }
                let ns = new.sensors[j]
                guard ns.topic == oldSensor.topic, ns.equipment == oldSensor.equipment, ns.signal == oldSensor.signal,
                      ns.broker == oldSensor.broker, ns.decode == oldSensor.decode else { continue }
                let i = Self.addInstance(&next, key: inst.key, sensor: j, equipment: inst.equipment, signal: inst.signal,
                                         rules: inst.rules.reconfigured(to: ns.rules(forEquipment: inst.equipment)))
                next.instances[i].dirty = true
                next.dirtyList.append(i)
            }
            s = next
        }
    }
}
