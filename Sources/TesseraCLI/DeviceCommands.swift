import TesseraCore
import TesseraEnrolment
import TesseraPlatform
import TesseraServer

/// `tessera devices …`: the device registry (administrators and device enrolment managers).
enum DeviceCommands {
    static let all: [Command] = [list, show, capabilities, check, unenrol]

    static let idArgument = PositionalSpec(
        name: "DEVICE_ID", help: "the device, as devices list shows it", optional: false)

    static let list = Command(
        spec: CommandSpec(
            path: ["devices", "list"], summary: "List enrolled and un-enrolled devices, newest first",
            options: [
                .value("account", "MANAGED_ID", "only the devices bound to this account"),
                AccountCommands.jsonOption, AccountCommands.asOption,
            ])
    ) { invocation in
        let runtime = try invocation.runtime()
        let account = try invocation.arguments.value("account").map {
            try ManagedAccountID($0, managedDomains: runtime.configuration.accountPolicy.managedDomains)
        }
        let devices = try await runtime.devices.devices(of: account, by: try await invocation.actor(runtime))
        invocation.printList(
            devices, empty: "No devices.", json: { DeviceRepresentation.write($0, to: &$1) },
            header: ["ID", "KIND", "OWNERSHIP", "STATE", "PRODUCT", "SERIAL", "ENROLLED"]
        ) {
            [
                $0.id, $0.kind.rawValue, $0.ownership.rawValue, $0.state.rawValue, $0.product ?? "-",
                $0.serialNumber ?? "-", Timestamp.text($0.enrolledAt),
            ]
        }
        return ExitStatus.ok
    }

    static let show = Command(
        spec: CommandSpec(
            path: ["devices", "show"], summary: "Show one device", positionals: [idArgument],
            options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let device = try await runtime.devices.device(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        if invocation.json {
            invocation.console.out(Output.json { DeviceRepresentation.write(device, to: &$0) })
        } else {
            let rows: [(String, String?)] = [
                ("id", device.id), ("kind", device.kind.rawValue), ("ownership", device.ownership.rawValue),
                ("supervised", device.supervised ? "yes" : "no"), ("state", device.state.rawValue),
                ("account id", device.accountID), ("product", device.product), ("os build", device.osBuild),
                ("serial number", device.serialNumber), ("udid", device.udid), ("enrolment id", device.enrollmentID),
                ("enrolled", Timestamp.text(device.enrolledAt)),
                ("unenrolled", device.unenrolledAt.map(Timestamp.text)),
            ]
            invocation.console.out(Output.table(["FIELD", "VALUE"], rows.map { [$0.0, $0.1 ?? "-"] }))
        }
        return ExitStatus.ok
    }

    static let capabilities = Command(
        spec: CommandSpec(
            path: ["devices", "capabilities"],
            summary: "What the organisation may do to a device (the capability matrix for its ownership)",
            positionals: [idArgument], options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let device = try await runtime.devices.device(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        let capabilities = CapabilityMatrix.capabilities(of: device)
        if invocation.json {
            invocation.console.out(Output.json { DeviceRepresentation.writeCapabilities(of: device, to: &$0) })
        } else {
            invocation.console.out(
                Output.table(
                    ["ACTION", "ALLOWED"], capabilities.map { [$0.action.rawValue, $0.allowed ? "yes" : "no"] }))
        }
        return ExitStatus.ok
    }

    static let check = Command(
        spec: CommandSpec(
            path: ["devices", "check"],
            summary:
                "Whether the organisation may take ACTION on a device; exit 77 when the capability matrix forbids it",
            positionals: [
                idArgument,
                PositionalSpec(name: "ACTION", help: "an action devices capabilities lists", optional: false),
            ],
            options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let device = try await runtime.devices.device(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        let action = try ManagementAction(parsing: invocation.arguments.positionals[1])
        let refusal = CapabilityMatrix.refusal(action, on: device)
        let allowed = refusal == nil
        if invocation.json {
            invocation.console.out(
                Output.json { json in
                    json.beginObject()
                    json.key("device"); json.string(device.id)
                    json.key("action"); json.string(action.rawValue)
                    json.key("allowed"); json.bool(allowed)
                    json.endObject()
                })
        }
        if let refusal { throw CLIFailure(status: ExitStatus.notPermitted, message: refusal) }
        if !invocation.json {
            invocation.console.out("Allowed: \(action.rawValue) on \(device.id) (\(device.ownership.rawValue))")
        }
        return ExitStatus.ok
    }

    static let unenrol = Command(
        spec: CommandSpec(
            path: ["devices", "unenrol"],
            summary: "Un-enrol a device: its managed scope is deleted, its personal scope kept",
            positionals: [idArgument], options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let device = try await runtime.devices.unenrol(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        if invocation.json {
            invocation.console.out(Output.json { DeviceRepresentation.write(device, to: &$0) })
        } else {
            invocation.console.out("Unenrolled \(device.id) (\(device.kind.rawValue), \(device.product ?? "device"))")
        }
        return ExitStatus.ok
    }
}
