import Foundation
import TesseraAccounts
import TesseraCore
import TesseraPlatform
import TesseraServer
import TesseraStore

/// `tessera accounts …`
enum AccountCommands {
    static let asOption = OptionSpec.value(
        "as", "MANAGED_ID", "act as this account, with its role limits (default: the local operator, as administrator)")
    static let jsonOption = OptionSpec.flag("json", "print JSON instead of text")
    static let idArgument = PositionalSpec(
        name: "MANAGED_ID", help: "the account, e.g. jane@appleid.example.com", optional: true)
    static let managedIDOption = OptionSpec.value("managed-id", "MANAGED_ID", "the account (instead of the argument)")
    static let fieldOptions: [OptionSpec] = [
        .value("given-name", "TEXT", "given name"),
        .value("family-name", "TEXT", "family name"),
        .value("email", "ADDRESS", "contact email (not the managed ID)"),
        .value("employee-number", "TEXT", "employee number"),
        .value("department", "TEXT", "department"),
        .repeated(
            "role", "ROLE",
            "administrator, people-manager, device-enrolment-manager, content-manager or staff (repeatable)"),
    ]

    static let all: [Command] = [
        create, list, show, update, deactivate, reactivate, delete, resetPassword, unlock, importCSV,
    ]

    static let create = Command(
        spec: CommandSpec(
            path: ["accounts", "create"], summary: "Create a managed account; prints its temporary password once",
            options: [.value("managed-id", "MANAGED_ID", "the new account's managed ID (local@managed-domain)")]
                + fieldOptions
                + [.value("source", "SOURCE", "local (default), ldap, kerberos or scim"), jsonOption, asOption],
            discussion: """
                Local accounts get a temporary password valid for accounts.temporary_password_days (90 by default)
                that must be changed at first sign-in. Without --role the account is staff.
                Example: tessera accounts create --managed-id jane@appleid.example.com --given-name Jane --family-name Doe
                """)
    ) { invocation in
        let arguments = invocation.arguments
        guard let managedID = arguments.value("managed-id") else { throw invocation.usage("missing --managed-id") }
        guard let given = arguments.value("given-name") else { throw invocation.usage("missing --given-name") }
        guard let family = arguments.value("family-name") else { throw invocation.usage("missing --family-name") }
        let runtime = try invocation.runtime()
        let issued = try await runtime.accounts.create(
            NewAccount(
                managedID: managedID, givenName: given, familyName: family, email: arguments.value("email"),
                employeeNumber: arguments.value("employee-number"), department: arguments.value("department"),
                roles: arguments.all("role"), source: arguments.value("source") ?? "local"),
            by: try await invocation.actor(runtime))
        printIssued(issued, verb: "Created", invocation)
        return ExitStatus.ok
    }

    static let list = Command(
        spec: CommandSpec(
            path: ["accounts", "list"], summary: "List accounts, ordered by managed ID",
            options: [
                .value("state", "STATE", "only active or deactivated accounts"),
                .value("role", "ROLE", "only accounts with this role"),
                .value("source", "SOURCE", "only accounts from local, ldap, kerberos or scim"),
                .value("prefix", "TEXT", "only managed IDs starting with TEXT"),
                .value("after", "MANAGED_ID", "start after this managed ID (paging)"),
                .value("limit", "N", "at most N accounts"),
                jsonOption, asOption,
            ])
    ) { invocation in
        let arguments = invocation.arguments
        let query = AccountQuery(
            state: try arguments.value("state").map(AccountState.init(parsing:)),
            role: try arguments.value("role").map(Role.init(parsing:)),
            source: try arguments.value("source").map(AccountSource.init(parsing:)),
            managedIDPrefix: arguments.value("prefix"), after: arguments.value("after"),
            limit: try invocation.integer("limit"))
        let runtime = try invocation.runtime()
        let accounts = try await runtime.accounts.accounts(matching: query, by: try await invocation.actor(runtime))
        invocation.printList(
            accounts, empty: "No accounts.", json: { Representation.write($0, to: &$1) },
            header: ["MANAGED ID", "NAME", "ROLES", "STATE", "SOURCE"]
        ) {
            [
                $0.managedID.rawValue, "\($0.givenName) \($0.familyName)", Output.roles($0),
                $0.state.rawValue + ($0.isLocked ? " (locked)" : ""), $0.source.rawValue,
            ]
        }
        return ExitStatus.ok
    }

    static let show = simple(["accounts", "show"], "Show one account") { runtime, id, actor in
        (try await runtime.accounts.account(id, by: actor), nil)
    }

    static let update = Command(
        spec: CommandSpec(
            path: ["accounts", "update"], summary: "Change an account's fields or roles",
            positionals: [idArgument],
            options: [managedIDOption] + fieldOptions + [
                .value("if-version", "N", "refuse the change unless the account is still at version N"), jsonOption,
                asOption,
            ],
            discussion: "An empty value clears an optional field (--email ''). --role replaces all roles.")
    ) { invocation in
        let arguments = invocation.arguments
        let id = try invocation.required(positional: 0, orOption: "managed-id")
        let changes = AccountChanges(
            givenName: arguments.value("given-name"), familyName: arguments.value("family-name"),
            email: arguments.value("email"),
            employeeNumber: arguments.value("employee-number"), department: arguments.value("department"),
            roles: arguments.values["role"])
        let runtime = try invocation.runtime()
        let account = try await runtime.accounts.update(
            id, changes, expectedVersion: try invocation.integer("if-version"), by: try await invocation.actor(runtime))
        printAccount(account, message: "Updated \(account.managedID) (version \(account.version))", invocation)
        return ExitStatus.ok
    }

