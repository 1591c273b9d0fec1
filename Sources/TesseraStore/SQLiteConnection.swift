import CSQLite

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One `sqlite3*` handle. Confined: used by one thread at a time (the store hands connections to its
/// pool threads), so it is not Sendable itself.
final class SQLiteConnection {
    private let handle: OpaquePointer

    /// Opens (creating when missing) the database at `path` with the settings Tessera relies on:
    /// WAL, foreign keys, a busy timeout, and extended result codes.
    init(path: String, busyTimeoutMilliseconds: Int32) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw StoreError(.unavailable, "cannot open SQLite database \(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        let mode = try query("PRAGMA journal_mode=WAL") { $0.text(0) }.first ?? nil
        guard mode == "wal" else {
            throw StoreError(.unavailable, "SQLite database \(path) cannot use WAL mode (got \(mode ?? "nothing"))")
        }
        try execute("PRAGMA foreign_keys=ON")
        try execute("PRAGMA synchronous=NORMAL")
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one statement that returns no rows.
    func execute(_ sql: String, _ bindings: [SQLiteValue] = []) throws {
        let statement = try prepare(sql, bindings)
        defer { sqlite3_finalize(statement) }
        while try step(statement, sql: sql) {}
    }

    /// Runs a statement and maps every row.
    func query<T>(_ sql: String, _ bindings: [SQLiteValue] = [], _ map: (SQLiteRow) throws -> T) throws -> [T] {
        let statement = try prepare(sql, bindings)
        defer { sqlite3_finalize(statement) }
        var rows: [T] = []
        while try step(statement, sql: sql) {
            rows.append(try map(SQLiteRow(statement: statement)))
        }
        return rows
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs multi-statement SQL (migrations).
    func executeScript(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(error)
            throw StoreError(.internal, "SQLite script failed: \(message)")
        }
    }

    private func prepare(_ sql: String, _ bindings: [SQLiteValue]) throws -> OpaquePointer {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw error(rc, context: "prepare")
        }
        for (offset, value) in bindings.enumerated() {
            let index = Int32(offset + 1)
            let bound: Int32
            switch value {
            case .null: bound = sqlite3_bind_null(statement, index)
            case .integer(let number): bound = sqlite3_bind_int64(statement, index, number)
            case .text(let text): bound = sqlite3_bind_text(statement, index, text, -1, Self.transient)
            case .blob(let bytes):
                bound = bytes.withUnsafeBytes { buffer in
                    sqlite3_bind_blob(statement, index, buffer.baseAddress, Int32(buffer.count), Self.transient)
                }
            }
            if bound != SQLITE_OK {
                sqlite3_finalize(statement)
                throw error(bound, context: "bind")
            }
        }
        return statement
    }

    /// Advances `statement`; true when a row is ready.
    private func step(_ statement: OpaquePointer, sql: String) throws -> Bool {
        let rc = sqlite3_step(statement)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(rc, context: "step")
        }
    }

    private func error(_ rc: Int32, context: String) -> StoreError {
        let message = String(cString: sqlite3_errmsg(handle))
        switch rc & 0xFF {
        case SQLITE_CONSTRAINT:
            if rc == Self.constraintUnique || rc == Self.constraintPrimaryKey {
                return StoreError(.duplicate, message)
            }
            return StoreError(.internal, "constraint failed: \(message)")
        case SQLITE_BUSY, SQLITE_LOCKED:
            return StoreError(.unavailable, "database is busy: \(message)")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return StoreError(.corrupt, "database file is damaged: \(message)")
        case SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY:
            return StoreError(.unavailable, "database cannot be written: \(message)")
        default:
            return StoreError(.internal, "SQLite \(context) failed: \(message)")
        }
    }

    // Extended result codes are function-like macros in sqlite3.h, which Swift does not import.
    private static let constraintPrimaryKey = SQLITE_CONSTRAINT | (6 << 8)
    private static let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)

    /// SQLITE_TRANSIENT: SQLite copies the bound text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

enum SQLiteValue {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    static func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
    static func date(_ date: Date) -> SQLiteValue { .integer(Int64((date.timeIntervalSince1970 * 1000).rounded())) }
    static func optionalDate(_ date: Date?) -> SQLiteValue { date.map(SQLiteValue.date) ?? .null }
}

/// The current row of a statement; valid only inside the `query` closure.
struct SQLiteRow {
    let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func requiredText(_ column: Int32) throws -> String {
        guard let value = text(column) else {
            throw StoreError(.corrupt, "column \(column) is unexpectedly NULL")
        }
        return value
    }

    func date(_ column: Int32) -> Date? {
        isNull(column) ? nil : Date(timeIntervalSince1970: Double(int(column)) / 1000)
    }
}
