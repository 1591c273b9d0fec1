import Foundation
import Synchronization
import Testing

@testable import TesseraCLI

/// Runs `tessera` in-process against a scratch configuration and database.
final class CLIHarness: Sendable {
    let directory: String
    let configPath: String

    init(extraConfig: String = "") throws {
        directory = NSTemporaryDirectory() + "tessera-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configPath = directory + "/tessera.json"
        let config = """
            {
              "store": { "sqlite": { "path": "\(directory)/var/tessera.sqlite3" } },
              "accounts": { "managed_domains": ["appleid.example.com"] },
              "passwords": { "scrypt_log_n": 10 },
              "oauth": { "key_encryption_key_file": "\(directory)/var/kek" },
              \(extraConfig)
            }
            """
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    struct Result {
        let status: Int32
        let out: String
        let err: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(out.utf8)) }
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async -> Result {
        let out = Mutex("")
        let err = Mutex("")
        let console = Console(
            out: { text in out.withLock { $0 += text + "\n" } }, err: { text in err.withLock { $0 += text + "\n" } },
            errRaw: { text in err.withLock { $0 += text } }, interactive: false)
        let status = await TesseraCLI.run(
            arguments, console: console, environment: ["TESSERA_CONFIG": configPath].merging(environment) { $1 })
        return Result(status: status, out: out.withLock { $0 }, err: err.withLock { $0 })
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite struct CLITests {
    @Test func helpAndUsageErrors() async throws {
        let cli = try CLIHarness()
        let overview = await cli.run(["--help"])
        #expect(overview.status == 0 && overview.out.contains("accounts create"))
        #expect(await cli.run([]).status == 64)
        let unknown = await cli.run(["acounts", "list"])
        #expect(unknown.status == 64 && unknown.err.hasPrefix("tessera: unknown command"))
        let group = await cli.run(["accounts", "--help"])
        #expect(group.status == 0 && group.out.contains("accounts reset-password"))
        let help = await cli.run(["accounts", "create", "--help"])
        #expect(help.status == 0 && help.out.contains("--given-name TEXT") && help.out.contains("--config PATH"))
        let typo = await cli.run(["accounts", "create", "--given-nam", "J"])
        #expect(typo.status == 64 && typo.err.contains("did you mean '--given-name'"))
        let missing = await cli.run([
            "accounts", "create", "--managed-id", "a@appleid.example.com", "--given-name", "A",
        ])
        #expect(missing.status == 64 && missing.err.contains("--family-name"))
        let twice = await cli.run(["accounts", "show", "a@appleid.example.com", "b@appleid.example.com"])
        #expect(twice.status == 64)
        #expect(await cli.run(["accounts", "list", "--limit", "-3"]).status == 64)
        #expect(await cli.run(["accounts", "list", "--json=yes"]).status == 64)
        // Every error is one line on stderr.
        #expect(typo.err.split(separator: "\n").count == 1)
    }

    @Test func createListShowDeactivateDelete() async throws {
        let cli = try CLIHarness()
        let created = await cli.run([
            "accounts", "create", "--managed-id", "Jane@AppleID.example.com", "--given-name", "Jane", "--family-name",
            "Doe",
            "--email", "jane@example.com", "--role", "staff", "--role", "content-manager", "--json",
        ])
        #expect(created.status == 0, "\(created.err)")
        let json = try #require(created.json as? [String: Any])
        #expect(json["managed_id"] as? String == "jane@appleid.example.com")
        #expect((json["temporary_password"] as? String)?.count == 23)
        #expect(json["roles"] as? [String] == ["content-manager", "staff"])
        #expect(json["password_temporary"] as? Bool == true)

        let human = await cli.run([
            "accounts", "create", "--managed-id", "joe@appleid.example.com", "--given-name", "Joe", "--family-name",
            "Bloggs",
        ])
        #expect(human.status == 0 && human.out.contains("Temporary password: "))

        let list = await cli.run(["accounts", "list"])
        #expect(
            list.status == 0 && list.out.contains("jane@appleid.example.com")
                && list.out.contains("joe@appleid.example.com"))
        let listed = try #require(
            await cli.run(["accounts", "list", "--role", "content-manager", "--json"]).json as? [[String: Any]])
        #expect(listed.map { $0["managed_id"] as? String } == ["jane@appleid.example.com"])
        #expect(listed.first?["temporary_password"] == nil)

        let show = await cli.run(["accounts", "show", "jane@appleid.example.com"])
        #expect(show.status == 0 && show.out.contains("content-manager,staff"))
        #expect(await cli.run(["accounts", "show", "nobody@appleid.example.com"]).status == 66)
        #expect(await cli.run(["accounts", "delete", "jane@appleid.example.com"]).status == 73)
        #expect(await cli.run(["accounts", "deactivate", "--managed-id", "jane@appleid.example.com"]).status == 0)
        #expect(await cli.run(["accounts", "deactivate", "jane@appleid.example.com"]).status == 73)
        #expect(await cli.run(["accounts", "delete", "jane@appleid.example.com"]).status == 0)
        #expect(await cli.run(["accounts", "show", "jane@appleid.example.com"]).status == 66)

        let update = await cli.run(["accounts", "update", "joe@appleid.example.com", "--department", "Ops", "--json"])
        #expect((update.json as? [String: Any])?["department"] as? String == "Ops")
        let reset = await cli.run(["accounts", "reset-password", "joe@appleid.example.com", "--json"])
        #expect(((reset.json as? [String: Any])?["temporary_password"] as? String)?.isEmpty == false)
        #expect(await cli.run(["accounts", "unlock", "joe@appleid.example.com"]).status == 73)

        let audit = await cli.run(["audit", "list", "--json"])
        let actions = (audit.json as? [[String: Any]])?.compactMap { $0["action"] as? String }
        #expect(
            actions == [
                "account.create", "account.create", "account.deactivate", "account.delete", "account.update",
                "account.reset_password",
            ])
        let verify = await cli.run(["audit", "verify"])
        #expect(verify.status == 0 && verify.out.contains("intact: 6 entries"))
    }

    @Test func badInputExitStatuses() async throws {
        let cli = try CLIHarness()
        let bad = await cli.run([
            "accounts", "create", "--managed-id", "jane@gmail.com", "--given-name", "J", "--family-name", "D",
        ])
        #expect(bad.status == 65 && bad.err.contains("not a managed domain"))
        let role = await cli.run([
            "accounts", "create", "--managed-id", "j@appleid.example.com", "--given-name", "J", "--family-name", "D",
            "--role", "boss",
        ])
        #expect(role.status == 65 && role.err.contains("unknown role 'boss'"))
        _ = await cli.run([
            "accounts", "create", "--managed-id", "j@appleid.example.com", "--given-name", "J", "--family-name", "D",
        ])
        let duplicate = await cli.run([
            "accounts", "create", "--managed-id", "J@appleid.example.com", "--given-name", "J", "--family-name", "D",
        ])
        #expect(duplicate.status == 73)
        #expect(await cli.run(["accounts", "list", "--state", "sleeping"]).status == 65)
    }

    @Test func actingAsAnAccountAppliesItsRole() async throws {
        let cli = try CLIHarness()
        _ = await cli.run([
            "accounts", "create", "--managed-id", "pm@appleid.example.com", "--given-name", "P", "--family-name", "M",
            "--role", "people-manager",
        ])
        _ = await cli.run([
            "accounts", "create", "--managed-id", "staff@appleid.example.com", "--given-name", "S", "--family-name",
            "T",
        ])
        let denied = await cli.run([
            "accounts", "create", "--managed-id", "a@appleid.example.com", "--given-name", "A", "--family-name", "B",
            "--role", "administrator", "--as", "pm@appleid.example.com",
        ])
        #expect(denied.status == 77)
        let allowed = await cli.run([
            "accounts", "create", "--managed-id", "s2@appleid.example.com", "--given-name", "A", "--family-name", "B",
            "--as", "pm@appleid.example.com",
        ])
        #expect(allowed.status == 0)
        #expect(
            await cli.run(["accounts", "deactivate", "pm@appleid.example.com", "--as", "staff@appleid.example.com"])
                .status == 77)
        #expect(await cli.run(["audit", "verify", "--as", "pm@appleid.example.com"]).status == 77)
        #expect(await cli.run(["accounts", "list", "--as", "ghost@appleid.example.com"]).status == 77)
        let entries = await cli.run(["audit", "list", "--json"]).json as? [[String: Any]]
        #expect(entries?.last?["actor"] as? String == "account:pm@appleid.example.com")
    }

    @Test func importIsAllOrNothing() async throws {
        let cli = try CLIHarness()
        let bad = try cli.write(
            "bad.csv",
            """
            managed_id,given_name,family_name,roles
            a@appleid.example.com,A,One,staff
            b@elsewhere.com,B,Two,staff
            c@appleid.example.com,,Three,staff
            """)
        let refused = await cli.run(["accounts", "import", bad])
        #expect(refused.status == 65)
        #expect(refused.err.contains("line 3:") && refused.err.contains("line 4:"))
        #expect(
            await cli.run(["accounts", "list", "--json"]).out.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")

        let good = try cli.write(
            "good.csv",
            """
            managed_id,given_name,family_name,department,roles
            a@appleid.example.com,A,One,Sales,staff
            b@appleid.example.com,B,Two,,content-manager;staff
            c@appleid.example.com,C,Three,,
            """)
        let imported = await cli.run(["accounts", "import", good])
        #expect(imported.status == 0, "\(imported.err)")
        #expect(imported.out.contains("Imported 3 accounts"))
        #expect(imported.err.contains("hashing temporary passwords 3/3"))
        #expect((await cli.run(["accounts", "list", "--json"]).json as? [Any])?.count == 3)
        #expect(await cli.run(["accounts", "import", cli.directory + "/missing.csv"]).status == 66)
        #expect(await cli.run(["audit", "verify", "--json"]).status == 0)
    }

    @Test func configCheck() async throws {
        let cli = try CLIHarness()
        let check = await cli.run(["config", "check"])
        #expect(check.status == 0 && check.out.contains("server.port"))
        let json = await cli.run(["config", "check", "--json"])
        #expect((json.json as? [String: Any])?["server.port"] as? Int == 8080)
        let env = await cli.run(["config", "check", "--json"], environment: ["TESSERA_SERVER_PORT": "9999"])
        #expect((env.json as? [String: Any])?["server.port"] as? Int == 9999)
        let badEnv = await cli.run(["config", "check"], environment: ["TESSERA_SERVER_PORT": "x"])
        #expect(badEnv.status == 65 && badEnv.err.contains("server.port"))
        let broken = try CLIHarness(extraConfig: #""sever": {}"#)
        let result = await broken.run(["config", "check"])
        #expect(result.status == 65 && result.err == "tessera: configuration key sever: unknown key\n")
        #expect(await cli.run(["config", "check", "--config", "/nonexistent.json"]).status == 66)
    }
}
