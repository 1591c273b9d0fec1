import Foundation
import TesseraAccounts
import TesseraCore
import TesseraHTTP
import TesseraPlatform
import TesseraServer
import TesseraStore

/// Exit statuses (sysexits.h), documented in the README.
enum ExitStatus {
    static let ok: Int32 = 0
    static let usage: Int32 = 64
    static let badInput: Int32 = 65
    static let notFound: Int32 = 66
    static let unavailable: Int32 = 69
    static let `internal`: Int32 = 70
    static let conflict: Int32 = 73
    static let notPermitted: Int32 = 77
}

/// Where a command writes: stdout for results, stderr for errors and progress.
struct Console: Sendable {
    let out: @Sendable (String) -> Void
    let err: @Sendable (String) -> Void
    /// Writes to stderr without a line break (progress redraws).
    let errRaw: @Sendable (String) -> Void
    /// Whether stderr is a terminal (progress redraws in place) or a pipe (plain lines).
    let interactive: Bool

    static let standard = Console(
        out: { text in FileHandle.standardOutput.write(Data((text + "\n").utf8)) },
        err: { text in FileHandle.standardError.write(Data((text + "\n").utf8)) },
        errRaw: { text in FileHandle.standardError.write(Data(text.utf8)) },
        interactive: isatty(2) == 1)
}

/// One subcommand: what it takes and what it does.
struct Command: Sendable {
    let spec: CommandSpec
    let run: @Sendable (Invocation) async throws -> Int32
}

/// A parsed invocation of a command.
struct Invocation: Sendable {
    let arguments: ParsedArguments
    let console: Console
    let environment: [String: String]
    let spec: CommandSpec

    var json: Bool { arguments.has("json") }

    var configPath: String {
        arguments.value("config") ?? environment["TESSERA_CONFIG"] ?? "Config/tessera.json"
    }

    func configuration() throws -> TesseraConfiguration {
        try TesseraConfiguration.load(path: configPath, environment: environment)
    }

    /// The runtime over the configured store; CLI logs go to stderr at warning level and above.
    func runtime() throws -> TesseraRuntime {
        var configuration = try configuration()
        if configuration.logLevel == "info" || configuration.logLevel == "debug" { configuration.logLevel = "warning" }
        return try TesseraRuntime.open(configuration)
    }

    /// The local operator (administrator rights, audited by Unix user) or `--as ID` with its roles.
    func actor(_ runtime: TesseraRuntime) async throws -> Actor {
        if let managedID = arguments.value("as") {
            return try await runtime.accounts.actor(for: managedID)
        }
        return .localOperator(unixUser: Self.unixUser())
    }

    func usage(_ message: String) -> UsageError { UsageError(message: message, command: spec.path) }

    /// A positional argument or the named option, whichever was given.
    func required(positional index: Int, orOption name: String) throws -> String {
        if index < arguments.positionals.count {
            if arguments.value(name) != nil {
                throw usage("give the \(name.replacingOccurrences(of: "-", with: " ")) once")
            }
            return arguments.positionals[index]
        }
        guard let value = arguments.value(name) else { throw usage("missing \(spec.positionals[index].name)") }
        return value
    }

    /// Prints a list: a JSON array with `--json`, else a table (or `empty` when there is nothing).
    func printList<Item>(
        _ items: [Item], empty: String, json: (Item, inout JSONWriter) -> Void, header: [String],
        row: (Item) -> [String]
    ) {
        if self.json {
            console.out(
                Output.json { writer in
                    writer.beginArray()
                    for item in items { json(item, &writer) }
                    writer.endArray()
                })
        } else if items.isEmpty {
            console.out(empty)
        } else {
            console.out(Output.table(header, items.map(row)))
        }
    }

    /// `{"deleted": id}` with `--json`, else `Deleted <description>`.
    func printDeleted(_ id: String, description: String) {
        if json {
            console.out(
                Output.json {
                    $0.beginObject(); $0.key("deleted"); $0.string(id); $0.endObject()
                })
        } else {
            console.out("Deleted \(description)")
        }
    }

    func integer(_ name: String) throws -> Int? {
        guard let text = arguments.value(name) else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw usage("option '--\(name)' needs a whole number, got '\(text)'")
        }
        return value
    }

    static func unixUser() -> String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            return String(cString: name)
        }
        return "uid-\(geteuid())"
    }
}

public enum TesseraCLI {
    static let commands: [Command] =
        AccountCommands.all + AdeCommands.all + AuditCommands.all + ClientCommands.all + DeviceCommands.all
        + KeyCommands.all
        + SyncCommands.all
        + ConfigCommands.all
        + ServeCommand.all

