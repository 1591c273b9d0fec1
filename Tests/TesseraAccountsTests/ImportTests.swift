import Foundation
import TesseraAccounts
import TesseraCore
import TesseraStore
import Testing

@Suite struct AccountCSVTests {
    @Test func parsesQuotedFieldsAndLineNumbers() throws {
        let text =
            "\u{FEFF}managed_id,given_name,family_name,department,roles\r\n"
            + "jane@appleid.example.com,Jane,Doe,\"Sales, EMEA\",staff;content-manager\r\n"
            + "\n"
            + "joe@appleid.example.com,\"Jo\"\"e\",\"Multi\nLine\",,\n"
            + "ann@appleid.example.com,Ann,Lee,,"
        let rows = try AccountCSV.parse(text)
        #expect(rows.map(\.line) == [2, 4, 6])
        #expect(rows[0].account.department == "Sales, EMEA")
        #expect(rows[0].account.roles == ["staff", "content-manager"])
        #expect(rows[1].account.givenName == "Jo\"e")
        #expect(rows[1].account.familyName == "Multi\nLine")
        #expect(rows[1].account.department == nil)
        #expect(rows[2].account.source == "local")
    }

    @Test func reportsHeaderProblems() {
        #expect { try AccountCSV.parse("managed_id,given_name,nickname\n") } throws: { error in
            let rows = (error as? ImportError)?.rows ?? []
            return rows.contains { $0.message.contains("unknown column 'nickname'") }
                && rows.contains { $0.message.contains("missing required column 'family_name'") }
        }
        #expect(throws: ImportError.self) { try AccountCSV.parse("") }
        #expect(throws: ImportError.self) { try AccountCSV.parse("managed_id,managed_id,given_name,family_name\n") }
    }

    @Test func reportsMalformedRows() {
        #expect {
            try AccountCSV.parse(
                "managed_id,given_name,family_name\na@appleid.example.com,A\nb@appleid.example.com,B,C,D\n")
        } throws: {
            ($0 as? ImportError)?.rows.map(\.line) == [2, 3]
        }
        #expect { try AccountCSV.parse("managed_id,given_name,family_name\n\"a,b,c\n") } throws: {
            ($0 as? ImportError)?.rows.first?.message.contains("never closed") == true
        }
        #expect(throws: ImportError.self) { try AccountCSV.parse("managed_id,given_name,family_name\na\"b,c,d\n") }
    }
}

@Suite struct ImportTests {
    @Test func importsEveryRowOrNone() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let bad = try AccountCSV.parse(
            """
            managed_id,given_name,family_name,roles
            good@appleid.example.com,Good,Row,staff
            bad id@appleid.example.com,Bad,Row,staff
            other@example.com,Wrong,Domain,
            role@appleid.example.com,Bad,Role,superuser
            good@appleid.example.com,Again,Row,

            """)
        await #expect { try await fixture.service.importAccounts(bad, by: Fixture.root) } throws: { error in
            let rows = (error as? ImportError)?.rows ?? []
            return rows.map(\.line) == [3, 4, 5, 6] && rows[3].message.contains("repeats line 2")
        }
        #expect(try await fixture.service.accounts(matching: AccountQuery(), by: Fixture.root).isEmpty)

        try await fixture.create("taken")
        let clash = try AccountCSV.parse(
            "managed_id,given_name,family_name\nnew@appleid.example.com,N,E\ntaken@appleid.example.com,T,K\n")
        await #expect { try await fixture.service.importAccounts(clash, by: Fixture.root) } throws: {
            ($0 as? ImportError)?.rows == [ImportRowError(line: 3, message: "taken@appleid.example.com already exists")]
        }
        #expect(try await fixture.service.accounts(matching: AccountQuery(), by: Fixture.root).count == 1)
    }

    @Test func importCreatesAndAuditsEachAccount() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let rows = try AccountCSV.parse(
            (0..<5).reduce("managed_id,given_name,family_name,roles\n") { text, index in
                text + "user\(index)@appleid.example.com,User,\(index),staff\n"
            })
        let seen = ProgressLog()
        let issued = try await fixture.service.importAccounts(rows, by: Fixture.root) { done, total in
            seen.append(done, total)
        }
        #expect(issued.count == 5)
        #expect(Set(issued.compactMap(\.temporaryPassword)).count == 5)
        #expect(seen.values.last?.0 == 5 && seen.values.last?.1 == 5)
        #expect(try await fixture.audit.entries(by: Fixture.root).filter { $0.action == "account.import" }.count == 5)
        #expect(try await fixture.audit.verify(by: Fixture.root).failure == nil)
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [(Int, Int)] = []
    func append(_ done: Int, _ total: Int) { lock.withLock { stored.append((done, total)) } }
    var values: [(Int, Int)] { lock.withLock { stored } }
}
