public import TesseraCore
public import TesseraStore

/// Reading and verifying the hash-chained audit log. Administrators only.
public struct AuditService: Sendable {
    let store: any Store
    let sha256Hex: @Sendable ([UInt8]) -> String

    public init(store: any Store, sha256Hex: @escaping @Sendable ([UInt8]) -> String) {
        self.store = store
        self.sha256Hex = sha256Hex
    }

    /// Entries from sequence `from` on, oldest first.
    public func entries(from sequence: Int64 = 1, limit: Int = 100, by actor: Actor) async throws -> [AuditEntry] {
        try requireAdministrator(actor)
        guard limit > 0 else {
            throw CoreError(.invalidInput, "audit.limit", "limit must be a positive number")
        }
        return try await store.read { try $0.auditEntries(from: sequence, limit: limit) }
    }

    /// The newest entries, oldest first.
    public func latest(_ count: Int, by actor: Actor) async throws -> [AuditEntry] {
        try requireAdministrator(actor)
        let last = try await store.read { try $0.lastAuditEntry() }
        guard let last else { return [] }
        return try await entries(from: max(1, last.sequence - Int64(count) + 1), limit: count, by: actor)
    }

    public struct Verification: Sendable, Equatable {
        /// How many entries verified (up to the break, when there is one).
        public var entries: Int64
        /// The hash of the newest verified entry (worth writing down: an attacker who rewrites the whole chain
        /// changes it).
        public var headHash: String
        /// The first break, nil when the chain is intact.
        public var failure: AuditChain.Break?
    }

    /// Recomputes the whole chain in one consistent read.
    public func verify(by actor: Actor) async throws -> Verification {
        try requireAdministrator(actor)
        let hash = sha256Hex
        return try await store.read { reader in
            var previous: AuditEntry?
            var count: Int64 = 0
            let batch = 1000
            while true {
                let entries = try reader.auditEntries(from: (previous?.sequence ?? 0) + 1, limit: batch)
                if let failure = AuditChain.verify(entries, after: previous, sha256Hex: hash) {
                    // The entries before the break in this batch did verify.
                    let intact = entries.prefix { $0.sequence != failure.sequence }
                    return Verification(
                        entries: count + Int64(intact.count),
                        headHash: intact.last?.hash ?? previous?.hash ?? AuditChain.genesisHash,
                        failure: failure)
                }
                count += Int64(entries.count)
                previous = entries.last ?? previous
                if entries.count < batch { break }
            }
            // A gap at the end (the newest entries removed) cannot be seen from the entries alone; a
            // sequence hole before the last entry can, and `verify` reports it.
            return Verification(entries: count, headHash: previous?.hash ?? AuditChain.genesisHash, failure: nil)
        }
    }

    private func requireAdministrator(_ actor: Actor) throws {
        guard actor.roles.contains(.administrator) else {
            throw CoreError(.notPermitted, "audit.denied", "only administrators may read the audit log (\(actor))")
        }
    }
}
