import CSQLite
import Foundation
import Synchronization
import TesseraCore
import TesseraPlatform

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded default store: one SQLite file in WAL mode.
///
/// A fixed number of connections, each used by one pool thread at a time. Writers use
/// `BEGIN IMMEDIATE`, so the write lock is taken before anything is read and a read-check-write is atomic
/// even with another process (the CLI beside the server) on the same file; waiting writers retry for
/// the busy timeout.
public final class SQLiteStore: Store {
    private let pool: BlockingPool
    private let idle: Mutex<[SQLiteConnectionBox]>
    public let path: String

    /// Opens or creates the database, creating its directory when missing, and runs pending migrations.
    /// - Parameters:
    ///   - connections: how many queries may run at once (and the number of blocking threads).
    public init(path: String, busyTimeout: Duration = .seconds(5), connections: Int = 4) throws {
        self.path = path
        try Self.prepareDirectory(for: path)
        let milliseconds = Int32(
            clamping: busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        )
        var opened: [SQLiteConnectionBox] = []
        for _ in 0..<max(1, connections) {
            opened.append(SQLiteConnectionBox(try SQLiteConnection(path: path, busyTimeoutMilliseconds: milliseconds)))
        }
        // The database holds password hashes: owner-only.
        chmod(path, 0o600)
        try Self.migrate(opened[0].connection)
        idle = Mutex(opened)
        pool = BlockingPool(name: "sqlite", threads: opened.count)
    }

    /// The newest schema version this build knows.
    public static var schemaVersion: Int { SQLiteMigrations.all.last?.version ?? 0 }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await withConnection { connection in
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let result = try body(SQLiteTransaction(connection: connection))
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await withConnection { connection in
            try connection.execute("BEGIN")
            defer { try? connection.execute("ROLLBACK") }
            return try body(SQLiteTransaction(connection: connection))
        }
    }

    public func checkReachable() async throws {
        _ = try await withConnection { connection in
            try connection.query("SELECT 1") { $0.int(0) }
        }
    }

    private func withConnection<T: Sendable>(_ work: @escaping @Sendable (SQLiteConnection) throws -> T) async throws
        -> T
    {
        try await pool.run { [self] in
            // As many connections as pool threads: one is always free here.
            guard let box = self.idle.withLock({ $0.popLast() }) else {
                throw StoreError(.internal, "no idle SQLite connection")
            }
            defer { self.idle.withLock { $0.append(box) } }
            return try work(box.connection)
        }
    }

    private static func prepareDirectory(for path: String) throws {
        guard path != ":memory:" else { return }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StoreError(.unavailable, "cannot create database: \(directory) is not a directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(
                .unavailable, "cannot create database directory \(directory): \(error.localizedDescription)")
        }
    }

    /// Applies every migration newer than the database, each in its own transaction, under the write
    /// lock so two processes starting at once do not both migrate.
    static func migrate(_ connection: SQLiteConnection) throws {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            try connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
            let current =
                try connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") { Int($0.int(0)) }.first
                ?? 0
            guard current <= schemaVersion else {
                throw StoreError(
                    .schema,
                    "database schema version \(current) is newer than this tessera build knows (\(schemaVersion)); upgrade tessera"
                )
            }
            for migration in SQLiteMigrations.all where migration.version > current {
                try connection.executeScript(migration.sql)
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.integer(Int64(migration.version)), .text(migration.name), .date(Date())])
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}

/// Moves a confined connection between pool threads; only one thread holds it at a time.
private final class SQLiteConnectionBox: @unchecked Sendable {
    let connection: SQLiteConnection
    init(_ connection: SQLiteConnection) { self.connection = connection }
}
