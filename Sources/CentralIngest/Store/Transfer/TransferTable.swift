/// One table of the central's state as it moves between backends (`millwright-central
/// migrate-store`): its name, its columns with their backend-neutral kinds, and how its rows are
/// read in pages.
///
/// Why a description rather than code per table: each backend writes its own SQL once, driven by
/// these descriptions, so a column added to a table is one line here and one migration per
/// backend, not a new copy routine. The module that owns a table declares it (`IngestTables`,
/// `SyncTables`); backends know no table by name except the cursors, which need translating.
public struct TransferTable: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var columns: [TransferColumn]
    /// An integer column, unique and never null, to read the table in pages by; nil for small
    /// tables read whole.
    public var pagedBy: String?
    /// The target generates `pagedBy` itself (an identity column): the source's values are kept,
    /// and the target's generator is moved past the highest one so new rows never collide.
    public var keepsGeneratedKeys: Bool

    public init(_ name: String, _ columns: [TransferColumn], pagedBy: String? = nil, keepsGeneratedKeys: Bool = false) {
        self.name = name
        self.columns = columns
        self.pagedBy = pagedBy
        self.keepsGeneratedKeys = keepsGeneratedKeys
    }

    public var description: String { name }
}

/// A column of a `TransferTable`.
///
/// Why kinds and not SQL types: the SQLite file keeps booleans as integers and lists as JSON text,
/// PostgreSQL as `boolean` and `text[]`; each backend maps the kind to its own storage.
public struct TransferColumn: Sendable, Hashable {
    public var name: String
    public var kind: TransferKind
    public var nullable: Bool

    public init(_ name: String, _ kind: TransferKind, nullable: Bool = false) {
        self.name = name
        self.kind = kind
        self.nullable = nullable
    }
}

/// What a column holds, independent of how a backend stores it.
public enum TransferKind: String, Sendable, Hashable {
    case integer, real, text, bytes, boolean, textList
}
