import TesseraServer

/// `tessera config …`
enum ConfigCommands {
    static let all: [Command] = [check]

    static let check = Command(
        spec: CommandSpec(
            path: ["config", "check"], summary: "Check the configuration and print the values in force",
            options: [AccountCommands.jsonOption],
            discussion: "Reads the file and the TESSERA_* environment; exits 65 naming the first bad key.")
    ) { invocation in
        let configuration = try invocation.configuration()
        let values = configuration.effectiveValues()
        if invocation.json {
            invocation.console.out(
                Output.json { writer in
                    writer.beginObject()
                    for (key, value) in values {
                        writer.key(key)
                        writer.raw(Array(value.utf8))
                    }
                    writer.endObject()
                })
        } else {
            invocation.console.out("Configuration \(configuration.source) is valid:")
            invocation.console.out(Output.table(["KEY", "VALUE"], values.map { [$0.0, $0.1] }))
        }
        return ExitStatus.ok
    }
}
