import Foundation
import TesseraCore
import TesseraCrypto
import TesseraStore
import Testing

@testable import TesseraEnrolment

@Suite struct DeviceServiceTests {
    let domains = try! ManagedDomains(["appleid.example.com"])
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let root = Actor.localOperator(unixUser: "root")

    func setUp() async throws -> (DeviceService, SQLiteStore, String, String) {
        let directory = NSTemporaryDirectory() + "tessera-devices-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/tessera.sqlite3")
        let account = Account(
            id: "acc-jane", managedID: try ManagedAccountID("jane@appleid.example.com", managedDomains: domains),
            givenName: "Jane", familyName: "Doe", roles: [.staff], source: .local, createdAt: now, updatedAt: now)
        try await store.write { try $0.insert(account) }
        let counter = Counter()
        let service = DeviceService(
            store: store, sha256Hex: { SHA256.hexDigest($0) }, managedDomains: domains, enrolmentClientID: "enrol",
            now: { [now] in now }, newID: { "dev-\(counter.next())" })
        return (service, store, directory, account.id)
    }

    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func next() -> Int {
            lock.withLock {
                value += 1; return value
            }
        }
    }

    func information(udid: String? = nil) -> DeviceInformation {
        var information = DeviceInformation()
        information.udid = udid
        information.serial = udid.map { _ in "C02TEST0001" }
        information.product = "iPhone15,2"
        information.version = "21E236"
        return information
    }

    @Test func enrolmentsAreRecordedOncePerSignInAndReEnrolmentReplaces() async throws {
        let (service, store, directory, jane) = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let personal = try await service.recordEnrolment(
            .user, accountID: jane, enrolmentTokenID: "jti-1", information: information())
        #expect(personal.ownership == .personal && personal.udid == nil && personal.product == "iPhone15,2")
        // The device repeating its POST with the same token is the same device.
        #expect(
            try await service.recordEnrolment(
                .user, accountID: jane, enrolmentTokenID: "jti-1", information: information()
            ).id == personal.id)
        let first = try await service.recordEnrolment(
            .adde, accountID: jane, enrolmentTokenID: "jti-2", information: information(udid: "UDID-1"))
        #expect(first.udid == "UDID-1" && first.serialNumber == "C02TEST0001")
        // The same organisation device enrolling again: the earlier enrolment ends.
        let second = try await service.recordEnrolment(
            .adde, accountID: jane, enrolmentTokenID: "jti-3", information: information(udid: "UDID-1"))
        #expect(try await service.device(first.id, by: root).state == .unenrolled && second.state == .enrolled)
        #expect(try await service.devices(by: root).count == 3)
        let actions = try await store.read { try $0.auditEntries(from: 1, limit: 20) }.map(\.action)
        #expect(actions == ["device.enrol", "device.enrol", "device.unenrol", "device.enrol"])
    }

    @Test func onlyDeviceManagersManageAndScopesFollowTheRules() async throws {
        let (service, _, directory, jane) = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let device = try await service.recordEnrolment(
            .user, accountID: jane, enrolmentTokenID: "jti-1", information: information())
        let staff = Actor.account(
            id: "x", managedID: try ManagedAccountID("x@appleid.example.com", managedDomains: domains), roles: [.staff])
        let manager = Actor.account(
            id: "y", managedID: try ManagedAccountID("y@appleid.example.com", managedDomains: domains),
            roles: [.deviceEnrolmentManager])
        await #expect(throws: CoreError.self) { _ = try await service.devices(by: staff) }
        #expect(try await service.devices(by: manager).map(\.id) == [device.id])

        _ = try await service.save(
            "1.0", kind: "app", name: "com.example.mail", scope: .managed, of: device.id, caller: .organisation)
        _ = try await service.save(
            "my notes", kind: "document", name: "notes", scope: .personal, of: device.id, caller: .account(jane))
        // The organisation never reads a person's personal scope; another person reads nothing.
        await #expect(throws: CoreError.self) {
            _ = try await service.items(of: device.id, scope: .personal, caller: .organisation)
        }
        await #expect(throws: CoreError.self) {
            _ = try await service.save(
                "x", kind: "log", name: "l", scope: .personal, of: device.id, caller: .organisation)
        }
        await #expect(throws: CoreError.self) {
            _ = try await service.items(of: device.id, scope: .managed, caller: .account("acc-john"))
        }
        #expect(
            try await service.items(of: device.id, scope: .personal, caller: .account(jane)).map(\.value) == [
                "my notes"
            ])
        await #expect(throws: CoreError.self) {
            _ = try await service.save(
                "x", kind: "a/b", name: "n", scope: .managed, of: device.id, caller: .organisation)
        }

        // Un-enrolment deletes the managed scope and keeps the personal one.
        await #expect(throws: CoreError.self) { _ = try await service.unenrol(device.id, by: staff) }
        let gone = try await service.unenrol(device.id, by: manager)
        #expect(gone.state == .unenrolled)
        #expect(try await service.items(of: device.id, scope: .managed, caller: .organisation).isEmpty)
        #expect(try await service.items(of: device.id, scope: .personal, caller: .account(jane)).count == 1)
        await #expect(throws: CoreError.self) { _ = try await service.unenrol(device.id, by: manager) }
    }

    @Test func whoActsOnTheRegistryThroughAToken() async throws {
        let (service, store, directory, janeID) = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ada = Account(
            id: "acc-ada", managedID: try ManagedAccountID("ada@appleid.example.com", managedDomains: domains),
            givenName: "Ada", familyName: "Admin", roles: [.administrator], source: .local, createdAt: now,
            updatedAt: now)
        try await store.write { try $0.insert(ada) }
        #expect(try await service.actor(accountID: nil, clientID: "mdm", scopes: ["devices"]) == .system(job: "client:mdm"))
        let admin = try await service.actor(accountID: "acc-ada", clientID: "portal", scopes: ["devices"])
        #expect(admin.roles == [.administrator] && admin.description == "account:ada@appleid.example.com")
        _ = try await service.devices(by: admin)
        // Jane is an actor, but without device authority the registry refuses her.
        let jane = try await service.actor(accountID: janeID, clientID: "portal", scopes: ["devices"])
        await #expect(throws: CoreError.self) { _ = try await service.devices(by: jane) }
        for (account, client, scopes) in [
            (nil, "mdm", ["mdm"]), ("acc-ada", "portal", ["own-devices"]), (nil, "enrol", ["devices"]),
            ("acc-ada", "enrol", ["devices"]), ("acc-gone", "portal", ["devices"]),
        ] as [(String?, String, Set<String>)] {
            await #expect(throws: CoreError.self, "\(account ?? "client") \(client) \(scopes)") {
                _ = try await service.actor(accountID: account, clientID: client, scopes: scopes)
            }
        }
    }
}
