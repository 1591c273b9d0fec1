package import Foundation
package import TesseraCore
package import TesseraStore

extension Store {
    /// `write`, with a backend failure reported as `CoreError.internal` (the services' one error type).
    package func change<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        do {
            return try await write(body)
        } catch let error as StoreError {
            throw CoreError(.internal, "store.\(error.kind.rawValue)", error.message)
        }
    }
}

/// Appends to the hash chain inside the caller's transaction, which holds the write lock, so two
/// writers (server and CLI) can never fork the chain.
package struct AuditLog: Sendable {
    let sha256Hex: @Sendable ([UInt8]) -> String

    package init(sha256Hex: @escaping @Sendable ([UInt8]) -> String) {
        self.sha256Hex = sha256Hex
    }

    package func record(_ record: AuditRecord, in transaction: any StoreTransaction, at now: Date) throws {
        let previous = try transaction.lastAuditEntry()
        try transaction.append(AuditChain.entry(for: record, at: now, after: previous, sha256Hex: sha256Hex))
    }
}
