import Foundation
import Synchronization
import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraStore
import Testing

/// An in-memory directory: people by sign-in name, each with a password and what the directory says
/// about them; `reachable` false makes it answer like a directory that is down.
final class FakeDirectory: PasswordDirectory {
    struct Person {
        var password: String
        var identity: DirectoryIdentity
    }

    let people = Mutex<[String: Person]>([:])
    let reachable = Atomic(true)
    var source: AccountSource { .ldap }

    func add(_ name: String, password: String, managedID: String, externalID: String, roles: Set<Role> = []) {
        let identity = DirectoryIdentity(
            source: .ldap, externalID: externalID,
            managedID: try! ManagedAccountID(managedID, managedDomains: ManagedDomains(["appleid.example.com"])),
            givenName: "Dir", familyName: name.capitalized, email: "\(name)@example.com", roles: roles)
        people.withLock { $0[name] = Person(password: password, identity: identity) }
    }

    func authenticate(_ name: String, password: String) async throws -> DirectoryIdentity {
        guard reachable.load(ordering: .relaxed) else {
            throw CoreError(.unavailable, "directory.unavailable", "the directory cannot be reached")
        }
        let key = name.hasSuffix("@appleid.example.com") ? String(name.dropLast("@appleid.example.com".count)) : name
        guard let person = people.withLock({ $0[key] }), person.password == password else {
            throw CoreError(.unauthenticated, "sign_in.failed", "wrong name or password")
        }
        return person.identity
    }
}

extension Fixture {
    func service(with directory: FakeDirectory) -> AccountService {
        AccountService(
            store: store, policy: policy, hasher: TestHasher(),
            generateTemporaryPassword: { TemporaryPassword.generate() },
            sha256Hex: { SHA256.hexDigest($0) }, now: { [clock] in clock.now }, directory: directory)
    }
}

func coreErrorKind(_ body: () async throws -> Void) async -> CoreError.Kind? {
    do {
        try await body()
        return nil
    } catch let error as CoreError {
        return error.kind
    } catch {
        return nil
    }
}

