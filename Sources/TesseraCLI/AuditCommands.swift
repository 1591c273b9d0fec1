import TesseraAccounts
import TesseraCore
import TesseraPlatform
import TesseraServer

/// `tessera audit …`
enum AuditCommands {
    static let all: [Command] = [list, verify]

    static let list = Command(
        spec: CommandSpec(
            path: ["audit", "list"], summary: "Show audit entries (the newest 50 by default)",
            options: [
                .value("from", "SEQUENCE", "start at this entry number instead of the newest"),
                .value("limit", "N", "at most N entries (default 50)"),
                AccountCommands.jsonOption, AccountCommands.asOption,
            ])
    ) { invocation in
        let runtime = try invocation.runtime()
        let actor = try await invocation.actor(runtime)
        let limit = try invocation.integer("limit") ?? 50
        guard limit > 0 else { throw invocation.usage("--limit must be at least 1") }
        let entries =
            if let from = try invocation.integer("from") {
                try await runtime.audit.entries(from: Int64(from), limit: limit, by: actor)
            } else {
                try await runtime.audit.latest(limit, by: actor)
            }
        invocation.printList(
            entries, empty: "No audit entries.", json: { Representation.write($0, to: &$1) },
            header: ["#", "AT", "ACTOR", "ACTION", "TARGET"]
        ) {
            [String($0.sequence), Timestamp.text($0.at), $0.actor, $0.action, $0.targetName]
        }
        return ExitStatus.ok
    }

    static let verify = Command(
        spec: CommandSpec(
            path: ["audit", "verify"], summary: "Recompute the audit hash chain; exit 65 if it is broken",
            options: [AccountCommands.jsonOption, AccountCommands.asOption],
            discussion:
                "Prints the number of entries and the hash of the newest one; keep that hash somewhere else to detect a rewrite of the whole log."
        )
    ) { invocation in
        let runtime = try invocation.runtime()
        let result = try await runtime.audit.verify(by: try await invocation.actor(runtime))
        if invocation.json {
            invocation.console.out(
                Output.json { writer in
                    writer.beginObject()
                    writer.key("intact"); writer.bool(result.failure == nil)
                    writer.key("entries"); writer.int(Int(result.entries))
                    writer.key("head_hash"); writer.string(result.headHash)
                    writer.key("broken_at")
                    if let failure = result.failure { writer.int(Int(failure.sequence)) } else { writer.null() }
                    writer.key("reason")
                    if let failure = result.failure { writer.string(failure.reason) } else { writer.null() }
                    writer.endObject()
                })
        }
        if let failure = result.failure {
            if !invocation.json { invocation.console.err("tessera: audit chain broken at \(failure)") }
            return ExitStatus.badInput
        }
        if !invocation.json {
            invocation.console.out("Audit chain intact: \(result.entries) entries, head \(result.headHash)")
        }
        return ExitStatus.ok
    }
}
