import TesseraCore
import TesseraPlatform
import TesseraServer

/// `tessera keys …`
enum KeyCommands {
    static let all: [Command] = [list, rotate, retire]

    static let list = Command(
        spec: CommandSpec(
            path: ["keys", "list"], summary: "List token-signing keys and their states",
            options: [AccountCommands.jsonOption, AccountCommands.asOption],
            discussion:
                "States: next (published, not yet signing), current (signing), retired (published until its tokens expire)."
        )
    ) { invocation in
        let runtime = try invocation.runtime()
        let keys = try await runtime.keys.keys(by: try await invocation.actor(runtime))
        invocation.printList(
            keys, empty: "No signing keys.", json: { Representation.write($0, to: &$1) },
            header: ["KID", "ALG", "STATE", "CREATED", "SIGNS FROM", "UNPUBLISHED AFTER"]
        ) {
            [
                $0.id, $0.algorithm, $0.state.rawValue, Timestamp.text($0.createdAt),
                Timestamp.text($0.activatesAt),
                $0.removeAfter.map(Timestamp.text) ?? "-",
            ]
        }
        return ExitStatus.ok
    }

    static let rotate = Command(
        spec: CommandSpec(
            path: ["keys", "rotate"],
            summary: "Add a new signing key: published now, signing after oauth.key_prepublish_seconds",
            options: [AccountCommands.jsonOption, AccountCommands.asOption],
            discussion:
                "When it starts signing, the current key retires and stays published until every token it signed has expired."
        )
    ) { invocation in
        let runtime = try invocation.runtime()
        let key = try await runtime.keys.rotate(by: try await invocation.actor(runtime))
        if invocation.json {
            invocation.console.out(Output.json { Representation.write(key, to: &$0) })
        } else {
            invocation.console.out(
                "New key \(key.id) (\(key.algorithm)) is published and signs from \(Timestamp.text(key.activatesAt))"
            )
        }
        return ExitStatus.ok
    }

    static let retire = Command(
        spec: CommandSpec(
            path: ["keys", "retire"],
            summary: "Stop a key signing (a next key takes over at once; running servers within a second)",
            positionals: [PositionalSpec(name: "KID", help: "the key's kid", optional: false)],
            options: [AccountCommands.jsonOption, AccountCommands.asOption],
            discussion:
                "Use after a suspected compromise together with 'tessera keys rotate'. The key stays published until its tokens expire."
        )
    ) { invocation in
        let runtime = try invocation.runtime()
        let key = try await runtime.keys.retire(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        if invocation.json {
            invocation.console.out(Output.json { Representation.write(key, to: &$0) })
        } else {
            invocation.console.out(
                "Retired \(key.id); published until \(key.removeAfter.map(Timestamp.text) ?? "now")")
        }
        return ExitStatus.ok
    }
}
