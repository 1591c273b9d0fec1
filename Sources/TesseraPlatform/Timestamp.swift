#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// How Tessera writes instants for people and programs: ISO 8601 in UTC with milliseconds
/// (`2026-12-08T02:34:29.904Z`), the same in the CLI, the JSON of the HTTP APIs and the audit log.
public enum Timestamp {
    public static func text(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}
