#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One entry of the hash-chained audit log.
///
/// `hash` = SHA-256(`previousHash` ‖ canonical bytes of every other field), so changing, removing or
/// reordering any entry breaks every hash after it.
public struct AuditEntry: Sendable, Equatable {
    public var sequence: Int64
    public var at: Date
    public var actor: String
    /// e.g. `account.create`, `account.deactivate`.
    public var action: String
    public var targetType: String
    public var targetID: String
    /// A human label for the target (a managed ID), kept even after the target is deleted.
    public var targetName: String
    /// JSON snapshots without secrets; nil when the target did not exist before / after.
    public var before: String?
    public var after: String?
    /// Hex SHA-256 of the previous entry, or `AuditChain.genesisHash`.
    public var previousHash: String
    public var hash: String

    public init(
        sequence: Int64, at: Date, actor: String, action: String, targetType: String, targetID: String,
        targetName: String, before: String?, after: String?, previousHash: String, hash: String
    ) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.targetName = targetName
        self.before = before
        self.after = after
        self.previousHash = previousHash
        self.hash = hash
    }

    /// The bytes the hash covers: every field but `hash`, each length-prefixed so that no two different
    /// entries share an encoding.
    public var canonicalBytes: [UInt8] {
        var bytes: [UInt8] = []
        let fields: [String?] = [
            String(sequence), String(Int64((at.timeIntervalSince1970 * 1000).rounded())), actor, action, targetType,
            targetID, targetName, before, after, previousHash,
        ]
        for field in fields {
            if let field {
                bytes += Array("\(field.utf8.count):".utf8) + Array(field.utf8)
            } else {
                bytes += Array("-".utf8)
            }
            bytes.append(0x0A)
        }
        return bytes
    }
}

/// What a change records; the chain fills in sequence, previous hash and hash.
public struct AuditRecord: Sendable, Equatable {
    public var actor: Actor
    public var action: String
    public var targetType: String
    public var targetID: String
    public var targetName: String
    public var before: String?
    public var after: String?

    public init(
        actor: Actor, action: String, targetType: String, targetID: String, targetName: String, before: String?,
        after: String?
    ) {
        self.actor = actor
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.targetName = targetName
        self.before = before
        self.after = after
    }
}

/// Building and checking the chain. The hash function is passed in: the domain does no cryptography.
public enum AuditChain {
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The entry that follows `previous` (nil for the first entry).
    public static func entry(
        for record: AuditRecord, at now: Date, after previous: AuditEntry?, sha256Hex: ([UInt8]) -> String
    ) -> AuditEntry {
        var entry = AuditEntry(
            sequence: (previous?.sequence ?? 0) + 1, at: now, actor: record.actor.description, action: record.action,
            targetType: record.targetType, targetID: record.targetID, targetName: record.targetName,
            before: record.before, after: record.after, previousHash: previous?.hash ?? genesisHash, hash: "")
        entry.hash = sha256Hex(entry.canonicalBytes)
        return entry
    }

    /// Where a chain first breaks.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public var sequence: Int64
        public var reason: String
        public var description: String { "entry \(sequence): \(reason)" }
    }

    /// Checks entries in sequence order, continuing from `previous` (nil: from the start of the log).
    /// Returns the first break, or nil when the entries are intact.
    public static func verify(
        _ entries: [AuditEntry], after previous: AuditEntry?, sha256Hex: ([UInt8]) -> String
    ) -> Break? {
        var expectedSequence = (previous?.sequence ?? 0) + 1
        var expectedPrevious = previous?.hash ?? genesisHash
        for entry in entries {
            if entry.sequence != expectedSequence {
                return Break(
                    sequence: entry.sequence,
                    reason: "expected entry \(expectedSequence): entries are missing or reordered")
            }
            if entry.previousHash != expectedPrevious {
                return Break(sequence: entry.sequence, reason: "previous-hash does not match the entry before it")
            }
            if sha256Hex(entry.canonicalBytes) != entry.hash {
                return Break(
                    sequence: entry.sequence, reason: "content does not match its hash (the entry was altered)")
            }
            expectedSequence += 1
            expectedPrevious = entry.hash
        }
        return nil
    }
}
