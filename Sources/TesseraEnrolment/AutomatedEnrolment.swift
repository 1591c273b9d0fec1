public import TesseraCore
public import TesseraCrypto

/// Automated Device Enrolment's token-less `url` (PROTOCOLS.md §2): the device POSTs its CMS-signed
/// MachineInfo; the signature must chain to a trust anchor (the Apple Root CA in production). A device
/// below the minimum OS for its family that says it can update first is told to (`403`
/// `com.apple.softwareupdate.required`); otherwise it receives the enrolment profile, signed, and is
/// recorded as a supervised organisation device.
public struct AutomatedEnrolmentService: Sendable {
    /// The oldest OS a model family may enrol with.
    public struct MinimumOS: Sendable, Equatable {
        public var family: ModelFamily
        public var version: String

        public init(family: ModelFamily, version: String) {
            self.family = family
            self.version = version
        }

        /// `"<family>: <version>"`, e.g. `iPhone: 17.1`.
        /// - Throws: `CoreError.invalidInput` naming what is wrong.
        public init(parsing text: String) throws {
            let parts = text.split(separator: ":", maxSplits: 1).map { $0.split(separator: " ").joined(separator: " ") }
            guard parts.count == 2, let family = ModelFamily(named: parts[0]),
                Self.numbers(parts[1]) != nil
            else {
                throw CoreError(
                    .invalidInput, "ade.minimum_os",
                    "'\(ManagedAccountID.printable(text))' is not '<model family>: <version>' (e.g. iPhone: 17.1)")
            }
            self.init(family: family, version: parts[1])
        }

        /// Whether `version` (e.g. `17.0.3`) is older than this minimum.
        func isNewer(than version: String) -> Bool {
            guard let minimum = Self.numbers(self.version), let actual = Self.numbers(version) else { return false }
            for index in 0..<max(minimum.count, actual.count) {
                let (a, b) = (index < actual.count ? actual[index] : 0, index < minimum.count ? minimum[index] : 0)
                if a != b { return a < b }
            }
            return false
        }

        static func numbers(_ version: String) -> [Int]? {
            let parts = version.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
            guard !parts.isEmpty, parts.count <= 4, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
            return parts.map { $0! }
        }
    }

    public enum Outcome: Sendable, Equatable {
        /// `200 application/x-apple-aspen-config`.
        case profile([UInt8])
        /// `403 com.apple.softwareupdate.required` with this minimum.
        case softwareUpdateRequired(MinimumOS)
        /// `400` (malformed) or `403` (untrusted), with the reason.
        case refused(status: Int, String)
    }

    let reader: DeviceInformationReader
    let template: ProfileTemplate
    let signer: CMSSigner
    let devices: DeviceService
    let minimums: [ModelFamily: MinimumOS]

    public init(
        reader: DeviceInformationReader, template: ProfileTemplate, signer: CMSSigner, devices: DeviceService,
        minimums: [MinimumOS]
    ) {
        self.reader = reader
        self.template = template
        self.signer = signer
        self.devices = devices
        self.minimums = Dictionary(minimums.map { ($0.family, $0) }, uniquingKeysWith: { _, last in last })
    }

    public func enrol(machineInfo body: [UInt8]) async throws -> Outcome {
        let information: DeviceInformation
        do {
            information = try reader.machineInfo(body: body)
        } catch {
            return .refused(status: error.kind == .untrusted ? 403 : 400, error.message)
        }
        // Only a device that said it can update is asked to (iOS 17+, macOS 14+).
        if information.canRequestSoftwareUpdate, let family = information.product.flatMap(Self.family(of:)),
            let minimum = minimums[family], let version = information.osVersion, minimum.isNewer(than: version)
        {
            return .softwareUpdateRequired(minimum)
        }
        let profile = try template.signedProfile(.automated, signer: signer)
        _ = try await devices.recordEnrolment(.ade, accountID: nil, enrolmentTokenID: nil, information: information)
        return .profile(profile)
    }

    /// The model family of a hardware model name (`iPhone15,2`, `iPad13,1`, `Mac14,2`, `MacBookPro18,1`).
    static func family(of product: String) -> ModelFamily? {
        for family in [ModelFamily.iPhone, .iPad, .appleTV, .watch, .realityDevice]
        where product.hasPrefix(family.rawValue) {
            return family
        }
        return product.contains("Mac") ? .mac : nil
    }
}
