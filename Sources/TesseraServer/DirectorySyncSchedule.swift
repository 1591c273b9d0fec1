import Foundation
import Synchronization
import TesseraAccounts
import TesseraCore
import TesseraPlatform
import TesseraStore

/// Counters of the server's own directory syncs, appended to `/metrics`.
final class DirectorySyncMetrics: Sendable {
    private struct State {
        var runs: [String: UInt64] = [:]
        var changes: [String: UInt64] = [:]
        var lastSuccess: Date?
    }

    private let state = Mutex(State())

    func record(_ report: DirectorySyncService.Report, at time: Date) {
        state.withLock { state in
            state.runs[report.outcome.rawValue, default: 0] += 1
            guard report.outcome == .applied else { return }
            state.changes["created", default: 0] += UInt64(report.plan.creates.count)
            state.changes["updated", default: 0] += UInt64(report.plan.updates.count)
            state.changes["deactivated", default: 0] += UInt64(report.plan.deactivations.count)
            state.changes["conflicts", default: 0] += UInt64(report.plan.conflicts.count)
            state.lastSuccess = time
        }
    }

    func recordFailure() { state.withLock { $0.runs["failed", default: 0] += 1 } }

    /// Prometheus text format 0.0.4: the server's own runs, and the last run whoever ran it (`stored`).
    func render(last stored: DirectorySyncState?) -> String {
        let snapshot = state.withLock { $0 }
        var out = "# HELP tessera_directory_sync_runs_total Scheduled directory syncs, by outcome.\n"
        out += "# TYPE tessera_directory_sync_runs_total counter\n"
        for outcome in ["applied", "stopped", "failed"] {
            out += "tessera_directory_sync_runs_total{outcome=\"\(outcome)\"} \(snapshot.runs[outcome] ?? 0)\n"
        }
        out += "# HELP tessera_directory_sync_changes_total Account changes made by scheduled directory syncs.\n"
        out += "# TYPE tessera_directory_sync_changes_total counter\n"
        for kind in ["created", "updated", "deactivated", "conflicts"] {
            out += "tessera_directory_sync_changes_total{kind=\"\(kind)\"} \(snapshot.changes[kind] ?? 0)\n"
        }
        out +=
            "# HELP tessera_directory_sync_last_success_seconds When the last scheduled sync was applied (Unix time).\n"
        out += "# TYPE tessera_directory_sync_last_success_seconds gauge\n"
        out += "tessera_directory_sync_last_success_seconds \(Int(snapshot.lastSuccess?.timeIntervalSince1970 ?? 0))\n"
        // The last run, the server's or tessera sync ldap's (another process), from the store.
        let run = stored?.lastRun
        out += "# HELP tessera_directory_sync_last_run_seconds When the last directory sync, scheduled or not, ran "
        out += "(Unix time; 0: never).\n"
        out += "# TYPE tessera_directory_sync_last_run_seconds gauge\n"
        out += "tessera_directory_sync_last_run_seconds \(Int(stored?.lastRunAt?.timeIntervalSince1970 ?? 0))\n"
        out += "# HELP tessera_directory_sync_last_full_run_seconds When the last full directory sync was applied "
        out += "(Unix time; 0: never).\n"
        out += "# TYPE tessera_directory_sync_last_full_run_seconds gauge\n"
        out += "tessera_directory_sync_last_full_run_seconds \(Int(stored?.lastFullAt?.timeIntervalSince1970 ?? 0))\n"
        out +=
            "# HELP tessera_directory_sync_last_run_stopped 1 when the safety limit stopped the last directory sync.\n"
        out += "# TYPE tessera_directory_sync_last_run_stopped gauge\n"
        out += "tessera_directory_sync_last_run_stopped \(run?.stopped == true ? 1 : 0)\n"
        out += "# HELP tessera_directory_sync_last_run_accounts What the last directory sync did (stopped: would "
        out += "have done) to accounts, by kind.\n"
        out += "# TYPE tessera_directory_sync_last_run_accounts gauge\n"
        let counts = [
            ("created", run?.created), ("updated", run?.updated), ("deactivated", run?.deactivated),
            ("conflicts", run?.conflicts), ("unchanged", run?.unchanged),
        ]
        for (kind, count) in counts {
            out += "tessera_directory_sync_last_run_accounts{kind=\"\(kind)\"} \(count ?? 0)\n"
        }
        return out
    }
}

extension TesseraRuntime {
    /// The server's directory sync loop: a sync at start and then every `interval`, full when the last
    /// full run is older than `fullInterval`. Runs as `system:directory-sync`; the safety limit applies
    /// (a stopped run is logged as a warning for an administrator to look at).
    func runDirectorySyncs(interval: Duration, fullInterval: Duration, metrics: DirectorySyncMetrics) async {
        while !Task.isCancelled {
            do {
                let state = try await store.read { try $0.directorySyncState(source: .ldap) }
                let full =
                    state?.lastFullAt.map { Date().timeIntervalSince($0) >= Double(fullInterval.components.seconds) }
                    ?? true
                let report = try await syncLDAP(
                    DirectorySyncService.Options(full: full), by: .system(job: "directory-sync"))
                metrics.record(report, at: Date())
                let fields: [String: LogValue] = [
                    "full": .bool(report.full), "created": .int(report.plan.creates.count),
                    "updated": .int(report.plan.updates.count), "deactivated": .int(report.plan.deactivations.count),
                    "conflicts": .int(report.plan.conflicts.count), "unusable": .int(report.unusable.count),
                ]
                if report.outcome == .stoppedBySafetyLimit {
                    logger.warning(
                        "directory sync stopped by the safety limit: run tessera sync ldap --full --dry-run to review",
                        fields)
                } else {
                    logger.notice("directory sync", fields)
                }
            } catch {
                metrics.recordFailure()
                logger.error("directory sync failed", ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
