import Foundation
import TesseraPlatform
import Testing

@Suite struct ReadMostlyTests {
    @Test func everyThreadSeesReplacements() async throws {
        let value = ReadMostly(0)
        #expect(value.read() == 0)
        value.replace(1)
        #expect(value.read() == 1)
        value.update { $0 + 1 }
        #expect(value.read() == 2)
        // Readers on several threads, a writer in between: nobody reads an old value after the write.
        let pool = BlockingPool(name: "readers", threads: 4)
        let before = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { await pool.run { value.read() } } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(before.allSatisfy { $0 == 2 })
        value.replace(42)
        let after = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { await pool.run { value.read() } } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(after.allSatisfy { $0 == 42 })
    }

    @Test func concurrentUpdatesAreNotLost() async {
        let counter = ReadMostly(0)
        let pool = BlockingPool(name: "writers", threads: 4)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<200 { group.addTask { await pool.run { counter.update { $0 + 1 } } } }
        }
        #expect(counter.read() == 200)
    }
}
