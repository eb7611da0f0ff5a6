import CentralSync
import Testing

/// Work center references resolve by identity: the full path, a unique name, or the id.
@Suite struct WorkCenterDirectoryTests {
    // Two lines, each with a "Press 1"; Line 2 also has "Press 2" with a sub-station below it.
    let directory = WorkCenterDirectory([
        .init(id: 1, name: "Line 1", path: "Line 1", parentID: nil),
        .init(id: 2, name: "Press 1", path: "Line 1 / Press 1", parentID: 1),
        .init(id: 3, name: "Line 2", path: "Line 2", parentID: nil),
        .init(id: 4, name: "Press 1", path: "Line 2 / Press 1", parentID: 3),
        .init(id: 5, name: "Press 2", path: "Line 2 / Press 2", parentID: 3),
        .init(id: 6, name: "Die 2a", path: "Line 2 / Press 2 / Die 2a", parentID: 5),
    ])

    @Test func aFullPathAUniqueNameAndAnIdResolve() throws {
        #expect(try directory.resolve("Line 2 / Press 1").get().id == 4)
        #expect(try directory.resolve("Press 2").get().id == 5)
        #expect(try directory.resolve(" Die 2a ").get().path == "Line 2 / Press 2 / Die 2a")
        #expect(try directory.resolve("2").get().path == "Line 1 / Press 1")
    }

    @Test func aNameTwoCentersShareIsAmbiguousAndListsBoth() {
        #expect(throws: WorkCenterDirectory.Problem.ambiguous(reference: "Press 1", paths: ["Line 1 / Press 1", "Line 2 / Press 1"])) {
            try directory.resolve("Press 1").get()
        }
    }

    @Test func anUnknownNameGetsTheClosestHint() {
        let r = directory.resolve("Press 3")
        guard case .failure(.unknown(_, let hint)) = r else { Issue.record("\(r)"); return }
        #expect(hint.contains("did you mean"))
    }

    @Test func aLineCoversEveryCenterBelowIt() {
        #expect(directory.subtree(of: 3) == [3, 4, 5, 6])
        #expect(directory.subtree(of: 2) == [2])
    }
}
