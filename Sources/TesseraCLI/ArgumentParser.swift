/// A command-line option a subcommand accepts.
struct OptionSpec: Sendable {
    enum Arity: Sendable { case flag, single, repeated }

    let name: String
    let arity: Arity
    let valueName: String
    let help: String

    static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, arity: .flag, valueName: "", help: help)
    }
    static func value(_ name: String, _ valueName: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, arity: .single, valueName: valueName, help: help)
    }
    static func repeated(_ name: String, _ valueName: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, arity: .repeated, valueName: valueName, help: help)
    }
}

/// A positional argument.
struct PositionalSpec: Sendable {
    let name: String
    let help: String
    let optional: Bool
}

/// What a subcommand takes, used for parsing and for `--help`.
struct CommandSpec: Sendable {
    let path: [String]
    let summary: String
    var positionals: [PositionalSpec] = []
    var options: [OptionSpec] = []
    var discussion: String = ""
}

/// Parsed arguments of one subcommand.
struct ParsedArguments: Sendable {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { flags.contains(name) }
}

/// A usage error: exit status 64 and a one-line message pointing at `--help`.
struct UsageError: Error, Sendable, CustomStringConvertible {
    let message: String
    let command: [String]
    var description: String { "\(message) (see 'tessera \((command + ["--help"]).joined(separator: " "))')" }
}

enum ArgumentParser {
    /// Options every subcommand accepts.
    static let common: [OptionSpec] = [
        .value("config", "PATH", "configuration file (default: $TESSERA_CONFIG or Config/tessera.json)"),
        .flag("help", "show this help"),
    ]

    /// Parses `--name value`, `--name=value`, `--flag`, `-h`, positionals and `--` (end of options).
    static func parse(_ arguments: [String], for spec: CommandSpec) throws -> ParsedArguments {
        let options = spec.options + common
        var parsed = ParsedArguments()
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if optionsEnded || !argument.hasPrefix("-") || argument == "-" {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            if argument == "-h" {
                parsed.flags.insert("help")
                continue
            }
            guard argument.hasPrefix("--") else {
                throw UsageError(message: "unknown option '\(argument)'", command: spec.path)
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let option = options.first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown option '--\(name)'" + suggestion(name, options), command: spec.path)
            }
            switch option.arity {
            case .flag:
                if inlineValue != nil {
                    throw UsageError(message: "option '--\(name)' takes no value", command: spec.path)
                }
                parsed.flags.insert(name)
            case .single, .repeated:
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError(
                            message: "option '--\(name)' needs a value (\(option.valueName))", command: spec.path)
                    }
                    value = arguments[index]
                    index += 1
                }
                if option.arity == .single, parsed.values[name] != nil {
                    throw UsageError(message: "option '--\(name)' given more than once", command: spec.path)
                }
                parsed.values[name, default: []].append(value)
            }
        }
        if parsed.has("help") { return parsed }
        let required = spec.positionals.filter { !$0.optional }.count
        if parsed.positionals.count < required {
            let missing = spec.positionals[parsed.positionals.count]
            throw UsageError(message: "missing argument \(missing.name)", command: spec.path)
        }
        if parsed.positionals.count > spec.positionals.count {
            throw UsageError(
                message: "unexpected argument '\(parsed.positionals[spec.positionals.count])'", command: spec.path)
        }
        return parsed
    }

    /// The help text of a subcommand.
    static func help(for spec: CommandSpec) -> String {
        var lines = ["\(spec.summary)", ""]
        let positionals = spec.positionals.map { $0.optional ? "[\($0.name)]" : $0.name }.joined(separator: " ")
        lines.append(
            "Usage: tessera \(spec.path.joined(separator: " "))\(positionals.isEmpty ? "" : " " + positionals) [options]"
        )
        if !spec.positionals.isEmpty {
            lines.append("")
            lines.append("Arguments:")
            for positional in spec.positionals {
                lines.append("  " + pad(positional.name, 28) + positional.help)
            }
        }
        lines.append("")
        lines.append("Options:")
        for option in spec.options + common {
            let left: String
            switch option.arity {
            case .flag: left = "--\(option.name)"
            case .single: left = "--\(option.name) \(option.valueName)"
            case .repeated: left = "--\(option.name) \(option.valueName) …"
            }
            lines.append("  " + pad(left, 28) + option.help)
        }
        if !spec.discussion.isEmpty {
            lines.append("")
            lines.append(spec.discussion)
        }
        return lines.joined(separator: "\n")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + "  " : text + String(repeating: " ", count: width - text.count)
    }

    private static func suggestion(_ name: String, _ options: [OptionSpec]) -> String {
        let near = options.first {
            $0.name.hasPrefix(name) || name.hasPrefix($0.name) || editDistance($0.name, name) <= 2
        }
        return near.map { " (did you mean '--\($0.name)'?)" } ?? ""
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
