import TesseraCore
import TesseraPlatform
import TesseraServer

/// Human and JSON renderings for the console.
enum Output {
    static func json(_ build: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        build(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func accountJSON(_ account: Account, temporaryPassword: String? = nil) -> String {
        json { Representation.write(account, temporaryPassword: temporaryPassword, to: &$0) }
    }

    static func accountsJSON(_ accounts: [(Account, String?)]) -> String {
        json { writer in
            writer.beginArray()
            for (account, password) in accounts {
                Representation.write(account, temporaryPassword: password, to: &writer)
            }
            writer.endArray()
        }
    }

    static func accountDetails(_ account: Account) -> String {
        var rows: [(String, String)] = [
            ("managed_id", account.managedID.rawValue),
            ("name", "\(account.givenName) \(account.familyName)"),
            ("email", account.email ?? "-"),
            ("employee_number", account.employeeNumber ?? "-"),
            ("department", account.department ?? "-"),
            ("roles", roles(account)),
            ("source", account.source.rawValue + (account.externalID.map { " (\($0))" } ?? "")),
            ("state", account.state.rawValue + (account.isLocked ? ", locked" : "")),
        ]
        if let credential = account.credential {
            let expiry = credential.expiresAt.map { ", expires \(Timestamp.text($0))" } ?? ""
            rows.append(("password", credential.isTemporary ? "temporary\(expiry)" : "set"))
        }
        rows += [
            ("failed_logins", String(account.failedLoginCount)),
            ("version", String(account.version)),
            ("created_at", Timestamp.text(account.createdAt)),
            ("updated_at", Timestamp.text(account.updatedAt)),
            ("id", account.id),
        ]
        if let deactivated = account.deactivatedAt {
            rows.append(("deactivated_at", Timestamp.text(deactivated)))
        }
        return details(rows)
    }

    /// `name  value` lines with the names padded to one width.
    static func details(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(
            separator: "\n")
    }

    static func roles(_ account: Account) -> String {
        account.roles.sorted().map(\.rawValue).joined(separator: ",")
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                text +=
                    index == cells.count - 1
                    ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }
            return text
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// Progress of long work: redrawn in place on a terminal, a plain line per tenth when piped.
final class Progress: @unchecked Sendable {
    private let console: Console
    private let label: String
    private var lastTenth = -1

    init(console: Console, label: String) {
        self.console = console
        self.label = label
    }

    // Called from one task at a time (the import loop), so no lock is needed.
    func update(_ done: Int, _ total: Int) {
        guard total > 0 else { return }
        if console.interactive {
            console.errRaw("\r\(label) \(done)/\(total)" + (done == total ? "\n" : ""))
        } else {
            let tenth = done * 10 / total
            if tenth != lastTenth {
                lastTenth = tenth
                console.err("\(label) \(done)/\(total)")
            }
        }
    }
}
