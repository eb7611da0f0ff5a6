/// The equipment mapping resolved against the ERP: each equipment's work center and the centers
/// below it, or every reference the ERP does not have.
///
/// Why a type: the ERP import needs it on every run and `check-config --erp` needs the same
/// answer without running the central; one resolution, so both say the same thing.
public struct MappingResolution: Sendable {
    public struct Entry: Sendable, Hashable {
        public var center: ERPWorkCenter
        /// The center and every center below it: works there belong to the equipment.
        public var subtree: Set<Int64>
    }

    public var entries: [String: Entry]

    /// Resolves every `work_center` and consumed product code; throws `MasterDataError` naming all
    /// that the ERP does not have.
    public static func resolve(_ config: SyncConfiguration, against source: any MasterDataSource) async throws -> MappingResolution {
        let directory = WorkCenterDirectory(try await source.workCenters())
        var problems: [String] = []
        var entries: [String: Entry] = [:]
        for (equipment, mapping) in config.equipment.sorted(by: { $0.key < $1.key }) {
            switch directory.resolve(mapping.workCenter) {
            case .success(let center):
                entries[equipment] = Entry(center: center, subtree: directory.subtree(of: center.id))
            case .failure(let problem):
                problems.append("equipment.\(equipment).work_center: \(problem)")
            }
        }
        let materials = Set(config.equipment.values.flatMap { $0.consumption.values })
        if !materials.isEmpty {
            let known = try await source.knownProductCodes(materials)
            for code in materials.subtracting(known).sorted() {
                let users = config.equipment.filter { $0.value.consumption.values.contains(code) }.keys.sorted()
                problems.append("equipment.\(users.joined(separator: ", ")).consumption: \"\(code)\" is not a product code in the ERP")
            }
        }
        if !problems.isEmpty { throw MasterDataError.mappingMismatch(problems) }
        return MappingResolution(entries: entries)
    }
}