@Suite struct DirectorySignInTests {
    @Test func firstSignInCreatesTheAccountAndLaterOnesRefreshAndRenameIt() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let directory = FakeDirectory()
        directory.add(
            "jane", password: "pw-jane", managedID: "jane@appleid.example.com", externalID: "uuid-1", roles: [.staff])
        let service = fixture.service(with: directory)
        guard case .signedIn(let created) = try await service.signIn("jane", password: "pw-jane") else {
            Issue.record("not signed in")
            return
        }
        #expect(created.managedID.rawValue == "jane@appleid.example.com" && created.source == .ldap)
        #expect(created.externalID == "uuid-1" && created.credential == nil && created.roles == [.staff])
        #expect(created.email == "jane@example.com")
        // The managed ID works as a sign-in name too, and nothing changed: same version.
        guard case .signedIn(let again) = try await service.signIn("jane@appleid.example.com", password: "pw-jane")
        else {
            Issue.record("not signed in")
            return
        }
        #expect(again == created)
        // The directory renames her and gives her another role: one account, renamed, roles replaced.
        directory.add(
            "jane", password: "pw-jane", managedID: "jane.doe@appleid.example.com", externalID: "uuid-1",
            roles: [.contentManager])
        guard case .signedIn(let renamed) = try await service.signIn("jane", password: "pw-jane") else {
            Issue.record("not signed in")
            return
        }
        #expect(renamed.id == created.id && renamed.managedID.rawValue == "jane.doe@appleid.example.com")
        #expect(renamed.roles == [.contentManager] && renamed.version == created.version + 1)
        let all = try await service.accounts(matching: AccountQuery(), by: Fixture.root)
        #expect(all.map(\.managedID.rawValue) == ["jane.doe@appleid.example.com"])
        let actions = try await fixture.audit.entries(from: 1, limit: 10, by: Fixture.root).map(\.action)
        #expect(actions == ["account.create", "account.directory_refresh"])
    }

    @Test func localAccountsStayLocalAndAreNeverTakenOver() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let directory = FakeDirectory()
        let service = fixture.service(with: directory)
        let admin = try await fixture.create("admin", roles: ["administrator"])
        _ = try await service.changePassword(
            "admin@appleid.example.com", current: admin.temporaryPassword!, new: "a local passphrase")
        // The directory has an "admin" too: the local account answers with its own password only.
        directory.add("admin", password: "directory pw", managedID: "admin@appleid.example.com", externalID: "uuid-9")
        guard
            case .signedIn(let local) = try await service.signIn(
                "admin@appleid.example.com", password: "a local passphrase")
        else {
            Issue.record("not signed in")
            return
        }
        #expect(local.source == .local && local.roles == [.administrator])
        let refusals = [
            await coreErrorKind { _ = try await service.signIn("admin@appleid.example.com", password: "directory pw") },
            // By directory name: the directory vouches, but the managed ID is a local account's.
            await coreErrorKind { _ = try await service.signIn("admin", password: "directory pw") },
        ]
        #expect(refusals == [.unauthenticated, .unauthenticated])
        #expect(try await service.accounts(matching: AccountQuery(), by: Fixture.root).count == 1)
    }

    @Test func refusalsDeactivationAndAnUnreachableDirectory() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let directory = FakeDirectory()
        directory.add("john", password: "pw-john", managedID: "john@appleid.example.com", externalID: "uuid-2")
        let service = fixture.service(with: directory)
        #expect(await coreErrorKind { _ = try await service.signIn("john", password: "wrong") } == .unauthenticated)
        #expect(await coreErrorKind { _ = try await service.signIn("nobody", password: "pw") } == .unauthenticated)
        // Other spellings of a name (which a directory would accept) are refused before it is asked.
        for spelling in [" john", "john ", "john\t", "jo\u{0}hn"] {
            #expect(
                await coreErrorKind { _ = try await service.signIn(spelling, password: "pw-john") } == .unauthenticated)
        }
        _ = try await service.signIn("john", password: "pw-john")
        // Deactivated in Tessera: the directory's yes is not enough.
        _ = try await service.deactivate("john@appleid.example.com", by: Fixture.root)
        #expect(await coreErrorKind { _ = try await service.signIn("john", password: "pw-john") } == .unauthenticated)
        // Down: "unavailable", never "wrong password".
        directory.reachable.store(false, ordering: .relaxed)
        #expect(await coreErrorKind { _ = try await service.signIn("john", password: "pw-john") } == .unavailable)
        // Another directory person whose new managed ID another directory account holds: refused.
        directory.reachable.store(true, ordering: .relaxed)
        directory.add("ann", password: "pw-ann", managedID: "ann@appleid.example.com", externalID: "uuid-3")
        _ = try await service.signIn("ann", password: "pw-ann")
        directory.add("bob", password: "pw-bob", managedID: "ann@appleid.example.com", externalID: "uuid-4")
        #expect(await coreErrorKind { _ = try await service.signIn("bob", password: "pw-bob") } == .unauthenticated)
    }
}

/// A source that only proves who signs in (a Kerberos realm without LDAP) signs in to accounts of its
/// source an administrator created: it creates none, changes no profile, and binds the account to the
/// first principal.
@Suite struct SignInOnlySourceTests {
    func principal(_ name: String) -> DirectoryIdentity {
        .signInOnly(
            source: .kerberos, externalID: name + "@EXAMPLE.COM",
            managedID: try! ManagedAccountID(
                name.lowercased() + "@appleid.example.com", managedDomains: ManagedDomains(["appleid.example.com"])))
    }

    @Test func onlyAccountsAnAdministratorCreatedSignIn() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let service = fixture.service
        #expect(await coreErrorKind { _ = try await service.signIn(vouched: principal("Jane")) } == .unauthenticated)
        #expect(try await service.accounts(matching: AccountQuery(), by: Fixture.root).isEmpty)

