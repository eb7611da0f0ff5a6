/// One lot of an input material an MES reports an operation consumed: `{"material": "STEEL-2MM",
/// "lot": "HEAT-8812", "quantity": 12.5}` in a confirmation's `consumed` list.
///
/// Why its own type: it is the input half of lot genealogy (the output half is the confirmation's
/// `lot`); the planner checks the material against the order's bill of materials, the ERP books
/// the lot on the order's input, and `trace lot` follows it both ways.
public struct ConsumedLot: Sendable, Hashable, Codable {
    /// The input material's product code, as in the order's bill of materials.
    public var material: String
    /// The lot number, as the ERP knows it (an unknown number is created for the material).
    public var lot: String
    /// In the material's unit on the order.
    public var quantity: Double

    public init(material: String, lot: String, quantity: Double) {
        self.material = material
        self.lot = lot
        self.quantity = quantity
    }

    /// The most lots one confirmation may name.
    public static let maxPerConfirmation = 50
    static let fields: Set<String> = ["material", "lot", "quantity"]
}
