import Foundation
import TesseraCrypto
import Testing

@testable import TesseraEnrolment

/// The fixtures of Fixtures/enrolment/make-device-info.sh, made once per test run in a temporary directory.
final class DeviceFixtures: Sendable {
    static let shared = Result { try DeviceFixtures() }
    let directory: String

    private init() throws {
        directory = NSTemporaryDirectory() + "tessera-device-info-\(UUID().uuidString)"
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("Fixtures/enrolment/make-device-info.sh").path, directory]
        let err = Pipe()
        process.standardError = err
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureFailure(message: text) }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)")))
    }
    func text(_ name: String) throws -> String { try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) }
}

struct FixtureFailure: Error {
    let message: String
}

@Suite struct DeviceInformationTests {
    func reader() throws -> (DeviceInformationReader, DeviceFixtures) {
        let fixtures = try DeviceFixtures.shared.get()
        return (
            DeviceInformationReader(verifier: try CMSVerifier(trustAnchorsPEM: try fixtures.text("root.pem"))), fixtures
        )
    }

    @Test func signedMachineInfoIsReadFromTheHeaderAndTheBody() throws {
        let (reader, fixtures) = try reader()
        let fromHeader = try reader.machineInfo(header: try fixtures.text("machineinfo.b64"))
        #expect(fromHeader.udid == "00008030-001A2B3C4D5E6F70" && fromHeader.serial == "C02TEST0001")
        #expect(
            fromHeader.product == "iPhone15,2" && fromHeader.version == "21E236" && fromHeader.osVersion == "17.4.1")
        #expect(fromHeader.language == "en-GB" && fromHeader.canRequestSoftwareUpdate)
        // The chain expired in 2014 (as Apple's old device CA did): dates are not what is checked.
        #expect(try reader.machineInfo(body: try fixtures.bytes("machineinfo.p7")) == fromHeader)
    }

    @Test func everyBadMachineInfoIsRefusedWithItsReason() throws {
        let (reader, fixtures) = try reader()
        func kind(_ body: () throws(DeviceInformationError) -> DeviceInformation) -> DeviceInformationError.Kind? {
            do {
                _ = try body()
                return nil
            } catch {
                return error.kind
            }
        }
        let unknownCA = try fixtures.bytes("machineinfo-unknown-ca.p7")
        let tampered = try fixtures.bytes("machineinfo-tampered.p7")
        let truncated = try fixtures.bytes("machineinfo-truncated.p7")
        let notBase64 = try fixtures.text("not-base64.txt")
        let userRequest = try fixtures.bytes("user.p7")
        #expect(kind { () throws(DeviceInformationError) in try reader.machineInfo(body: unknownCA) } == .untrusted)
        #expect(kind { () throws(DeviceInformationError) in try reader.machineInfo(body: tampered) } == .untrusted)
        #expect(kind { () throws(DeviceInformationError) in try reader.machineInfo(body: truncated) } == .malformed)
        #expect(kind { () throws(DeviceInformationError) in try reader.machineInfo(header: notBase64) } == .malformed)
        #expect(
            kind { () throws(DeviceInformationError) in try reader.machineInfo(body: Array("<plist/>".utf8)) }
                == .malformed)
        #expect(kind { () throws(DeviceInformationError) in try reader.machineInfo(body: []) } == .malformed)
        // A User Enrolment request is signed but names no UDID or serial: not MachineInfo.
        #expect(kind { () throws(DeviceInformationError) in try reader.machineInfo(body: userRequest) } == .malformed)
    }

    @Test func userEnrolmentRequestsMustNotNameTheDevice() throws {
        let (reader, fixtures) = try reader()
        let request = try reader.userEnrolmentRequest(body: try fixtures.bytes("user.p7"))
        #expect(request.language == "en-GB" && request.product == "iPhone15,2" && request.udid == nil)
        do {
            _ = try reader.userEnrolmentRequest(body: try fixtures.bytes("user-with-udid.p7"))
            Issue.record("a User Enrolment request with UDID and SERIAL was accepted")
        } catch let error as DeviceInformationError {
            #expect(error.kind == .forbidden && error.message.contains("UDID or SERIAL"))
        }
        // The signature is checked (not the signer's chain): a tampered request fails.
        #expect(throws: DeviceInformationError.self) {
            _ = try reader.userEnrolmentRequest(body: try fixtures.bytes("machineinfo-tampered.p7"))
        }
    }

    @Test func trustAnchorsMustParse() {
        #expect(throws: CryptoError.self) { _ = try CMSVerifier(trustAnchorsPEM: "") }
        #expect(throws: CryptoError.self) {
            _ = try CMSVerifier(trustAnchorsPEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        }
    }
}
