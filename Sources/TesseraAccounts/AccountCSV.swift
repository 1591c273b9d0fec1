/// Reads accounts from CSV (RFC 4180) with a header row naming the fields:
/// `managed_id,given_name,family_name,email,employee_number,department,roles,source`.
/// `managed_id`, `given_name` and `family_name` are required columns; `roles` holds role names separated
/// by `;` (or spaces). Every bad row is reported by its line number; nothing is half-read.
public enum AccountCSV {
    public static let columns = [
        "managed_id", "given_name", "family_name", "email", "employee_number", "department", "roles", "source",
    ]
    public static let requiredColumns = ["managed_id", "given_name", "family_name"]
    /// Refuse absurd files before parsing them.
    public static let maximumRows = 100_000

    /// - Throws: `ImportError` listing every bad row (line 1 for header problems).
    public static func parse(_ text: String) throws -> [(line: Int, account: NewAccount)] {
        var records = try records(in: text)
        guard !records.isEmpty else {
            throw ImportError(rows: [ImportRowError(line: 1, message: "the file is empty: expected a header row")])
        }
        let header = records.removeFirst()
        let names = header.fields.map { $0.trimmed.lowercased() }
        var headerErrors: [ImportRowError] = []
        for name in names where !columns.contains(name) {
            headerErrors.append(
                ImportRowError(
                    line: header.line, message: "unknown column '\(name)' (columns: \(columns.joined(separator: ", ")))"
                ))
        }
        for name in requiredColumns where !names.contains(name) {
            headerErrors.append(ImportRowError(line: header.line, message: "missing required column '\(name)'"))
        }
        var seen: Set<String> = []
        for name in names where !seen.insert(name).inserted {
            headerErrors.append(ImportRowError(line: header.line, message: "column '\(name)' appears twice"))
        }
        guard headerErrors.isEmpty else { throw ImportError(rows: headerErrors) }
        guard records.count <= maximumRows else {
            throw ImportError(rows: [
                ImportRowError(line: header.line, message: "more than \(maximumRows) rows: split the file")
            ])
        }

        var rows: [(line: Int, account: NewAccount)] = []
        var errors: [ImportRowError] = []
        for record in records {
            if record.fields.count == 1 && record.fields[0].trimmed.isEmpty { continue }  // blank line
            guard record.fields.count == names.count else {
                errors.append(
                    ImportRowError(
                        line: record.line, message: "has \(record.fields.count) fields, the header has \(names.count)"))
                continue
            }
            var value: [String: String] = [:]
            for (name, field) in zip(names, record.fields) { value[name] = field.trimmed }
            let optional = { (name: String) -> String? in
                guard let text = value[name], !text.isEmpty else { return nil }
                return text
            }
            let roles = (value["roles"] ?? "").split(whereSeparator: { $0 == ";" || $0 == " " }).map(String.init)
            rows.append(
                (
                    record.line,
                    NewAccount(
                        managedID: value["managed_id"] ?? "", givenName: value["given_name"] ?? "",
                        familyName: value["family_name"] ?? "",
                        email: optional("email"), employeeNumber: optional("employee_number"),
                        department: optional("department"),
                        roles: roles, source: optional("source") ?? "local")
                ))
        }
        guard errors.isEmpty else { throw ImportError(rows: errors) }
        return rows
    }

    struct Record {
        var line: Int
        var fields: [String]
    }

    /// Splits RFC 4180 text into records, each with the line it starts on. Accepts LF and CRLF, strips
    /// a UTF-8 byte-order mark, and keeps quoted commas, quotes ("") and line breaks.
    static func records(in text: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var fieldWasQuoted = false
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var index = 0
        func endRecord() {
            fields.append(field)
            records.append(Record(line: recordLine, fields: fields))
            fields = []
            field = ""
            fieldWasQuoted = false
        }
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            if inQuotes {
                if scalar == "\"" {
                    if index < scalars.count && scalars[index] == "\"" {
                        field.unicodeScalars.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                guard field.isEmpty && !fieldWasQuoted else {
                    throw ImportError(rows: [
                        ImportRowError(
                            line: line,
                            message: "a quote inside an unquoted field: quote the whole field and double inner quotes")
                    ])
                }
                inQuotes = true
                fieldWasQuoted = true
            case ",":
                fields.append(field)
                field = ""
                fieldWasQuoted = false
            case "\r":
                if index < scalars.count && scalars[index] == "\n" { continue }
                throw ImportError(rows: [ImportRowError(line: line, message: "a carriage return without a line feed")])
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            default:
                if fieldWasQuoted {
                    throw ImportError(rows: [ImportRowError(line: line, message: "text after a closing quote")])
                }
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes {
            throw ImportError(rows: [ImportRowError(line: recordLine, message: "a quoted field is never closed")])
        }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { endRecord() }
        return records
    }
}

extension String {
    var trimmed: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
