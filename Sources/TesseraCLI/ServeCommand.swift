import TesseraServer

/// `tessera serve`
enum ServeCommand {
    static let all: [Command] = [serve]

    static let serve = Command(
        spec: CommandSpec(
            path: ["serve"], summary: "Run the HTTP server (SIGTERM/SIGINT drain and stop, SIGHUP reloads TLS)",
            discussion: "Listens on server.host:server.port; logs one JSON line per request to stderr.")
    ) { invocation in
        let runtime = try TesseraRuntime.open(try invocation.configuration())
        let server = TesseraNode(runtime: runtime)
        _ = try server.start()
        await server.run()
        return ExitStatus.ok
    }
}
