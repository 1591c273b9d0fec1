import Foundation
import TesseraCore
import Testing

@testable import TesseraStore

@Suite struct DeviceStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func devicesAndTheirScopesRoundTrip() async throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.database)
        let account = sampleAccount("jane@appleid.example.com")
        let device = try Device.enrolled(
            id: "dev-1", kind: .adde, accountID: account.id, serialNumber: "C02TEST0001",
            udid: "00008030-001A2B3C4D5E6F70", product: "iPhone15,2", osBuild: "21E236", enrolmentTokenID: "jti-1",
            at: now)
        try await store.write { transaction in
            try transaction.insert(account)
            try transaction.insert(device)
            try transaction.save(
                DeviceItem(
                    deviceID: "dev-1", scope: .managed, kind: "app", name: "com.example.mail", value: "1.0",
                    updatedAt: self.now))
            try transaction.save(
                DeviceItem(
                    deviceID: "dev-1", scope: .managed, kind: "app", name: "com.example.mail", value: "1.1",
                    updatedAt: self.now))
            try transaction.save(
                DeviceItem(
                    deviceID: "dev-1", scope: .personal, kind: "document", name: "notes", value: "x",
                    updatedAt: self.now))
        }
        #expect(try await store.read { try $0.device(id: "dev-1") } == device)
        #expect(try await store.read { try $0.device(enrolmentTokenID: "jti-1") }?.id == "dev-1")
        #expect(try await store.read { try $0.enrolledDevice(udid: "00008030-001A2B3C4D5E6F70") }?.id == "dev-1")
        #expect(try await store.read { try $0.devices(accountID: account.id) }.map(\.id) == ["dev-1"])
        #expect(try await store.read { try $0.deviceItems(deviceID: "dev-1", scope: .managed) }.map(\.value) == ["1.1"])

        // Versions guard updates; an enrolment token enrols one device only.
        let unenrolled = try device.unenrolled(at: now)
        try await store.write { try $0.update(unenrolled, expectedVersion: 1) }
        await #expect(throws: StoreError.self) {
            try await store.write { try $0.update(unenrolled, expectedVersion: 1) }
        }
        #expect(try await store.read { try $0.enrolledDevice(udid: "00008030-001A2B3C4D5E6F70") } == nil)
        var second = device
        second.id = "dev-2"
        let twin = second
        await #expect(throws: StoreError.self) { try await store.write { try $0.insert(twin) } }

        #expect(try await store.write { try $0.deleteDeviceItems(deviceID: "dev-1", scope: .managed) } == 1)
        #expect(try await store.read { try $0.deviceItems(deviceID: "dev-1", scope: .personal) }.count == 1)
        #expect(
            try await store.write {
                try $0.deleteDeviceItem(deviceID: "dev-1", scope: .personal, kind: "document", name: "notes")
            })
        // Deleting the account removes its devices.
        try await store.write { try $0.deleteAccount(id: account.id) }
        #expect(try await store.read { try $0.devices(accountID: nil) }.isEmpty)
    }
}
