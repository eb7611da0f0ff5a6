import ConfigSupport
import Foundation

/// A work center as the ERP has it: identity, display name, and place in the hierarchy.
public struct ERPWorkCenter: Sendable, Hashable, Codable {
    public var id: Int64
    /// The center's own name ("Press 2").
    public var name: String
    /// The full name the ERP shows, with its parents ("Line 2 / Press 2"; equal to `name` at the top).
    public var path: String
    public var parentID: Int64?

    public init(id: Int64, name: String, path: String, parentID: Int64?) {
        self.id = id
        self.name = name
        self.path = path
        self.parentID = parentID
    }
}

/// Resolves the `work_center` a user wrote in `equipment:` to the ERP's work center, by identity.
///
/// Why: display names are not identities. In a plant set up the usual way work centers are nested
/// (Line 2 > Press 2), the ERP shows a work's center by its full path, and two lines may each
/// have a "Press 1". Comparing names made running works never match their equipment. Here a
/// reference is the full path, a name that is unique, or the numeric id; anything else is an
/// error that names it, with the closest candidates.
public struct WorkCenterDirectory: Sendable {
    public let centers: [Int64: ERPWorkCenter]
    let children: [Int64: [Int64]]

    public init(_ list: [ERPWorkCenter]) {
        centers = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var children: [Int64: [Int64]] = [:]
        for c in list { if let p = c.parentID { children[p, default: []].append(c.id) } }
        self.children = children
    }

    /// Why a reference did not resolve.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case unknown(reference: String, hint: String)
        case ambiguous(reference: String, paths: [String])

        public var description: String {
            switch self {
            case .unknown(let r, let hint):
                return "\"\(r)\" is not a work center in the ERP\(hint)"
            case .ambiguous(let r, let paths):
                return "\"\(r)\" names \(paths.count) work centers (\(paths.map { "\"\($0)\"" }.joined(separator: ", "))): write the full path"
            }
        }
    }

    /// The center a reference names: its full path, else a unique name, else its id.
    public func resolve(_ reference: String) -> Result<ERPWorkCenter, Problem> {
        let ref = reference.trimmingCharacters(in: .whitespaces)
        let all = centers.values.sorted { $0.id < $1.id }
        if let c = all.first(where: { $0.path == ref }) { return .success(c) }
        let named = all.filter { $0.name == ref }
        if named.count == 1 { return .success(named[0]) }
        if named.count > 1 { return .failure(.ambiguous(reference: ref, paths: named.map(\.path).sorted())) }
        if let id = Int64(ref), let c = centers[id] { return .success(c) }
        return .failure(.unknown(reference: ref, hint: Suggest.hint(ref, all.map(\.path) + all.map(\.name))))
    }

    /// The center and every center below it: works there belong to equipment mapped to the center.
    public func subtree(of id: Int64) -> Set<Int64> {
        var out: Set<Int64> = []
        var stack = [id]
        while let next = stack.popLast() {
            guard out.insert(next).inserted else { continue }  // a cycle in bad ERP data ends here
            stack.append(contentsOf: children[next] ?? [])
        }
        return out
    }
}
