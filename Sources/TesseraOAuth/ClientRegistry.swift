import Foundation
import Synchronization
public import TesseraCore
import TesseraPlatform
public import TesseraStore

/// The registered clients, held in memory for the token path (no database read, no shared lock per
/// request). Changes made in this process apply at once (`invalidate`); changes made by another process
/// (the CLI beside the server) are picked up within `maximumAge`, and a `client_id` not in memory is
/// looked up in the database (so a client registered a moment ago works at once).
public final class ClientRegistry: Sendable {
    struct Snapshot: Sendable {
        var clients: [String: OAuthClient]
        var loadedAt: ContinuousClock.Instant
    }

    let store: any Store
    let maximumAge: Duration
    private let snapshot = ReadMostly<Snapshot?>(nil)
    private let reloading = Atomic(false)
    /// Counts invalidations, so a reload that read the database before one cannot put its older copy back.
    private let epoch = Atomic<UInt64>(0)

    public init(store: any Store, maximumAge: Duration = .seconds(1)) {
        self.store = store
        self.maximumAge = maximumAge
    }

    public func client(id: String) async throws -> OAuthClient? {
        let current = try await fresh()
        if let client = current.clients[id] { return client }
        // Perhaps registered a moment ago by another process: ask the database for this one. Unknown ids
        // cost a read each, bounded by the attempt limiter that failed authentications feed.
        guard let found = try await store.read({ try $0.client(id: id) }) else { return nil }
        snapshot.update { cached in
            guard var cached else { return nil }
            cached.clients[id] = found
            return cached
        }
        return found
    }

    /// The client from memory when the in-memory copy is fresh and holds `id`; nil means: call
    /// `client(id:)`, which may read the database.
    public func clientWithoutWaiting(id: String) -> OAuthClient? {
        guard let current = snapshot.read(), ContinuousClock.now - current.loadedAt < maximumAge else { return nil }
        return current.clients[id]
    }

    /// Forgets the cached clients, so the next lookup reads them again.
    public func invalidate() {
        epoch.wrappingAdd(1, ordering: .acquiringAndReleasing)
        snapshot.replace(nil)
    }

    private func fresh() async throws -> Snapshot {
        if let current = snapshot.read() {
            if ContinuousClock.now - current.loadedAt < maximumAge { return current }
            // One caller reloads; the others keep the copy they have meanwhile.
            guard reloading.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
            else {
                return current
            }
            defer { reloading.store(false, ordering: .releasing) }
            return try await reload()
        }
        return try await reload()
    }

    private func reload() async throws -> Snapshot {
        let started = epoch.load(ordering: .acquiring)
        let clients = try await store.read { try $0.clients() }
        let fresh = Snapshot(clients: Dictionary(uniqueKeysWithValues: clients.map { ($0.id, $0) }), loadedAt: .now)
        snapshot.update { current in
            epoch.load(ordering: .acquiring) == started ? fresh : current
        }
        return fresh
    }
}
