import Dispatch
import Foundation
import Synchronization
import TesseraAccounts
import TesseraCore
import TesseraEnrolment
public import TesseraHTTP
import TesseraOAuth
import TesseraPlatform
import TesseraStore

/// One `tessera serve` node: the HTTP server over the runtime's services, with signal handling (SIGTERM/SIGINT
/// drain and stop, SIGHUP reloads the TLS certificate) and the scheduled retention purge.
public final class TesseraNode: Sendable {
    public let runtime: TesseraRuntime
    public let http: HTTPServer
    public let metrics: HTTPMetrics
    let syncMetrics = DirectorySyncMetrics()
    private let shuttingDown = Atomic(false)

    /// How often deactivated local accounts past retention are deleted.
    static let purgeInterval: Duration = .seconds(3600)

    public init(runtime: TesseraRuntime) {
        self.runtime = runtime
        let metrics = HTTPMetrics()
        self.metrics = metrics
        let syncMetrics = syncMetrics
        let logger = runtime.logger
        http = HTTPServer(
            configuration: Self.httpConfiguration(runtime.configuration.server),
            router: Routes.router(runtime: runtime, metrics: metrics, syncMetrics: syncMetrics), metrics: metrics,
            accessLog: { entry in
                // One JSON line per request; never headers or bodies, which can carry secrets.
                guard logger.isEnabled(.info) else { return }
                logger.info(
                    "request",
                    [
                        "request_id": .string(entry.requestID), "method": .string(entry.method),
                        "path": .string(entry.path),
                        "route": .string(entry.route), "status": .int(entry.status),
                        "duration_ms": .double(
                            Double(entry.duration.components.attoseconds) / 1e15 + Double(
                                entry.duration.components.seconds) * 1000),
                        "bytes_in": .int(entry.bytesIn), "bytes_out": .int(entry.bytesOut),
                        "remote": .string(entry.remoteAddress),
                    ])
            })
    }

    static func httpConfiguration(_ server: TesseraConfiguration.Server) -> HTTPServerConfiguration {
        var configuration = HTTPServerConfiguration()
        configuration.host = server.host
        configuration.port = server.port
        configuration.eventLoopThreads =
            server.eventLoopThreads == 0
            ? max(1, ProcessInfo.processInfo.activeProcessorCount) : server.eventLoopThreads
        configuration.maxConnections = server.maxConnections
        configuration.maxRequestLineBytes = server.maxRequestLineBytes
        configuration.maxHeaderBytes = server.maxHeaderBytes
        configuration.maxHeaderCount = server.maxHeaderCount
        configuration.maxBodyBytes = server.maxBodyBytes
        configuration.headerReadTimeout = server.headerTimeout
        configuration.bodyReadTimeout = server.bodyTimeout
        configuration.idleTimeout = server.idleTimeout
        configuration.shutdownGracePeriod = server.shutdownGrace
        configuration.trustedTLSProxy = server.trustedTLSProxy
        if let certificate = server.tlsCertificateFile, let key = server.tlsPrivateKeyFile {
            configuration.tls = TLSConfiguration(certificateChainPath: certificate, privateKeyPath: key)
        }
        return configuration
    }

    /// Binds the listening socket; returns the port (useful with port 0).
    public func start() throws -> Int {
        let port = try http.start()
        let server = runtime.configuration.server
        runtime.logger.notice(
            "listening",
            [
                "host": .string(server.host), "port": .int(port), "tls": .bool(server.tlsCertificateFile != nil),
                "store": .string(runtime.configuration.sqlite.path),
            ])
        return port
    }

    /// Serves until SIGTERM or SIGINT (or `shutdown()`), then drains in-flight requests and returns.
    public func run(handleSignals: Bool = true) async {
        let signals = handleSignals ? installSignalHandlers() : []
        await announceFirstAdministratorIfNeeded()
        do {
            try await runtime.keys.ensureSigningKey()
        } catch {
            runtime.logger.error(
                "no token signing key: token requests will fail", ["error": .string(String(describing: error))])
        }
        let purge = Task { [runtime] in
            while !Task.isCancelled {
                do {
                    let purged = try await runtime.accounts.purgeExpiredDeactivated()
                    if !purged.isEmpty {
                        runtime.logger.notice(
                            "retention purge deleted deactivated accounts", ["count": .int(purged.count)])
                    }
                } catch {
                    runtime.logger.error("retention purge failed", ["error": .string(String(describing: error))])
                }
                do {
                    let removed = try await runtime.store.write { try $0.purgeExpiredTokens(before: Date()) }
                    if removed > 0 { runtime.logger.info("expired tokens removed", ["count": .int(removed)]) }
                } catch {
                    runtime.logger.error("token purge failed", ["error": .string(String(describing: error))])
                }
                try? await Task.sleep(for: Self.purgeInterval)
            }
        }
        let syncs = Task { [runtime, syncMetrics] in
            guard runtime.directory != nil, let ldap = runtime.configuration.ldap, let interval = ldap.syncInterval
            else {
                return
            }
            await runtime.runDirectorySyncs(
                interval: interval, fullInterval: ldap.fullSyncInterval, metrics: syncMetrics)
        }
        await http.run()
        syncs.cancel()
        purge.cancel()
        for source in signals { source.cancel() }
        runtime.logger.notice("stopped")
    }