    static let deactivate = simple(
        ["accounts", "deactivate"], "Deactivate an account (it can no longer sign in)", message: "Deactivated"
    ) {
        runtime, id, actor in (try await runtime.accounts.deactivate(id, by: actor), nil)
    }

    static let reactivate = simple(
        ["accounts", "reactivate"], "Reactivate a deactivated account", message: "Reactivated"
    ) {
        runtime, id, actor in (try await runtime.accounts.reactivate(id, by: actor), nil)
    }

    static let unlock = simple(
        ["accounts", "unlock"], "Unlock an account locked by wrong passwords", message: "Unlocked"
    ) {
        runtime, id, actor in (try await runtime.accounts.unlock(id, by: actor), nil)
    }

    static let resetPassword = simple(
        ["accounts", "reset-password"], "Give a local account a new temporary password; prints it once",
        message: "Reset the password of"
    ) { runtime, id, actor in
        let issued = try await runtime.accounts.resetPassword(id, by: actor)
        return (issued.account, issued.temporaryPassword)
    }

    static let delete = Command(
        spec: CommandSpec(
            path: ["accounts", "delete"], summary: "Delete a deactivated account", positionals: [idArgument],
            options: [managedIDOption, jsonOption, asOption],
            discussion:
                "Only deactivated accounts can be deleted; deactivated local accounts are also deleted automatically after accounts.deactivated_retention_days."
        )
    ) { invocation in
        let id = try invocation.required(positional: 0, orOption: "managed-id")
        let runtime = try invocation.runtime()
        try await runtime.accounts.delete(id, by: try await invocation.actor(runtime))
        invocation.printDeleted(id.lowercased(), description: id.lowercased())
        return ExitStatus.ok
    }

    static let importCSV = Command(
        spec: CommandSpec(
            path: ["accounts", "import"], summary: "Create accounts from a CSV file, all or nothing",
            positionals: [
                PositionalSpec(name: "FILE", help: "CSV with a header row; - reads standard input", optional: false)
            ],
            options: [jsonOption, asOption],
            discussion: """
                Columns (header names): \(AccountCSV.columns.joined(separator: ", ")).
                managed_id, given_name and family_name are required; roles are separated by ';'.
                Every bad row is reported by line number and nothing is written unless every row is good.
                The temporary passwords of the new accounts are printed once.
                """)
    ) { invocation in
        let path = invocation.arguments.positionals[0]
        let data: Data?
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = FileManager.default.contents(atPath: path)
        }
        guard let data else { throw CLIFailure(status: ExitStatus.notFound, message: "cannot read \(path)") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIFailure(status: ExitStatus.badInput, message: "\(path) is not UTF-8 text")
        }
        let rows = try AccountCSV.parse(text)
        let runtime = try invocation.runtime()
        let progress = Progress(console: invocation.console, label: "hashing temporary passwords")
        let issued = try await runtime.accounts.importAccounts(rows, by: try await invocation.actor(runtime)) {
            done, total in
            progress.update(done, total)
        }
        if invocation.json {
            invocation.console.out(Output.accountsJSON(issued.map { ($0.account, $0.temporaryPassword) }))
        } else {
            invocation.console.out(
                "Imported \(issued.count) account\(issued.count == 1 ? "" : "s"). Temporary passwords (shown only now):"
            )
            invocation.console.out(
                Output.table(
                    ["MANAGED ID", "TEMPORARY PASSWORD"],
                    issued.map { [$0.account.managedID.rawValue, $0.temporaryPassword ?? "-"] }))
        }
        return ExitStatus.ok
    }

    /// A command that takes one account and prints it.
    private static func simple(
        _ path: [String], _ summary: String, message: String? = nil,
        _ action: @escaping @Sendable (TesseraRuntime, String, Actor) async throws -> (Account, String?)
    ) -> Command {
        Command(
            spec: CommandSpec(
                path: path, summary: summary, positionals: [idArgument],
                options: [managedIDOption, jsonOption, asOption])
        ) { invocation in
            let id = try invocation.required(positional: 0, orOption: "managed-id")
            let runtime = try invocation.runtime()
            let (account, password) = try await action(runtime, id, try await invocation.actor(runtime))
            if let password {
                printIssued(
                    IssuedAccount(account: account, temporaryPassword: password), verb: message ?? "", invocation)
            } else {
                printAccount(account, message: message.map { "\($0) \(account.managedID)" }, invocation)
            }
            return ExitStatus.ok
        }
    }

    private static func printAccount(_ account: Account, message: String?, _ invocation: Invocation) {
        if invocation.json {
            invocation.console.out(Output.accountJSON(account))
        } else if let message {
            invocation.console.out(message)
        } else {
            invocation.console.out(Output.accountDetails(account))
        }
    }

    private static func printIssued(_ issued: IssuedAccount, verb: String, _ invocation: Invocation) {
        let account = issued.account
        if invocation.json {
            invocation.console.out(Output.accountJSON(account, temporaryPassword: issued.temporaryPassword))
            return
        }
        invocation.console.out("\(verb) \(account.managedID) (\(Output.roles(account)), \(account.source.rawValue))")
        if let password = issued.temporaryPassword, let expiry = account.credential?.expiresAt {
            invocation.console.out("Temporary password: \(password)")
            invocation.console.out(
                "It is shown only now, expires \(Timestamp.text(expiry)), and must be changed at first sign-in."
            )
        }
    }
}
