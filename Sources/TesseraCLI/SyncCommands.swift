import TesseraAccounts
import TesseraCore
import TesseraServer
import TesseraStore

/// `tessera sync ldap`
enum SyncCommands {
    static let all: [Command] = [ldap]

    static let ldap = Command(
        spec: CommandSpec(
            path: ["sync", "ldap"], summary: "Bring the accounts of the LDAP directory up to date with it",
            options: [
                OptionSpec.flag("full", "read every entry and deactivate accounts gone from the directory"),
                OptionSpec.flag("dry-run", "print what would change, change nothing"),
                OptionSpec.flag(
                    "force", "apply even when more than 10% of the directory's accounts would be deactivated"),
                AccountCommands.jsonOption, AccountCommands.asOption,
            ],
            discussion:
                "Without --full only entries changed since the last run are read (the first run is always full); "
                + "group membership changes are seen by full runs. Accounts are created, updated, renamed, reactivated "
                + "and deactivated, never deleted; accounts of other sources are never touched; conflicts are reported."
        )
    ) { invocation in
        let runtime = try invocation.runtime()
        let options = DirectorySyncService.Options(
            full: invocation.arguments.has("full"), dryRun: invocation.arguments.has("dry-run"),
            force: invocation.arguments.has("force"))
        let reading = EntryCounter(console: invocation.console)
        let applying = Progress(console: invocation.console, label: "applying changes")
        let report = try await runtime.syncLDAP(
            options, by: try await invocation.actor(runtime), reading: { reading.update($0) },
            applying: { applying.update($0, $1) })
        reading.finish()
        if invocation.json {
            invocation.console.out(json(report))
        } else {
            invocation.console.out(text(report))
        }
        if report.outcome == .stoppedBySafetyLimit {
            let share = Int((report.plan.deactivationShare * 100).rounded())
            throw CLIFailure(
                status: ExitStatus.conflict,
                message:
                    "stopped: this run would deactivate \(report.plan.deactivations.count) of \(report.plan.activeBefore) directory accounts (\(share)%); nothing was changed (use --force if that is right)"
            )
        }
        return ExitStatus.ok
    }

    static func text(_ report: DirectorySyncService.Report) -> String {
        let plan = report.plan
        var lines: [String] = []
        for account in plan.creates { lines.append("create      \(account.managedID)") }
        for change in plan.updates {
            let rename =
                change.before.managedID == change.after.managedID ? "" : " (renamed from \(change.before.managedID))"
            let state = change.before.state == change.after.state ? "" : " (reactivated)"
            lines.append("update      \(change.after.managedID)\(rename)\(state)")
        }
        for change in plan.deactivations { lines.append("deactivate  \(change.after.managedID)") }
        for conflict in plan.conflicts { lines.append("conflict    \(conflict)") }
        for reason in report.unusable { lines.append("unusable    \(reason)") }
        for managedID in report.skipped {
            lines.append("skipped     \(managedID) (changed during the sync; the next run applies it)")
        }
        let kind = report.full ? "full" : "incremental"
        let counts =
            "\(plan.creates.count) created, \(plan.updates.count) updated, \(plan.deactivations.count) deactivated, "
            + "\(plan.conflicts.count) conflicts, \(report.unusable.count) unusable entries, \(plan.unchanged) unchanged"
        switch report.outcome {
        case .applied: lines.append("Synced (\(kind)): \(counts)")
        case .planned: lines.append("Dry run (\(kind)), nothing was changed; the run would have: \(counts)")
        case .stoppedBySafetyLimit:
            lines.append("Stopped (\(kind)), nothing was changed; the run would have: \(counts)")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ report: DirectorySyncService.Report) -> String {
        Output.json { json in
            let plan = report.plan
            json.beginObject()
            json.key("outcome"); json.string(report.outcome.rawValue)
            json.key("full"); json.bool(report.full)
            json.key("created"); json.beginArray(); for a in plan.creates { json.string(a.managedID.rawValue) };
            json.endArray()
            json.key("updated"); json.beginArray(); for c in plan.updates { json.string(c.after.managedID.rawValue) };
            json.endArray()
            json.key("deactivated"); json.beginArray();
            for c in plan.deactivations { json.string(c.after.managedID.rawValue) }; json.endArray()
            json.key("conflicts"); json.beginArray(); for c in plan.conflicts { json.string(c) }; json.endArray()
            json.key("unusable"); json.beginArray(); for u in report.unusable { json.string(u) }; json.endArray()
            json.key("unchanged"); json.int(plan.unchanged)
            json.endObject()
        }
    }
}

/// Entries read so far: redrawn in place on a terminal, a line per 5,000 when piped.
final class EntryCounter: @unchecked Sendable {
    // Updated from one task at a time (the directory read reports after each page).
    private let console: Console
    private var last = 0
    private var printed = 0

    init(console: Console) { self.console = console }

    func update(_ count: Int) {
        last = count
        if console.interactive {
            console.errRaw("\rreading the directory: \(count) entries")
        } else if count / 5000 > printed / 5000 {
            printed = count
            console.err("reading the directory: \(count) entries")
        }
    }

    func finish() {
        if console.interactive && last > 0 { console.errRaw("\n") }
    }
}