    public func shutdown() {
        guard !shuttingDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        runtime.logger.notice("shutting down: finishing in-flight requests")
        http.beginShutdown()
    }

    private func installSignalHandlers() -> [any DispatchSourceSignal] {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in shutdown() }
            source.resume()
            sources.append(source)
        }
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { [self] in
            guard runtime.configuration.server.tlsCertificateFile != nil else {
                runtime.logger.notice("SIGHUP: no TLS configured, nothing to reload")
                return
            }
            do {
                try http.reloadTLS()
                runtime.logger.notice("SIGHUP: TLS certificate and key reloaded")
            } catch {
                runtime.logger.error(
                    "SIGHUP: TLS reload failed; keeping the previous certificate",
                    ["error": .string(String(describing: error))])
            }
        }
        hangup.resume()
        sources.append(hangup)
        return sources
    }

    private func announceFirstAdministratorIfNeeded() async {
        let administrators = try? await runtime.store.read {
            try $0.accounts(matching: AccountQuery(role: .administrator, limit: 1))
        }
        if administrators?.isEmpty == true {
            let domain = runtime.configuration.accountPolicy.managedDomains.names.first ?? "appleid.example.com"
            runtime.logger.notice(
                "no administrator yet: create one with `tessera accounts create --managed-id admin@\(domain) --given-name Ada --family-name Admin --role administrator`"
            )
        }
    }
}

/// The routes of this release: health, readiness and metrics.
enum Routes {
    static func router(runtime: TesseraRuntime, metrics: HTTPMetrics, syncMetrics: DirectorySyncMetrics) -> Router {
        var router = Router()
        router.add("GET", "/healthz", name: "healthz") { _ in
            .json(200, Array(#"{"status":"ok"}"#.utf8))
        }
        router.add("GET", "/readyz", name: "readyz") { request in
            do {
                try await runtime.store.checkReachable()
                return .json(200, Array(#"{"status":"ready"}"#.utf8))
            } catch {
                runtime.logger.warning(
                    "readiness check failed",
                    ["request_id": .string(request.requestID), "error": .string(String(describing: error))])
                var response = HTTPResponse.json(
                    503, Array(#"{"status":"unavailable","reason":"store unreachable"}"#.utf8))
                response.headers.set("Retry-After", "5")
                return response
            }
        }
        OAuthEndpoints(
            tokens: runtime.tokens, inspection: runtime.inspection, keys: runtime.keys,
            issuer: runtime.configuration.oauth.issuer
        )
        .register(in: &router)
        AuthorizeEndpoint(service: runtime.authorization, issuer: runtime.configuration.oauth.issuer).register(
            in: &router)
        DeviceEndpoints(devices: runtime.devices) { [inspection = runtime.inspection] authorization in
            try await inspection.bearer(authorization)
        }
        .register(in: &router)
        if let managedAccountToken = runtime.managedAccountToken {
            ManagedAccountTokenEndpoint(service: managedAccountToken) {
                [inspection = runtime.inspection] authorization in
                try await inspection.bearerClient(authorization, scope: ManagedAccountTokenEndpoint.scope)
            }
            .register(in: &router)
        }
        if let discovery = runtime.discovery, let enrolment = runtime.enrolment,
            let base = runtime.configuration.discovery.flatMap({ URL(string: $0.baseURL) })
        {
            EnrolmentEndpoints(
                discovery: discovery, enrolment: enrolment, basePath: base.path, webLogin: runtime.webLogin,
                automated: runtime.automatedEnrolment
            )
            .register(in: &router)
            ForwardAuthEndpoint(enrolment: enrolment, devices: runtime.devices).register(in: &router)
        }
        router.add("GET", "/metrics", name: "metrics") { _ in
            var directory = ""
            if runtime.directory != nil {
                // A store that cannot answer leaves the last run out, not the whole scrape.
                let state = try? await runtime.store.read { try $0.directorySyncState(source: .ldap) }
                directory = syncMetrics.render(last: state ?? nil)
            }
            var response = HTTPResponse(status: 200, body: Array((metrics.render() + directory).utf8))
            response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            return response
        }
        return router
    }
}
