import Foundation
import TesseraCore
import TesseraOAuth
import TesseraPlatform
import TesseraServer

/// `tessera clients …`
enum ClientCommands {
    static let all: [Command] = [create, list, show, update, rotateSecret, delete]

    static let referenceArgument = PositionalSpec(
        name: "CLIENT", help: "the client's client_id or name", optional: false)
    static let settingOptions: [OptionSpec] = [
        .repeated(
            "grant", "GRANT",
            "client_credentials, authorization_code, refresh_token, password or jwt-bearer (repeatable)"),
        .repeated("redirect-uri", "URI", "exact redirect URI for authorization_code (repeatable)"),
        .repeated("scope", "SCOPE", "a scope the client may request (repeatable, or space-separated)"),
        .repeated("public-key", "PEM_FILE", "PEM public key for private_key_jwt and the JWT bearer grant (repeatable)"),
        .value("pkce", "POLICY", "required (default) or apple-enrolment (the enrolling device sends no PKCE)"),
        .value("role", "ROLE", "the role the client acts with in client_credentials"),
        .value(
            "access-token-lifetime", "SECONDS", "access token lifetime (default oauth.access_token_lifetime_seconds)"),
        .value(
            "refresh-token-lifetime", "SECONDS", "refresh token lifetime (default oauth.refresh_token_lifetime_seconds)"
        ),
    ]

    static let create = Command(
        spec: CommandSpec(
            path: ["clients", "create"], summary: "Register an OAuth client; prints client_id and client_secret once",
            options: [
                .value("name", "NAME", "a unique name (letters, digits, '.', '_', '-')"),
                .flag("public", "a public client (no secret)"),
            ]
                + settingOptions + [AccountCommands.jsonOption, AccountCommands.asOption],
            discussion: """
                Example: tessera clients create --name mdm --grant client_credentials --scope mdm
                Confidential clients get a generated 256-bit secret, stored only as its SHA-256.
                """)
    ) { invocation in
        let arguments = invocation.arguments
        guard let name = arguments.value("name") else { throw invocation.usage("missing --name") }
        guard !arguments.all("grant").isEmpty else { throw invocation.usage("missing --grant") }
        let runtime = try invocation.runtime()
        let issued = try await runtime.clients.create(
            ClientRegistration(
                name: name, isPublic: arguments.has("public"), grants: arguments.all("grant"),
                redirectURIs: arguments.all("redirect-uri"),
                scopes: arguments.all("scope"), publicKeys: try readKeys(arguments.all("public-key")),
                pkce: arguments.value("pkce"),
                role: arguments.value("role"),
                accessTokenLifetimeSeconds: try invocation.integer("access-token-lifetime"),
                refreshTokenLifetimeSeconds: try invocation.integer("refresh-token-lifetime")),
            by: try await invocation.actor(runtime))
        printIssued(issued, verb: "Created", invocation)
        return ExitStatus.ok
    }