        let created = try await service.create(
            NewAccount(managedID: "jane@appleid.example.com", givenName: "Jane", familyName: "Doe", source: "kerberos"),
            by: Fixture.root)
        #expect(created.temporaryPassword == nil && created.account.externalID == nil)
        let jane = try await service.signIn(vouched: principal("Jane"))
        #expect(jane.id == created.account.id && jane.externalID == "Jane@EXAMPLE.COM")
        #expect(jane.givenName == "Jane" && jane.familyName == "Doe")
        let again = try await service.signIn(vouched: principal("Jane"))
        #expect(again.version == jane.version)
        // Another principal whose name lower-cases to the same managed ID is someone else.
        #expect(await coreErrorKind { _ = try await service.signIn(vouched: principal("jane")) } == .unauthenticated)

        // A local account of that name is not a Kerberos one; a deactivated account stays shut.
        _ = try await service.create(
            NewAccount(managedID: "ann@appleid.example.com", givenName: "Ann", familyName: "Local"), by: Fixture.root)
        #expect(await coreErrorKind { _ = try await service.signIn(vouched: principal("ann")) } == .unauthenticated)
        _ = try await service.deactivate("jane@appleid.example.com", by: Fixture.root)
        #expect(await coreErrorKind { _ = try await service.signIn(vouched: principal("Jane")) } == .unauthenticated)
        let actions = try await fixture.audit.entries(from: 1, limit: 20, by: Fixture.root).map(\.action)
        #expect(actions.filter { $0 == "account.directory_refresh" }.count == 1)  // the binding
    }
}

@Suite struct DirectorySyncServiceTests {
    func entry(_ local: String, _ externalID: String) -> DirectoryEntry {
        DirectoryEntry(
            identity: DirectoryIdentity(
                source: .ldap, externalID: externalID,
                managedID: try! ManagedAccountID(
                    "\(local)@appleid.example.com", managedDomains: ManagedDomains(["appleid.example.com"])),
                givenName: "G", familyName: local))
    }

