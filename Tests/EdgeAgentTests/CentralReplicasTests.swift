import Foundation
import MillwrightCore
import Testing

/// How presence messages make the central available or not, and when a replica's loss is news:
/// the rules the edge (and each replica) apply, without a broker.
@Suite struct CentralReplicasTests {
    func message(_ state: CentralPresence.State, _ replica: String?, reason: CentralPresence.OfflineReason? = nil) -> [UInt8] {
        Array(try! JSONEncoder().encode(CentralPresence(state: state, central: "c", since: nil, replica: replica, reason: reason)))
    }

    /// One message on a replica's topic (or the service-wide one for nil), which must be a presence topic.
    func apply(_ c: inout CentralReplicas, _ replica: String?, _ payload: [UInt8]) throws -> CentralReplicas.Update {
        let update = c.apply(topic: replica.map(UplinkTopics.replicaPresence) ?? UplinkTopics.centralPresence, payload: payload)
        return try #require(update)
    }

    @Test func oneReplicaGoneLeavesTheServiceAvailableAndIsReportedLost() throws {
        var c = CentralReplicas()
        #expect(!c.available)
        let first = try apply(&c, "c-1", message(.online, "c-1"))
        #expect(!first.wasAvailable && first.isAvailable && first.joined == "c-1" && first.lost == nil)
        _ = c.apply(topic: UplinkTopics.replicaPresence("c-2"), payload: message(.online, "c-2"))
        // c-1's last will: the service stays available, and c-1 is news (its batches get no answer).
        let will = try apply(&c, "c-1", message(.offline, "c-1", reason: .lost))
        #expect(will.wasAvailable && will.isAvailable && will.lost == "c-1")
        #expect(c.online == ["c-2"] && c.gone == ["c-1"])
        // The last one stopping: unavailable.
        let last = try apply(&c, "c-2", message(.offline, "c-2", reason: .stopped))
        #expect(last.wasAvailable && !last.isAvailable && last.lost == "c-2")
    }

    @Test func aGoneReplicaSeenAtSubscribeIsNotNews() throws {
        var c = CentralReplicas()
        // Retained messages after a (re)subscribe: a replica removed long ago is not a loss now.
        let old = try apply(&c, "c-9", message(.offline, "c-9", reason: .lost))
        #expect(old.lost == nil && !old.isAvailable)
        // A cleared retained message (empty payload) forgets the replica; a lost online one is news.
        _ = c.apply(topic: UplinkTopics.replicaPresence("c-1"), payload: message(.online, "c-1"))
        let cleared = try apply(&c, "c-1", [])
        #expect(cleared.lost == "c-1" && !cleared.isAvailable)
        _ = c.apply(topic: UplinkTopics.replicaPresence("c-9"), payload: [])
        #expect(c.replicas.isEmpty)
    }

    @Test func theServiceWideMessageCountsOnlyWithoutReplicaPresence() throws {
        var c = CentralReplicas()
        // A central of release 1: only the service-wide topic.
        _ = c.apply(topic: UplinkTopics.centralPresence, payload: message(.online, nil))
        #expect(c.available)
        // Once replicas announce themselves, they decide: all gone means unavailable even while the
        // service-wide message (which nobody could correct after a kill of all) still says online.
        _ = c.apply(topic: UplinkTopics.replicaPresence("c-1"), payload: message(.offline, "c-1", reason: .lost))
        #expect(!c.available)
        // And a service-wide "offline" does not hide a replica that is online.
        _ = c.apply(topic: UplinkTopics.replicaPresence("c-2"), payload: message(.online, "c-2"))
        _ = c.apply(topic: UplinkTopics.centralPresence, payload: message(.offline, nil))
        #expect(c.available && c.service == .offline)
        #expect(c.othersOnline(than: "c-1") && !c.othersOnline(than: "c-2"))
    }

    @Test func unusableMessagesChangeNothingAndSayWhy() throws {
        var c = CentralReplicas()
        _ = c.apply(topic: UplinkTopics.replicaPresence("c-1"), payload: message(.online, "c-1"))
        let garbage = try apply(&c, "c-1", Array("{\"state\":\"gone\"}".utf8))
        #expect(garbage.refused != nil && garbage.lost == nil && c.available)
        // Another replica's message on c-1's topic (a forged or misrouted will) is refused.
        let impostor = try apply(&c, "c-1", message(.offline, "c-2"))
        #expect(impostor.refused?.description.contains("c-2") == true && c.online == ["c-1"])
        #expect(c.apply(topic: "millwright/v1/plant-a/gw-1/ack", payload: []) == nil)
    }

    @Test func presenceTopicsParseAndCannotBeMistakenForAnEdgesTopics() {
        #expect(UplinkTopics.parseReplicaPresence(UplinkTopics.replicaPresence("central-0")) == "central-0")
        #expect(UplinkTopics.parseReplicaPresence("millwright/v1/central/replicas//presence") == nil)
        #expect(UplinkTopics.parseReplicaPresence("millwright/v1/central/presence") == nil)
        // Even a replica called "events" is six levels deep: no edge filter (five levels) matches it.
        #expect(UplinkTopics.parse(UplinkTopics.replicaPresence("events"), kind: "events") == nil)
        #expect(UplinkTopics.isTopicLevel("millwright-central-0") && !UplinkTopics.isTopicLevel("a/b")
                && !UplinkTopics.isTopicLevel("a+") && !UplinkTopics.isTopicLevel(""))
    }
}
