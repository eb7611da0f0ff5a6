import Foundation
import MillwrightCore

/// A production order as an MES receives it when the ERP releases or changes it: one version per
/// change, one copy per mapped equipment the order's operations run on. ISA-95 names in the
/// documentation (central/README.md, "Order release"): the work order (`order_*`, `status`,
/// `material`: the material definition it produces and how much), its operation segments
/// (`operations`, each on a work center and the equipment mapped to it) and its material
/// requirements (`materials`, the bill of materials' planned inputs).
///
/// Why versions and not the ERP's own change stamps: an MES must acknowledge or reject exactly what
/// it was sent (ISA-95 Process/Acknowledge), and the answer must name it; a version is a number the
/// MES can compare, and it only moves when something the MES uses changed (not the ERP's
/// bookkeeping, such as a work's progress or a stock assignment).
public struct OrderReleasePayload: PostingPayload, Hashable {
    /// The one schema this version writes; a consumer checks it before reading the rest.
    public static let currentSchema = "millwright.order-release/1"

    /// What the MES should do with the order.
    public enum Status: String, Sendable, Codable, Hashable, CaseIterable {
        /// Released by the ERP (Tryton waiting, assigned or running): schedule and run it.
        case released
        /// Done in the ERP: nothing more is expected.
        case completed
        /// Cancelled in the ERP: stop, do not start.
        case cancelled
        /// Taken back (the ERP put it back to draft or request, or its operation left this equipment).
        case withdrawn
    }

    /// An operation segment: a routing step of the order on a work center.
    public struct Operation: Sendable, Codable, Hashable {
        /// The ERP's id of the step (Tryton `production.work`): what a confirmation names.
        public var id: Int64
        public var operation: String
        public var workCenter: String
        public var workCenterID: Int64?
        /// The mapped equipment the step runs on (`equipment` in the central's configuration).
        public var equipment: [String]

        enum CodingKeys: String, CodingKey {
            case id, operation, equipment
            case workCenter = "work_center", workCenterID = "work_center_id"
        }
    }

    /// A material definition with a quantity: what the order makes, or what it consumes.
    public struct Material: Sendable, Codable, Hashable {
        public var code: String
        public var productID: Int64
        public var unitID: Int64
        public var quantity: Double

        enum CodingKeys: String, CodingKey {
            case code, quantity
            case productID = "product_id", unitID = "unit_id"
        }
    }

    public var key: String
    public var kind: PostingKind
    public var schema: String
    /// 1 for the order's first release, +1 for each change an MES is sent.
    public var version: Int
    /// The equipment this copy is addressed to (a target's topic or URL can name it: `{equipment}`).
    public var equipment: String
    public var status: Status
    public var orderID: Int64
    public var orderNumber: String
    public var orderReference: String
    /// What the order makes and how much.
    public var material: Material
    public var operations: [Operation]
    /// The planned inputs, by product code.
    public var materials: [Material]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key, kind, schema, version, equipment, status, material, operations, materials
        case orderID = "order_id", orderNumber = "order_number", orderReference = "order_reference"
    }

    public static var knownFields: Set<String>? { Set(CodingKeys.allCases.map(\.rawValue)) }

    public init(key: String, version: Int, equipment: String, status: Status, orderID: Int64, orderNumber: String,
                orderReference: String, material: Material, operations: [Operation], materials: [Material]) {
        self.key = key
        kind = .orderRelease
        schema = Self.currentSchema
        self.version = version
        self.equipment = equipment
        self.status = status
        self.orderID = orderID
        self.orderNumber = orderNumber
        self.orderReference = orderReference
        self.material = material
        self.operations = operations
        self.materials = materials
    }

    /// What an MES acts on: everything but the copy's identity (key, version, equipment). Two
    /// releases with the same content are the same version.
    public var content: Content {
        Content(status: status, orderNumber: orderNumber, orderReference: orderReference, material: material,
                operations: operations, materials: materials)
    }

    public struct Content: Sendable, Hashable {
        public var status: Status
        public var orderNumber: String
        public var orderReference: String
        public var material: Material
        public var operations: [Operation]
        public var materials: [Material]
    }

    public func check(kind expected: PostingKind, key expectedKey: String) throws(PayloadError) {
        try Self.checkIdentity(kind: kind, key: key, expected: expected, expectedKey: expectedKey)
        guard schema == Self.currentSchema else {
            throw .invalid(kind, field: "schema", reason: "is \"\(schema)\"; this version writes \"\(Self.currentSchema)\"")
        }
        guard version >= 1 else { throw .invalid(kind, field: "version", reason: "must be 1 or more (got \(version))") }
        guard !equipment.isEmpty else { throw .invalid(kind, field: "equipment", reason: "must name the equipment the copy is for") }
        guard orderID >= 1 else { throw .invalid(kind, field: "order_id", reason: "must be an ERP id, 1 or more (got \(orderID))") }
        let all = [("material", material)] + materials.enumerated().map { ("materials[\($0.offset)]", $0.element) }
        for (field, m) in all {
            guard m.quantity.isFinite, m.quantity >= 0 else {
                throw .invalid(kind, field: "\(field).quantity", reason: "must be zero or more (got \(m.quantity))")
            }
        }
    }
}