    /// Runs `tessera` with `arguments` (without the program name) and returns the exit status.
    public static func main(_ arguments: [String]) async -> Int32 {
        await run(arguments, console: .standard, environment: ProcessInfo.processInfo.environment)
    }

    static func run(_ arguments: [String], console: Console, environment: [String: String]) async -> Int32 {
        if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] || arguments == ["help"] {
            console.out(overview())
            return arguments.isEmpty ? ExitStatus.usage : ExitStatus.ok
        }
        if arguments == ["--version"] {
            console.out("tessera \(version)")
            return ExitStatus.ok
        }
        // The longest command path that the arguments start with.
        let words = arguments.prefix { !$0.hasPrefix("-") }
        guard
            let command = commands.filter({ words.starts(with: $0.spec.path) }).max(by: {
                $0.spec.path.count < $1.spec.path.count
            })
        else {
            let group = words.first ?? ""
            let known = commands.filter { $0.spec.path.first == group }
            if !known.isEmpty {
                if words.count == 1 {
                    console.out(groupHelp(group))
                    return arguments.contains("--help") || arguments.contains("-h") ? ExitStatus.ok : ExitStatus.usage
                }
                console.err(
                    "tessera: unknown command '\(words.joined(separator: " "))' (see 'tessera \(group) --help')")
            } else {
                console.err("tessera: unknown command '\(words.first ?? arguments[0])' (see 'tessera --help')")
            }
            return ExitStatus.usage
        }
        let rest = Array(arguments.dropFirst(command.spec.path.count))
        do {
            let parsed = try ArgumentParser.parse(rest, for: command.spec)
            if parsed.has("help") {
                console.out(ArgumentParser.help(for: command.spec))
                return ExitStatus.ok
            }
            return try await command.run(
                Invocation(arguments: parsed, console: console, environment: environment, spec: command.spec))
        } catch {
            let (status, message) = describe(error)
            console.err("tessera: \(message)")
            if let importError = error as? ImportError {
                for row in importError.rows { console.err("  \(row)") }
            }
            return status
        }
    }

    /// Maps every error once to an exit status and a one-line message.
    static func describe(_ error: any Error) -> (Int32, String) {
        switch error {
        case let error as UsageError:
            return (ExitStatus.usage, error.description)
        case let error as CoreError:
            let status: Int32 =
                switch error.kind {
                case .invalidInput: ExitStatus.badInput
                case .notFound: ExitStatus.notFound
                case .conflict: ExitStatus.conflict
                case .notPermitted, .unauthenticated: ExitStatus.notPermitted
                case .unavailable: ExitStatus.unavailable
                case .internal: ExitStatus.internal
                }
            return (status, error.message)
        case let error as ImportError:
            return (ExitStatus.badInput, error.description)
        case let error as ConfigurationError:
            return (
                error.key == nil && error.message.hasPrefix("cannot read") ? ExitStatus.notFound : ExitStatus.badInput,
                error.description
            )
        case let error as StoreError:
            return (ExitStatus.internal, "store: \(error.message)")
        case let error as HTTPError:
            // Listening problems: a bad address or certificate is the configuration's fault.
            switch error.code {
            case .configuration, .tls: return (ExitStatus.badInput, "cannot serve: \(error.message)")
            default: return (ExitStatus.internal, "cannot serve: \(error.message)")
            }
        case let error as CLIFailure:
            return (error.status, error.message)
        default:
            return (ExitStatus.internal, "internal error: \(error)")
        }
    }

    static let version = "0.1.0"

    static func overview() -> String {
        var lines = [
            "tessera: identity and enrolment broker for Apple device deployments", "",
            "Usage: tessera <command> [options]", "", "Commands:",
        ]
        for command in commands {
            let name = command.spec.path.joined(separator: " ")
            lines.append(
                "  " + name.padding(toLength: max(name.count + 2, 30), withPad: " ", startingAt: 0)
                    + command.spec.summary)
        }
        lines += [
            "", "Every command takes --config PATH and --help. Exit statuses: 0 ok, 64 usage, 65 bad input,",
            "66 not found, 70 internal, 73 conflict, 77 not permitted.",
        ]
        return lines.joined(separator: "\n")
    }

    static func groupHelp(_ group: String) -> String {
        var lines = ["Usage: tessera \(group) <command> [options]", "", "Commands:"]
        for command in commands where command.spec.path.first == group {
            let name = command.spec.path.joined(separator: " ")
            lines.append(
                "  " + name.padding(toLength: max(name.count + 2, 30), withPad: " ", startingAt: 0)
                    + command.spec.summary)
        }
        return lines.joined(separator: "\n")
    }
}

/// A command's own failure with a chosen status (e.g. a broken audit chain).
struct CLIFailure: Error {
    let status: Int32
    let message: String
}
