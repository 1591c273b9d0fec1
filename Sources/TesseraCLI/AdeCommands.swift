import TesseraEnrolment
import TesseraServer

/// `tessera ade profile`: the Automated Device Enrolment profile to upload to Apple Business Manager
/// (through the MDM server that holds the ABM token).
enum AdeCommands {
    static let all: [Command] = [profile]

    static let profile = Command(
        spec: CommandSpec(
            path: ["ade", "profile"],
            summary: "Print the ADE profile (JSON) whose url sends devices to Tessera's ADE URL",
            options: [
                .value("name", "NAME", "profile_name shown in Apple Business Manager (default: Tessera)"),
                .value("department", "TEXT", "department shown on the device during setup"),
                .value("support-phone-number", "NUMBER", "support phone number shown during setup"),
                .flag(
                    "web", "add configuration_web_url: the person signs in during setup and the device is bound to them"
                ),
            ],
            discussion:
                "Needs enrolment.base_url and enrolment.ade_trust_anchors. Devices are supervised, the enrolment mandatory and not removable; change the printed JSON before uploading if your organisation wants otherwise."
        )
    ) { invocation in
        let configuration = try invocation.configuration()
        guard let discovery = configuration.discovery, discovery.adeTrustAnchors != nil else {
            throw CLIFailure(
                status: ExitStatus.badInput,
                message:
                    "Automated Device Enrolment is not configured (enrolment.base_url and enrolment.ade_trust_anchors)")
        }
        let arguments = invocation.arguments
        invocation.console.out(
            Output.json { json in
                json.beginObject()
                json.key("profile_name"); json.string(arguments.value("name") ?? "Tessera")
                json.key("url"); json.string(discovery.baseURL + "/" + EnrolmentEndpoints.automatedPathComponent)
                if arguments.has("web") {
                    json.key("configuration_web_url");
                    json.string(discovery.baseURL + "/" + EnrolmentEndpoints.automatedWebPath)
                }
                json.key("is_supervised"); json.bool(true)
                json.key("is_mandatory"); json.bool(true)
                json.key("is_mdm_removable"); json.bool(false)
                json.key("await_device_configured"); json.bool(false)
                if let department = arguments.value("department") { json.key("department"); json.string(department) }
                if let phone = arguments.value("support-phone-number") {
                    json.key("support_phone_number"); json.string(phone)
                }
                json.endObject()
            })
        return ExitStatus.ok
    }
}