    @Test func aFailedReadChangesNothingAndTheFirstRunIsFull() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let sync = DirectorySyncService(
            store: fixture.store, sha256Hex: { SHA256.hexDigest($0) }, now: { fixture.clock.now })
        let asked = Mutex<[String?]>([])
        let failing = await coreErrorKind {
            _ = try await sync.run(source: .ldap, options: .init(), by: Fixture.root) { since in
                asked.withLock { $0.append(since) }
                throw CoreError(.unavailable, "directory.unavailable", "gone")
            }
        }
        #expect(failing == .unavailable)
        #expect(try await fixture.audit.entries(from: 1, limit: 10, by: Fixture.root).isEmpty)
        let first = try await sync.run(source: .ldap, options: .init(), by: Fixture.root) { since in
            asked.withLock { $0.append(since) }
            return .init(entries: [self.entry("ann", "u-1")], unusable: [], newestChange: "20261129120000Z")
        }
        #expect(first.full && first.outcome == .applied && first.plan.creates.count == 1)
        _ = try await sync.run(source: .ldap, options: .init(), by: Fixture.root) { since in
            asked.withLock { $0.append(since) }
            return .init(entries: [], unusable: [], newestChange: nil)
        }
        // Full until a run succeeded; then from the newest change it saw.
        #expect(asked.withLock { $0 } == [nil, nil, "20261129120000Z"])
    }

    @Test func theSafetyLimitStopsARunAndIsAudited() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let sync = DirectorySyncService(
            store: fixture.store, sha256Hex: { SHA256.hexDigest($0) }, now: { fixture.clock.now })
        let people = (0..<10).map { entry("p\($0)", "u-\($0)") }
        _ = try await sync.run(source: .ldap, options: .init(full: true), by: Fixture.root) { _ in
            .init(entries: people, unusable: [], newestChange: nil)
        }
        // Two of ten leave: 20% > 10%.
        let stopped = try await sync.run(source: .ldap, options: .init(full: true), by: Fixture.root) { _ in
            .init(entries: Array(people.dropLast(2)), unusable: [], newestChange: nil)
        }
        #expect(stopped.outcome == .stoppedBySafetyLimit && stopped.plan.deactivations.count == 2)
        let active = try await fixture.service.accounts(matching: AccountQuery(state: .active), by: Fixture.root)
        #expect(active.count == 10)
        let forced = try await sync.run(source: .ldap, options: .init(full: true, force: true), by: Fixture.root) { _ in
            .init(entries: Array(people.dropLast(2)), unusable: [], newestChange: nil)
        }
        #expect(forced.outcome == .applied)
        #expect(try await fixture.service.accounts(matching: AccountQuery(state: .active), by: Fixture.root).count == 8)
        let summaries = try await fixture.audit.entries(from: 1, limit: 100, by: Fixture.root).filter {
            $0.action == "directory.sync"
        }
        #expect(summaries.map { $0.after?.contains("\"outcome\":\"stopped\"") == true } == [false, true, false])
    }

    /// An account that appears while the directory is read (a first sign-in) is not created twice, and
    /// the run does not fail: it is left for the next run.
    @Test func anAccountCreatedDuringTheReadIsLeftForTheNextRun() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let sync = DirectorySyncService(
            store: fixture.store, sha256Hex: { SHA256.hexDigest($0) }, now: { fixture.clock.now })
        let ann = entry("ann", "u-1")
        let report = try await sync.run(source: .ldap, options: .init(full: true), by: Fixture.root) { _ in
            // The store is read beside the directory; by now it has been.
            try await Task.sleep(for: .milliseconds(300))
            try await fixture.store.change {
                try $0.insert(Account.provisioned(from: ann.identity, id: "jit", at: fixture.clock.now))
            }
            return .init(entries: [ann, self.entry("bob", "u-2")], unusable: [], newestChange: nil)
        }
        #expect(report.outcome == .applied)
        #expect(report.skipped == ["ann@appleid.example.com"] || report.plan.creates.count == 1)
        let accounts = try await fixture.service.accounts(matching: AccountQuery(), by: Fixture.root)
        #expect(accounts.filter { $0.source == .ldap }.map(\.managedID.localPart).sorted() == ["ann", "bob"])
        #expect(accounts.first { $0.managedID.localPart == "ann" }?.id == "jit")
    }

    /// A sync reactivates what a sync deactivated (audited as a reactivation), never what an
    /// administrator deactivated.
    @Test func onlySyncDeactivationsAreUndoneBySync() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let sync = DirectorySyncService(
            store: fixture.store, sha256Hex: { SHA256.hexDigest($0) }, now: { fixture.clock.now })
        let people = (0..<20).map { entry("p\($0)", "u-\($0)") }
        func run(_ entries: [DirectoryEntry]) async throws -> DirectorySyncService.Report {
            try await sync.run(source: .ldap, options: .init(full: true), by: Fixture.root) { _ in
                .init(entries: entries, unusable: [], newestChange: nil)
            }
        }
        _ = try await run(people)
        _ = try await fixture.service.deactivate("p1@appleid.example.com", by: Fixture.root)
        _ = try await run(Array(people.dropFirst()))  // p0 leaves the directory (1 of 19: within the limit)
        let back = try await run(people)  // p0 is back
        #expect(back.plan.updates.map(\.after.managedID.localPart) == ["p0"])
        let states = Dictionary(
            uniqueKeysWithValues: try await fixture.service.accounts(matching: AccountQuery(), by: Fixture.root).map {
                ($0.managedID.localPart, $0.state)
            })
        #expect(states["p0"] == .active && states["p1"] == .deactivated)
        let actions = try await fixture.audit.entries(from: 1, limit: 200, by: Fixture.root).map(\.action)
        #expect(actions.filter { $0 == "account.reactivate" }.count == 1)
    }
}
