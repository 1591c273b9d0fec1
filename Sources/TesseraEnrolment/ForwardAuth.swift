import TesseraCore
public import TesseraHTTP
import TesseraPlatform

/// Forward authentication (nginx `auth_request`) for MDM servers that do no OAuth themselves
/// (NanoMDM, MicroMDM): the proxy in front of the MDM asks Tessera about each device request, passing
/// its headers; Tessera answers
/// - `200` with the identity in `X-Tessera-Managed-ID`, `X-Tessera-Enrolment-ID` (the device's id in the
///   registry) and `X-Tessera-Enrolment-Mode` (`BYOD`, `ADDE`), for a valid enrolment token whose
///   enrolment stands;
/// - `401` with the enrolment's `WWW-Authenticate` challenge when the token is missing, expired or not
///   an enrolment's (the device signs in again);
/// - `503` when the store cannot answer (never a `401` for a passing fault);
/// - `403` `{"code":"com.apple.unrecognized.device"}` when the enrolment was removed (PROTOCOLS.md §1.5:
///   the device un-enrols).
public struct ForwardAuthEndpoint: Sendable {
    let enrolment: EnrolmentService
    let devices: DeviceService

    public static let path = "/enrolment/forward-auth"

    public init(enrolment: EnrolmentService, devices: DeviceService) {
        self.enrolment = enrolment
        self.devices = devices
    }

    public func register(in router: inout Router) {
        router.add("GET", Self.path, name: "forward_auth") { [enrolment, devices] request in
            var response: HTTPResponse
            let signedIn: EnrolmentService.SignedIn?
            var device: Device?
            do {
                signedIn = try await enrolment.bearer(request.headers["Authorization"])
                if let signedIn { device = try await devices.device(ofSignIn: signedIn.tokenID) }
            } catch {
                return EnrolmentEndpoints.unavailable()
            }
            if let signedIn, let device {
                if device.state == .enrolled {
                    response = HTTPResponse(status: 200)
                    response.headers.set("X-Tessera-Managed-ID", signedIn.managedID)
                    response.headers.set("X-Tessera-Enrolment-ID", device.id)
                    if let mode = device.kind.enrollmentMode { response.headers.set("X-Tessera-Enrolment-Mode", mode) }
                } else {
                    response = .json(403, Array(#"{"code":"com.apple.unrecognized.device"}"#.utf8))
                }
            } else {
                response = .json(401, EnrolmentEndpoints.error("invalid_token", "sign in to enrol this device"))
                response.headers.set("WWW-Authenticate", enrolment.challenge.header)
            }
            return EnrolmentEndpoints.noStore(response)
        }
    }
}
