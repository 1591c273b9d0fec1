public import Foundation
public import TesseraCore
public import TesseraCrypto
public import TesseraStore

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

    /// The web flow's parts (`configuration_web_url`): the sign-in and whom its token speaks for.
    public struct WebSignIn: Sendable {
        let login: WebLogin
        let bearer: @Sendable (_ authorization: String?) async throws -> EnrolmentService.SignedIn?
        let store: any Store
        let sha256Hex: @Sendable ([UInt8]) -> String

        public init(
            login: WebLogin,
            bearer: @escaping @Sendable (_ authorization: String?) async throws -> EnrolmentService.SignedIn?,
            store: any Store, sha256Hex: @escaping @Sendable ([UInt8]) -> String
        ) {
            self.login = login
            self.bearer = bearer
            self.store = store
            self.sha256Hex = sha256Hex
        }
    }

    let reader: DeviceInformationReader
    let template: ProfileTemplate
    let signer: CMSSigner
    let devices: DeviceService
    let minimums: [ModelFamily: MinimumOS]
    let web: WebSignIn?
    let now: @Sendable () -> Date

    public init(
        reader: DeviceInformationReader, template: ProfileTemplate, signer: CMSSigner, devices: DeviceService,
        minimums: [MinimumOS], web: WebSignIn? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.reader = reader
        self.template = template
        self.signer = signer
        self.devices = devices
        self.minimums = Dictionary(minimums.map { ($0.family, $0) }, uniquingKeysWith: { _, last in last })
        self.web = web
        self.now = now
    }

    /// How long a device may take to sign in through `configuration_web_url`.
    static let pendingLifetime: TimeInterval = 900

    public func enrol(machineInfo body: [UInt8]) async throws -> Outcome {
        let information: DeviceInformation
        do {
            information = try reader.machineInfo(body: body)
        } catch {
            return .refused(status: error.kind == .untrusted ? 403 : 400, error.message)
        }
        if let minimum = updateNeeded(information) { return .softwareUpdateRequired(minimum) }
        let profile = try template.signedProfile(.automated, signer: signer)
        _ = try await devices.recordEnrolment(.ade, accountID: nil, enrolmentTokenID: nil, information: information)
        return .profile(profile)
    }

    /// Only a device that said it can update is asked to (iOS 17+, macOS 14+).
    private func updateNeeded(_ information: DeviceInformation) -> MinimumOS? {
        guard information.canRequestSoftwareUpdate, let family = information.product.flatMap(ModelFamily.init(product:)),
            let minimum = minimums[family], let version = information.osVersion, minimum.isNewer(than: version)
        else { return nil }
        return minimum
    }

    public enum WebStart: Sendable, Equatable {
        /// `302` to the sign-in page, with this state kept in a cookie of the web session.
        case signIn(state: String, location: String)
        case softwareUpdateRequired(MinimumOS)
        case refused(status: Int, String)
    }

    /// `configuration_web_url`'s first GET: the device information in `x-apple-aspen-deviceinfo` is
    /// verified and kept until the person has signed in.
    public func startWeb(deviceInformation header: String?) async throws -> WebStart {
        guard let web else { return .refused(status: 404, "this server offers no web enrolment") }
        guard let header, !header.isEmpty else {
            return .refused(status: 400, "x-apple-aspen-deviceinfo is missing: open this page from Setup Assistant")
        }
        let information: DeviceInformation
        do {
            information = try reader.machineInfo(header: header)
        } catch {
            return .refused(status: error.kind == .untrusted ? 403 : 400, error.message)
        }
        if let minimum = updateNeeded(information) { return .softwareUpdateRequired(minimum) }
        let (state, location) = web.login.start(userIdentifier: nil)
        let pending = PendingDeviceEnrolment(
            stateHash: web.sha256Hex(Array(state.utf8)), udid: information.udid, serialNumber: information.serial,
            product: information.product, osBuild: information.version,
            expiresAt: now().addingTimeInterval(Self.pendingLifetime))
        try await web.store.write { try $0.insert(pending) }
        return .signIn(state: state, location: location)
    }

    public enum WebEnd: Sendable, Equatable {
        /// `200 application/x-apple-aspen-config`: the web view installs it.
        case profile([UInt8])
        /// An error page; the person may start again.
        case failed(String)
    }

    /// The sign-in came back: the profile, and the device recorded as bound to the account that signed in.
    public func completeWeb(
        code: String?, state: String?, error: String?, expectedState: String?, remoteAddress: String
    ) async throws -> WebEnd {
        guard let web else { return .failed("this server offers no web enrolment") }
        let token: String
        switch await web.login.token(
            code: code, state: state, error: error, expectedState: expectedState, remoteAddress: remoteAddress)
        {
        case .success(let value): token = value
        case .failure(let failure): return .failed(failure.message)
        }
        guard let state, let signedIn = try await web.bearer("Bearer " + token) else {
            return .failed("The sign-in could not be completed. Start the enrolment again.")
        }
        let stateHash = web.sha256Hex(Array(state.utf8))
        guard
            let pending = try await web.store.write({ [now] in
                try $0.takePendingDeviceEnrolment(stateHash: stateHash, at: now())
            })
        else {
            return .failed("This enrolment has expired. Start it again from Setup Assistant.")
        }
        var information = DeviceInformation()
        information.udid = pending.udid
        information.serial = pending.serialNumber
        information.product = pending.product
        information.version = pending.osBuild
        let profile = try template.signedProfile(.automated, signer: signer)
        _ = try await devices.recordEnrolment(
            .ade, accountID: signedIn.accountID, enrolmentTokenID: signedIn.tokenID, information: information)
        return .profile(profile)
    }
}