    static let list = Command(
        spec: CommandSpec(
            path: ["clients", "list"], summary: "List OAuth clients",
            options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let clients = try await runtime.clients.clients(by: try await invocation.actor(runtime))
        invocation.printList(
            clients, empty: "No clients.", json: { Representation.write($0, to: &$1) },
            header: ["NAME", "CLIENT ID", "TYPE", "GRANTS", "SCOPES"]
        ) {
            [
                $0.name, $0.id, $0.type.rawValue, $0.grants.sorted().map(\.rawValue).joined(separator: ","),
                $0.scopes.sorted().joined(separator: " "),
            ]
        }
        return ExitStatus.ok
    }

    static let show = Command(
        spec: CommandSpec(
            path: ["clients", "show"], summary: "Show one OAuth client", positionals: [referenceArgument],
            options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let client = try await runtime.clients.client(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        printClient(client, invocation)
        return ExitStatus.ok
    }

    static let update = Command(
        spec: CommandSpec(
            path: ["clients", "update"], summary: "Change an OAuth client's settings", positionals: [referenceArgument],
            options: [.value("name", "NAME", "rename the client")] + settingOptions + [
                AccountCommands.jsonOption, AccountCommands.asOption,
            ],
            discussion:
                "A repeatable option replaces the whole list (--grant, --redirect-uri, --scope, --public-key); --role '' removes the role."
        )
    ) { invocation in
        let arguments = invocation.arguments
        var changes = ClientService.Changes(
            name: arguments.value("name"), grants: arguments.values["grant"],
            redirectURIs: arguments.values["redirect-uri"],
            scopes: arguments.values["scope"], publicKeys: try arguments.values["public-key"].map(readKeys),
            pkce: arguments.value("pkce"),
            accessTokenLifetimeSeconds: try invocation.integer("access-token-lifetime"),
            refreshTokenLifetimeSeconds: try invocation.integer("refresh-token-lifetime"))
        if let role = arguments.value("role") { changes.role = .some(role) }
        let runtime = try invocation.runtime()
        let client = try await runtime.clients.update(
            arguments.positionals[0], changes, by: try await invocation.actor(runtime))
        if invocation.json {
            printClient(client, invocation)
        } else {
            invocation.console.out("Updated \(client.name) (version \(client.version))")
        }
        return ExitStatus.ok
    }

    static let rotateSecret = Command(
        spec: CommandSpec(
            path: ["clients", "rotate-secret"], summary: "Replace a confidential client's secret; prints it once",
            positionals: [referenceArgument], options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let issued = try await runtime.clients.rotateSecret(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        printIssued(issued, verb: "New secret for", invocation)
        return ExitStatus.ok
    }

    static let delete = Command(
        spec: CommandSpec(
            path: ["clients", "delete"], summary: "Delete an OAuth client and every token issued to it",
            positionals: [referenceArgument], options: [AccountCommands.jsonOption, AccountCommands.asOption])
    ) { invocation in
        let runtime = try invocation.runtime()
        let client = try await runtime.clients.delete(
            invocation.arguments.positionals[0], by: try await invocation.actor(runtime))
        invocation.printDeleted(client.id, description: "\(client.name) (\(client.id))")
        return ExitStatus.ok
    }

    /// PEM files named on the command line (keys are read from files, like every secret-adjacent input).
    static func readKeys(_ paths: [String]) throws -> [String] {
        try paths.map { path in
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else {
                throw CLIFailure(status: ExitStatus.notFound, message: "cannot read public key file \(path)")
            }
            return text
        }
    }

    static func printClient(_ client: OAuthClient, _ invocation: Invocation) {
        if invocation.json {
            invocation.console.out(Output.json { Representation.write(client, to: &$0) })
            return
        }
        let rows: [(String, String)] = [
            ("name", client.name), ("client_id", client.id), ("type", client.type.rawValue),
            ("auth_methods", client.authenticationMethods.map(\.rawValue).sorted().joined(separator: ", ")),
            ("grants", client.grants.sorted().map(\.rawValue).joined(separator: ", ")),
            ("redirect_uris", client.redirectURIs.isEmpty ? "-" : client.redirectURIs.joined(separator: " ")),
            ("scopes", client.scopes.isEmpty ? "-" : client.scopes.sorted().joined(separator: " ")),
            ("public_keys", String(client.publicKeys.count)), ("pkce", client.pkce.rawValue),
            ("role", client.role?.rawValue ?? "-"),
            ("access_token_lifetime", "\(client.accessTokenLifetime.components.seconds)s"),
            ("refresh_token_lifetime", "\(client.refreshTokenLifetime.components.seconds)s"),
            ("version", String(client.version)),
            ("created_at", Timestamp.text(client.createdAt)),
            ("updated_at", Timestamp.text(client.updatedAt)),
        ]
        invocation.console.out(Output.details(rows))
    }

    static func printIssued(_ issued: ClientService.IssuedClient, verb: String, _ invocation: Invocation) {
        if invocation.json {
            invocation.console.out(Output.json { Representation.write(issued.client, secret: issued.secret, to: &$0) })
            return
        }
        invocation.console.out("\(verb) client \(issued.client.name)")
        invocation.console.out("client_id:     \(issued.client.id)")
        if let secret = issued.secret {
            invocation.console.out("client_secret: \(secret)")
            invocation.console.out("The secret is shown only now; Tessera keeps only its SHA-256.")
        }
    }
}
