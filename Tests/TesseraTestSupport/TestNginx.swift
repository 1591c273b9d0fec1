import Foundation

/// A real nginx (Debian's, with `auth_request`) configured by Fixtures/nginx/forward-auth.conf.template
/// in front of a stand-in MDM: a Python HTTP server that answers every request with the `X-Tessera-*`
/// headers it received, as JSON. Both listen on free loopback ports; `stop()` ends both.
public final class TestNginx: Sendable {
    public let port: Int
    public let mdmPort: Int
    let directory: String
    private let nginx: OwnedProcess
    private let mdm: OwnedProcess

    private init(port: Int, mdmPort: Int, directory: String, nginx: OwnedProcess, mdm: OwnedProcess) {
        self.port = port
        self.mdmPort = mdmPort
        self.directory = directory
        self.nginx = nginx
        self.mdm = mdm
    }

    /// nginx asking the Tessera at `tesseraPort` about every request under `/mdm/`.
    public static func start(repository: String, tesseraPort: Int) async throws -> TestNginx {
        let directory = NSTemporaryDirectory() + "tessera-nginx-\(UUID().uuidString)"
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true)
        }
        let script = """
            import http.server, json, sys
            class Echo(http.server.BaseHTTPRequestHandler):
                def answer(self):
                    length = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(length)
                    seen = {k: v for k, v in self.headers.items() if k.lower().startswith("x-tessera-")}
                    body = json.dumps({"path": self.path, "headers": seen}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                do_GET = do_PUT = do_POST = answer
                def log_message(self, *arguments): pass
            http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
            """
        try script.write(toFile: directory + "/mdm.py", atomically: true, encoding: .utf8)
        let template = try String(
            contentsOfFile: repository + "/Fixtures/nginx/forward-auth.conf.template", encoding: .utf8)
        for _ in 0..<3 {
            let (port, mdmPort) = (try freePort(), try freePort())
            let mdm = OwnedProcess()
            guard try await mdm.start("/usr/bin/python3", [directory + "/mdm.py", String(mdmPort)], ports: [mdmPort])
            else { continue }
            let configuration = template.replacingOccurrences(of: "@DIR@", with: directory)
                .replacingOccurrences(of: "@PORT@", with: String(port))
                .replacingOccurrences(of: "@TESSERA@", with: String(tesseraPort))
                .replacingOccurrences(of: "@MDM@", with: String(mdmPort))
            try configuration.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
            let nginx = OwnedProcess()
            if try await nginx.start(
                "/usr/sbin/nginx", ["-c", directory + "/nginx.conf", "-p", directory], ports: [port])
            {
                return TestNginx(port: port, mdmPort: mdmPort, directory: directory, nginx: nginx, mdm: mdm)
            }
            mdm.kill()
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw DirectoryTestFailure("nginx did not start listening on loopback")
    }

    public func stop() {
        nginx.kill()
        mdm.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
