import Foundation
import Testing

/// `tessera serve` as a real process: started, spoken to over sockets, signalled, stopped.
@Suite(.serialized) struct ServeTests {
    @Test func servesHealthReadinessAndMetricsThenStopsOnSIGTERM() async throws {
        let scratch = try Scratch()
        let server = try await ServeProcess(config: scratch.config)
        let base = "http://127.0.0.1:\(server.port)"
        let health = try await curl(base + "/healthz?probe=1", ["-H", "X-Request-ID: it-health-1"])
        #expect(health.status == 200 && health.body == #"{"status":"ok"}"#)
        let ready = try await curl(base + "/readyz")
        #expect(ready.status == 200 && ready.body == #"{"status":"ready"}"#)
        #expect(try await curl(base + "/nothing-here").status == 404)
        #expect(try await curl(base + "/healthz", ["-X", "POST"]).status == 405)
        let metrics = try await curl(base + "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"tessera_http_requests_total{route="healthz",status="200"} 1"#))
        #expect(metrics.body.contains(#"tessera_http_requests_total{route="unmatched",status="404"} 1"#))
        #expect(metrics.body.contains("tessera_http_request_duration_seconds_bucket"))
        #expect(metrics.body.contains("tessera_http_open_connections"))

        // One JSON line per request, with the request id, and without the query string.
        let requestLine = try #require(
            server.entries.first { $0["msg"] as? String == "request" && $0["request_id"] as? String == "it-health-1" })
        #expect(requestLine["path"] as? String == "/healthz")
        #expect(requestLine["route"] as? String == "healthz")
        #expect(requestLine["status"] as? Int == 200)
        #expect(server.lines.contains { $0.contains("no administrator yet") })

        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        #expect(server.lines.contains { $0.contains("\"msg\":\"stopped\"") })
    }

    @Test func theCLIWorksOnTheServersDatabaseWhileItServes() async throws {
        let scratch = try Scratch()
        let server = try await ServeProcess(config: scratch.config)
        try await withThrowingTaskGroup(of: Finished.self) { group in
            for index in 0..<6 {
                group.addTask {
                    try await runCommand(
                        tesseraBinary,
                        [
                            "accounts", "create", "--config", scratch.config, "--managed-id",
                            "user\(index)@appleid.example.com",
                            "--given-name", "User", "--family-name", "\(index)", "--json",
                        ])
                }
            }
            for try await result in group {
                #expect(result.status == 0, "\(result.err)")
            }
        }
        let verify = try await runCommand(tesseraBinary, ["audit", "verify", "--config", scratch.config])
        #expect(verify.status == 0 && verify.out.contains("Audit chain intact"))
        let list = try await runCommand(tesseraBinary, ["audit", "list", "--json", "--config", scratch.config])
        let entries = try JSONSerialization.jsonObject(with: Data(list.out.utf8)) as? [[String: Any]]
        #expect(entries?.filter { $0["action"] as? String == "account.create" }.count == 6)
        #expect(try await curl("http://127.0.0.1:\(server.port)/readyz").status == 200)
        server.signal(SIGINT)
        #expect(try await server.waitForExit() == 0)
    }

    @Test func badConfigurationStopsStartUpNamingTheKey() async throws {
        let scratch = try Scratch(#""serverx": { "port": 1 }"#)
        let result = try await runCommand(tesseraBinary, ["serve", "--config", scratch.config], timeout: .seconds(30))
        #expect(result.status == 65)
        #expect(result.err == "tessera: configuration key serverx: unknown key\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/var/tessera.sqlite3"))
    }

    @Test func plainHTTPOffLoopbackIsRefusedUnlessAProxyIsTrusted() async throws {
        let refused = try Scratch()
        try refused.write(
            "tessera.json",
            """
            { "server": { "host": "0.0.0.0", "port": 0 }, "store": { "sqlite": { "path": "\(refused.path)/var/tessera.sqlite3" } }, "oauth": { "key_encryption_key_file": "\(refused.path)/var/kek" } }
            """)
        let result = try await runCommand(tesseraBinary, ["serve", "--config", refused.config], timeout: .seconds(30))
        #expect(result.status == 65)
        #expect(
            result.err.contains("configuration key server.host: plain HTTP is refused on non-loopback address 0.0.0.0"))

        let proxied = try await ServeProcess(
            config: refused.config, environment: ["TESSERA_SERVER_TRUSTED_TLS_PROXY": "true"])
        #expect(try await curl("http://127.0.0.1:\(proxied.port)/healthz").status == 200)
        proxied.signal(SIGTERM)
        #expect(try await proxied.waitForExit() == 0)
    }
}

@Suite(.serialized) struct ServeTLSTests {
    /// A self-signed P-256 certificate for localhost, made by the openssl CLI.
    func makeCertificate(in scratch: Scratch, name: String) async throws -> (cert: String, key: String) {
        let cert = scratch.path + "/\(name).pem"
        let key = scratch.path + "/\(name).key"
        let result = try await runCommand(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key,
                "-out", cert,
            ])
        #expect(result.status == 0, "\(result.err)")
        return (cert, key)
    }

    @Test func servesTLSAndReloadsTheCertificateOnSIGHUP() async throws {
        let scratch = try Scratch()
        let first = try await makeCertificate(in: scratch, name: "first")
        let second = try await makeCertificate(in: scratch, name: "second")
        let live = (cert: scratch.path + "/live.pem", key: scratch.path + "/live.key")
        try FileManager.default.copyItem(atPath: first.cert, toPath: live.cert)
        try FileManager.default.copyItem(atPath: first.key, toPath: live.key)
        try scratch.write(
            "tessera.json",
            """
            { "server": { "port": 0, "tls": { "certificate_file": "\(live.cert)", "private_key_file": "\(live.key)" } },
              "store": { "sqlite": { "path": "\(scratch.path)/var/tessera.sqlite3" } }, "oauth": { "key_encryption_key_file": "\(scratch.path)/var/kek" } }
            """)
        let server = try await ServeProcess(config: scratch.config)
        let url = "https://localhost:\(server.port)/healthz"
        #expect(try await curl(url, ["--cacert", first.cert]).status == 200)
        // TLS 1.1 is refused.
        let old = try await runCommand(
            "/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", first.cert, "--tlsv1.1", "--tls-max", "1.1", url])
        #expect(old.status != 0)
        // Plain HTTP on the TLS port gets no HTTP answer.
        let plain = try await runCommand(
            "/usr/bin/curl",
            [
                "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:\(server.port)/healthz",
            ])
        #expect(plain.out != "200")

        try FileManager.default.removeItem(atPath: live.cert)
        try FileManager.default.removeItem(atPath: live.key)
        try FileManager.default.copyItem(atPath: second.cert, toPath: live.cert)
        try FileManager.default.copyItem(atPath: second.key, toPath: live.key)
        server.signal(SIGHUP)
        let reloaded = try await ServeProcess.waitFor(timeout: .seconds(10)) {
            server.lines.contains { $0.contains("TLS certificate and key reloaded") } ? true : nil
        }
        #expect(reloaded == true)
        #expect(try await curl(url, ["--cacert", second.cert]).status == 200)
        let stale = try await runCommand("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", first.cert, url])
        #expect(stale.status != 0, "the old certificate must no longer be served")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }
}
