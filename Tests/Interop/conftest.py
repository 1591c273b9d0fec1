"""Interoperability tests: the real `tessera serve`, driven by third-party OAuth clients.

`make test` runs this suite with the debug binary it just built (INTEROP_TESSERA_BIN). Each server
instance gets its own temporary configuration, SQLite file and key-encryption key, and listens on a
free loopback port that is also its issuer URL.

Test modules:
  test_client_credentials.py        client_credentials with every client authentication method
  test_jwt_bearer.py                RFC 7523 JWT bearer grant for a managed account
  test_introspection_revocation.py  RFC 7662 / RFC 7009
  test_metadata.py                  RFC 8414 metadata
  test_errors_curl.py               plain form posts with curl: RFC 6749 §5.2 errors, rate limiting
  test_key_rotation.py              signing-key rotation phases (its own server)
  test_browser.py                   the sign-in page in headless Chromium
  test_enrolment_browser.py         the apple-as-web enrolment sign-in in headless Chromium (its own server)
The authorization endpoint (authorization_code + PKCE through the sign-in page) is not covered here
yet: its test belongs in a module of its own (test_authorization_code.py) using the `server` fixture
and `Tessera.create_client(grants=["authorization_code"], redirect_uris=[...])`.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# Everything here talks to 127.0.0.1 only: never through a proxy from the environment.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
# The issuer is plain http on loopback: tell the OAuth libraries that this is intended.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("INTEROP_TESSERA_BIN") or REPO / ".build" / "debug" / "tessera")
AUDIENCE = "tessera"  # oauth.access_token_audience's default
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0
# A running server looks up clients in an in-memory registry (ClientRegistry): a client registered by
# the CLI is found at once (a miss asks the database); changes to an existing client reach it within
# 1 s (maximumAge).
CLIENT_CHANGE_DELAY = 1.0


def poll(condition, timeout, interval=0.1, message="condition"):
    """Calls `condition` until it returns something truthy, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.1f} s waiting for {message}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment():
    # Tessera treats every TESSERA_* variable as a configuration override (and unknown ones as errors).
    return {name: value for name, value in os.environ.items() if not name.startswith("TESSERA_")}


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(4)}"


class ECKeyPair:
    """An EC P-256 key pair for private_key_jwt and JWT bearer assertions."""

    def __init__(self, directory):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.private_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public_pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_pem_path = Path(directory) / f"{unique('key')}.pem"
        self.public_pem_path.write_bytes(public_pem)

    def sign(self, claims, headers=None):
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers=headers)


