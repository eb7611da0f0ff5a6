import CentralSync
import ConfigSupport
import Testing

@Suite struct SyncConfigurationTests {
    static let valid = """
        central: c1
        broker: { host: 127.0.0.1, port: 1884 }
        erp:
          tryton: { url: "http://127.0.0.1:8000", database: millwright, user: admin, password: admin }
        equipment:
          press-1: { work_center: WC-PRESS-1, yield: parts, scrap: rejects, consumption: { steel-feed: STEEL }, quality: [thickness] }
        reconcile: { declarations: { quantity: 50 }, grace: 30s }
        targets:
          cmms: { kind: http, url: "http://127.0.0.1:9000/notifications", template: '{"asset": "{{equipment}}"}' }
          uns: { kind: mqtt, topic: "plant/{site}/{equipment}/escalations" }
        routes: { maintenance_notification: cmms, escalation: uns }
        """

    /// An MES feed with planning snapshots to a folder is synchronisation too (it used to never run).
    @Test func planningOrMESAloneEnablesTheSynchronisation() throws {
        let planning = try SyncConfiguration.parse(yaml: """
            central: c1
            planning: { every: 1m, folder: /tmp/planning }
            """)
        #expect(planning.isEnabled && planning.routes.isEmpty && planning.tryton == nil)
        #expect(try SyncConfiguration.parse(yaml: "central: c1\nmes: { topic: \"mes/+/+/order\" }\n").isEnabled)
        #expect(try SyncConfiguration.parse(yaml: "central: c1\n").isEnabled == false)
    }

    /// Order release: a retained MQTT target, the MES's answers and their time limit read; every
    /// mistake is located (an empty `mes`, a zero limit, `retain` on an HTTP target, a release
    /// route without the ERP or the equipment it needs).
    @Test func orderReleaseSettingsReadAndTheirMistakesAreLocated() throws {
        let yaml = Self.valid
            .replacingOccurrences(of: "routes: { maintenance_notification: cmms, escalation: uns }",
                                  with: "routes: { maintenance_notification: cmms, escalation: uns, order_release: orders }")
            .replacingOccurrences(of: "targets:\n", with: "targets:\n  orders: { kind: mqtt, topic: \"plant/{equipment}/orders/{order_number}\", retain: true }\n")
            + "\nmes: { answers: \"mes/+/answers\", answer_within: 5m }\n"
        let ok = try SyncConfiguration.parse(yaml: yaml)
        #expect(ok.mesAnswersTopic == "mes/+/answers" && ok.mesTopic == nil && ok.answerWithin == .seconds(300))
        #expect(ok.routes[.orderRelease] == "orders")
        #expect(ok.targets["orders"] == .mqtt(topic: "plant/{equipment}/orders/{order_number}", template: nil, retain: true))
        #expect(ok.targets["uns"] == .mqtt(topic: "plant/{site}/{equipment}/escalations", template: nil, retain: false))
        let bad = """
            central: t
            mes: { answer_within: 0s }
            targets:
              o: { kind: http, url: "http://x", retain: true }
            routes: { order_release: o }
            """
        do {
            _ = try SyncConfiguration.parse(yaml: bad)
            Issue.record("accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("<config>:2:6: mes: give `topic` (order starts and stops), `answers` (answers to order releases), `confirmations`"), "\(text)")
            #expect(text.contains("mes.answer_within: must be longer than 0"), "\(text)")
            #expect(text.contains("targets.o.retain: `retain` applies to an mqtt target only"), "\(text)")
            #expect(text.contains("routes.order_release: order_release needs the ERP's orders"), "\(text)")
        }
    }

    @Test func confirmationsMakeTheMESTheSourceOfRecordAndNeedTheERP() throws {
        let ok = try SyncConfiguration.parse(yaml: Self.valid + "\nmes: { confirmations: \"mes/+/confirmations\" }\n")
        #expect(ok.mesConfirmationsTopic == "mes/+/confirmations" && !ok.postsCountedQuantities)
        #expect(ok.routes[.workCycle] == "tryton", "work cycles go to the ERP by default, like the moves")
        #expect(try SyncConfiguration.parse(yaml: Self.valid).postsCountedQuantities)
        #expect(ok.confirmationTolerance == 0.05, "5% by default")
        #expect(try SyncConfiguration.parse(yaml: Self.valid + "\nmes: { confirmations: c, tolerance: 2.5% }\n").confirmationTolerance == 0.025)
        for (bad, message) in [("0.05", "expected a percentage like 5%"), ("150%", "must be between 0% and 100%")] {
            do {
                _ = try SyncConfiguration.parse(yaml: Self.valid + "\nmes: { confirmations: c, tolerance: \(bad) }\n")
                Issue.record("accepted \(bad)")
            } catch {
                #expect("\(error)".contains("mes.tolerance: \(message)"), "\(error)")
            }
        }
        do {
            _ = try SyncConfiguration.parse(yaml: "central: t\nmes: { confirmations: \"mes/c\" }\n")
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("<config>:2:23: mes.confirmations: confirmations are checked against the ERP's orders"), "\(error)")
        }
        // Inspections hold lots in a location of the ERP's: without it, refused where they are set.
        do {
            _ = try SyncConfiguration.parse(yaml: Self.valid + "\nmes: { inspections: \"lab/+/results\" }\n")
            Issue.record("accepted inspections without a hold location")
        } catch {
            #expect("\(error)".contains("mes.inspections: a failed inspection holds its lot in a location outside the warehouse"), "\(error)")
        }
        let held = try SyncConfiguration.parse(yaml: Self.valid.replacingOccurrences(of: "database: millwright", with: "database: millwright, hold_location: QUA")
                                               + "\nmes: { inspections: \"lab/+/results\" }\n")
        #expect(held.tryton?.holdLocation == "QUA" && held.mesInspectionsTopic == "lab/+/results" && held.routes[.lotQuality] == "tryton")
    }

    @Test func aFullConfigurationReads() throws {
        let c = try SyncConfiguration.parse(yaml: Self.valid)
        #expect(c.tryton?.rpcURL == "http://127.0.0.1:8000/millwright/rpc/")
        #expect(c.routes[.yield] == "tryton" && c.routes[.maintenanceNotification] == "cmms")
        #expect(c.equipment["press-1"]?.consumption["steel-feed"] == "STEEL")
        #expect(c.cadence == .quantity(50))
    }

    @Test func aRouteToAnUnknownTargetIsLocatedWithAHint() {
        let yaml = Self.valid.replacingOccurrences(of: "escalation: uns", with: "escalation: unz")
        #expect {
            try SyncConfiguration.parse(yaml: yaml, file: "central.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("central.yaml:") && text.contains("no target named \"unz\"") && text.contains("did you mean \"uns\"")
        }
    }

    @Test func twoTimingTiersAtOnceAreRefused() {
        let yaml = Self.valid.replacingOccurrences(of: "declarations: { quantity: 50 }", with: "declarations: { quantity: 50, every: 15m }")
        #expect(throws: ConfigError.self) { try SyncConfiguration.parse(yaml: yaml) }
    }
}
