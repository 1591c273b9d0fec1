public import TesseraCore
public import TesseraCrypto

/// The enrolment endpoint of account-driven enrolment (PROTOCOLS.md §1.2 and §1.5): the device POSTs
/// its signed request; without a valid bearer token it is sent to sign in (`401` and the challenge),
/// with one it receives its enrolment profile, CMS-signed.
///
/// The enrolment kind comes from the URL the device was given by discovery (`<base>/byod` or
/// `<base>/adde`), so the profile's `EnrollmentMode` is always the one discovery offered.
public struct EnrolmentService: Sendable {
    /// The `apple-oauth2` challenge (PROTOCOLS.md §1.4): the device signs in through Tessera's own
    /// authorization and token endpoints as the registered enrolment client (public, no PKCE).
    public struct OAuthChallenge: Sendable, Equatable {
        public var authorizationURL: String
        public var tokenURL: String
        public var clientID: String
        public var scope: String

        public init(authorizationURL: String, tokenURL: String, clientID: String, scope: String) {
            self.authorizationURL = authorizationURL
            self.tokenURL = tokenURL
            self.clientID = clientID
            self.scope = scope
        }

        /// The callback the device listens on (its web-authentication session).
        public static let redirectURL = "apple-remotemanagement-user-login:/oauth2/redirection"

        /// `WWW-Authenticate` with all five parameters, comma-separated as in Apple's examples.
        public var header: String {
            "Bearer method=\"apple-oauth2\", authorization-url=\"\(authorizationURL)\", token-url=\"\(tokenURL)\", "
                + "redirect-url=\"\(Self.redirectURL)\", client-id=\"\(clientID)\", scope=\"\(scope)\""
        }
    }

    public enum Outcome: Sendable, Equatable {
        /// `200 application/x-apple-aspen-config`.
        case profile([UInt8])
        /// `401` with this `WWW-Authenticate`.
        case signIn(challenge: String)
        /// `400`: the request is not what a device sends (or a User Enrolment request names the device).
        case badRequest(String)
        /// `403`: discovery's rules do not offer this enrolment to the account that signed in on this
        /// kind of device.
        case notOffered(String)
    }

    /// How a device without a valid token is sent to sign in (PROTOCOLS.md §1.2).
    public enum Challenge: Sendable, Equatable {
        case oauth2(OAuthChallenge)
        /// `apple-as-web`: the device opens `loginURL?user-identifier=…` (see `WebLogin`).
        case web(loginURL: String)

        public var header: String {
            switch self {
            case .oauth2(let challenge): challenge.header
            case .web(let loginURL): "Bearer method=\"apple-as-web\", url=\"\(loginURL)\""
            }
        }
    }

    /// Who a valid bearer token of the enrolment client speaks for, and which sign-in it came from.
    public struct SignedIn: Sendable, Equatable {
        public var accountID: String
        public var managedID: String
        /// The sign-in: the access token's family (refreshes keep it), else its `jti`. A repeated POST
        /// within one sign-in is the same enrolment.
        public var tokenID: String

        public init(accountID: String, managedID: String, tokenID: String) {
            self.accountID = accountID
            self.managedID = managedID
            self.tokenID = tokenID
        }
    }

    let challenge: Challenge
    let template: ProfileTemplate
    let signer: CMSSigner
    let reader: DeviceInformationReader
    let devices: DeviceService
    let discovery: DiscoveryService
    let managedDomains: ManagedDomains
    /// Who a bearer token (the `Authorization` header) speaks for, if it is a valid token of the
    /// enrolment client.
    /// Throws `CoreError.unavailable` when the store cannot tell.
    let bearer: @Sendable (_ authorization: String?) async throws -> SignedIn?

    public init(
        challenge: Challenge, template: ProfileTemplate, signer: CMSSigner, reader: DeviceInformationReader,
        devices: DeviceService, discovery: DiscoveryService, managedDomains: ManagedDomains,
        bearer: @escaping @Sendable (_ authorization: String?) async throws -> SignedIn?
    ) {
        self.discovery = discovery
        self.challenge = challenge
        self.template = template
        self.signer = signer
        self.reader = reader
        self.devices = devices
        self.managedDomains = managedDomains
        self.bearer = bearer
    }

    /// One POST to the enrolment URL of `kind`. The body is read whatever its Content-Type (devices
    /// differ); it must be CMS-signed device information, and for User Enrolment must not name the
    /// device (UDID, SERIAL). The account that signed in must be one discovery's rules send to this kind
    /// of enrolment on this kind of device. The profile's delivery records the device in the registry.
    public func enrol(_ kind: AccountDrivenEnrolment, body: [UInt8], authorization: String?) async throws -> Outcome {
        let information: DeviceInformation
        do {
            switch kind {
            case .user: information = try reader.userEnrolmentRequest(body: body)
            case .device: information = try reader.enrolmentRequest(body: body)
            }
        } catch {
            return .badRequest(error.message)
        }
        guard let signedIn = try await bearer(authorization),
            let managedID = try? ManagedAccountID(signedIn.managedID, managedDomains: managedDomains)
        else {
            return .signIn(challenge: challenge.header)
        }
        guard try await discovery.offers(kind, to: managedID, product: information.product) else {
            return .notOffered(
                "\(managedID) is not offered \(kind.rawValue) on \(information.product.map(ManagedAccountID.printable) ?? "this device")"
            )
        }
        // One sign-in, one enrolment: the same device repeating its POST (a refreshed token included) gets
        // its profile again; an enrolment that was ended needs a new sign-in.
        let recorded = kind.recordedKind
        if let earlier = try await devices.device(ofSignIn: signedIn.tokenID) {
            guard earlier.state == .enrolled else { return .signIn(challenge: challenge.header) }
            let sameDevice = earlier.udid == nil || information.udid == nil || earlier.udid == information.udid
            guard earlier.kind == recorded, sameDevice else {
                return .notOffered("this sign-in enrolled another device: sign in again to enrol this one")
            }
        }
        let profile = try template.signedProfile(.accountDriven(managedID, kind), signer: signer)
        _ = try await devices.recordEnrolment(
            recorded, accountID: signedIn.accountID, enrolmentTokenID: signedIn.tokenID, information: information)
        return .profile(profile)
    }
}