class Tessera:
    """One `tessera serve` process and the CLI pointed at the same configuration."""

    def __init__(self, directory, sections=None, **oauth):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.oauth = oauth
        # More top-level configuration sections (e.g. "enrolment"); "{issuer}" in a string value is
        # replaced by the server's issuer URL.
        self.sections = sections or {}
        self.process = None
        self.binary = None
        self.port = None
        self.issuer = None
        self.config_path = self.directory / "tessera.json"
        self.log_path = self.directory / "server.log"

    # -- lifecycle --

    def write_config(self, port):
        oauth = {
            "issuer": f"http://127.0.0.1:{port}",
            "key_encryption_key_file": str(self.directory / "kek"),
        }
        oauth.update(self.oauth)
        config = {
            "server": {"host": "127.0.0.1", "port": port, "shutdown_grace_seconds": 2},
            "store": {"sqlite": {"path": str(self.directory / "tessera.sqlite3")}},
            "passwords": {"scrypt_log_n": 10},
            "oauth": oauth,
            "log": {"level": "info"},
        }
        issuer = f"http://127.0.0.1:{port}"
        for name, section in self.sections.items():
            config[name] = json.loads(json.dumps(section).replace("{issuer}", issuer))
        self.config_path.write_text(json.dumps(config, indent=2))

    def start(self, binary):
        self.binary = binary
        for attempt in range(3):
            if self.start_on(binary, free_port()):
                return self
        pytest.fail(f"tessera did not start; log:\n{self.log_path.read_text()[-4000:]}")

    def start_on(self, binary, port):
        """Starts on `port` (the issuer's); false when the port was taken meanwhile."""
        self.binary = binary
        self.write_config(port)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(binary), "serve", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=clean_environment(), cwd=self.directory,
            )
        listening = self._wait_listening()
        if listening == port:
            self.port = port
            self.issuer = f"http://127.0.0.1:{port}"
            try:
                poll(self._ready, START_TIMEOUT, message="/readyz")
            except BaseException:
                self.stop()
                raise
            return True
        self.stop()
        if listening is not None:
            pytest.fail(f"tessera listens on {listening}, not the configured port {port}")
        # The port was taken between choosing and binding it.
        return False

    def _wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.log_path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "listening":
                    return int(entry["port"])
            if self.process.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def _ready(self):
        try:
            return requests.get(self.url("/readyz"), timeout=HTTP_TIMEOUT).status_code == 200
        except requests.ConnectionError:
            return False

    def died(self):
        """The exit status and log tail of a server that stopped by itself, else None."""
        if self.process is None or self.process.poll() is None:
            return None
        return f"tessera serve ({self.directory.name}) exited {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}"

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    # -- HTTP --

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def token_endpoint(self):
        return self.url("/oauth2/token")

    def jwks(self):
        response = requests.get(self.url("/oauth2/jwks"), timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()

    def jwks_kids(self):
        return {key["kid"] for key in self.jwks()["keys"]}

    def validate(self, token, *, client_id, scope=None, roles=None, leeway=0, verify_exp=True):
        """Validates an access token as a resource server would: PyJWT against the JWKS endpoint."""
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "at+jwt", header
        assert header["alg"] == "ES256", header
        jwks = jwt.PyJWKClient(self.url("/oauth2/jwks"), cache_jwk_set=False, cache_keys=False, timeout=HTTP_TIMEOUT)
        signing_key = jwks.get_signing_key_from_jwt(token)
        assert signing_key.key_id == header["kid"]
        claims = jwt.decode(
            token, signing_key, algorithms=["ES256"], audience=AUDIENCE, issuer=self.issuer, leeway=leeway,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"], "verify_exp": verify_exp},
        )
        assert claims["client_id"] == client_id
        assert claims["iat"] <= time.time() + 5
        if scope is not None:
            assert claims.get("scope") == scope
        if roles is not None:
            assert claims.get("roles") == roles
        return claims

    # -- CLI --

    def cli(self, command, *arguments, expect=0):
        """Runs `tessera COMMAND --config … ARGUMENTS`; returns the completed process."""
        result = subprocess.run(
            [str(self.binary), *command.split(), "--config", str(self.config_path), *arguments],
            capture_output=True, text=True, timeout=CLI_TIMEOUT, env=clean_environment(), cwd=self.directory,
            stdin=subprocess.DEVNULL,
        )
        if expect is not None:
            assert result.returncode == expect, (
                f"tessera {command} {' '.join(arguments)} exited {result.returncode}, expected {expect}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def cli_json(self, command, *arguments):
        return json.loads(self.cli(command, *arguments, "--json").stdout)

    def create_client(self, *, grants, name=None, scopes=(), public_key=None, role=None, public=False, redirect_uris=()):
        arguments = ["--name", name or unique("client")]
        arguments += [item for grant in grants for item in ("--grant", grant)]
        arguments += [item for scope in scopes for item in ("--scope", scope)]
        arguments += [item for uri in redirect_uris for item in ("--redirect-uri", uri)]
        if public_key is not None:
            arguments += ["--public-key", str(public_key.public_pem_path)]
        if role is not None:
            arguments += ["--role", role]
        if public:
            arguments.append("--public")
        return self.cli_json("clients create", *arguments)

    def create_account(self, managed_id=None, given_name="Jane", family_name="Doe"):
        managed_id = managed_id or f"{unique('jane')}@appleid.example.com"
        return self.cli_json(
            "accounts create", "--managed-id", managed_id, "--given-name", given_name, "--family-name", family_name
        )

    def keys(self):
        return self.cli_json("keys list")


SERVERS = []


@pytest.fixture(scope="session")
def binary(tmp_path_factory):
    """A private copy of the binary, so a rebuild during the run cannot change the servers under test."""
    assert BINARY.is_file(), f"no tessera binary at {BINARY} (build it, or set INTEROP_TESSERA_BIN)"
    copy = tmp_path_factory.mktemp("bin") / "tessera"
    shutil.copy2(BINARY, copy)
    return copy


@pytest.fixture(scope="session")
def start_server(tmp_path_factory, binary):
    """Starts servers with extra `oauth` settings; every one is stopped at the end of the session."""

    def start(name, **oauth):
        server = Tessera(tmp_path_factory.mktemp(name), **oauth).start(binary)
        SERVERS.append(server)
        return server

    yield start
    for server in SERVERS:
        server.stop()


@pytest.fixture(autouse=True)
def servers_stay_up():
    """A server that exits during a test (a crash) fails that test, with its log."""
    yield
    deaths = [message for message in (server.died() for server in SERVERS) if message]
    SERVERS[:] = [server for server in SERVERS if not server.died()]
    if deaths:
        pytest.fail("\n\n".join(deaths))


@pytest.fixture(scope="session")
def server(start_server):
    # Client secrets count as password-bearing requests; the shared server allows plenty of them.
    return start_server("main", password_attempts_per_minute=100000)


@pytest.fixture(scope="session")
def keypair(tmp_path_factory):
    return ECKeyPair(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def make_keypair(tmp_path):
    return lambda: ECKeyPair(tmp_path)


def pytest_configure(config):
    config.addinivalue_line("markers", "run_last: run after every other test of the session")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Modules that set RUN_FIRST run first, `run_last` tests last: the key-rotation test waits for a
    token to expire, and the rest of the suite runs meanwhile."""

    def rank(item):
        if item.get_closest_marker("run_last"):
            return 2
        return 0 if getattr(item.module, "RUN_FIRST", False) else 1

    items.sort(key=rank)
