"""Plain form posts with curl: RFC 6749 §5.1/§5.2 answers, the password grant's refusals, and the
password-attempt limit (429 with Retry-After)."""

import json
import shutil
import subprocess
import time

import pytest

CURL = shutil.which("curl")


def curl(url, *arguments):
    """Runs curl; returns (status, headers with lower-case names, parsed JSON body or raw text)."""
    assert CURL, "curl is not installed (make test-deps installs it)"
    result = subprocess.run(
        [CURL, "-sS", "--noproxy", "*", "--max-time", "10", "-D", "-", *arguments, url],
        capture_output=True, text=True, timeout=20,
    )
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        body = json.loads(body)
    except ValueError:
        pass
    return status, headers, body


@pytest.fixture(scope="module")
def client(server):
    return server.create_client(grants=["client_credentials"], scopes=["read"])


@pytest.fixture(scope="module")
def password_client(server):
    return server.create_client(grants=["password", "refresh_token"], scopes=["profile"])


def basic(client):
    return ["-u", f"{client['client_id']}:{client['client_secret']}"]


def expect_error(answer, status, error):
    code, headers, body = answer
    assert (code, body.get("error") if isinstance(body, dict) else body) == (status, error)
    assert isinstance(body.get("error_description"), str)
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"].startswith("application/json")
    return headers


def test_success_is_not_cacheable(server, client):
    status, headers, body = curl(server.token_endpoint, *basic(client), "-d", "grant_type=client_credentials")
    assert status == 200, body
    assert headers["cache-control"] == "no-store"
    assert headers["pragma"] == "no-cache"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["scope"] == "read"
    server.validate(body["access_token"], client_id=client["client_id"], scope="read")


def test_missing_grant_type(server, client):
    expect_error(curl(server.token_endpoint, *basic(client), "-d", "scope=read"), 400, "invalid_request")


def test_unsupported_grant_types(server, client):
    for grant in ["urn:example:unknown", "implicit", "jwt-bearer"]:
        expect_error(
            curl(server.token_endpoint, *basic(client), "--data-urlencode", f"grant_type={grant}"), 400, "unsupported_grant_type"
        )


def test_repeated_parameter(server, client):
    for body in ["grant_type=client_credentials&grant_type=client_credentials", "grant_type=client_credentials&scope=read&scope=read"]:
        expect_error(curl(server.token_endpoint, *basic(client), "-d", body), 400, "invalid_request")


def test_wrong_content_type(server, client):
    expect_error(
        curl(server.token_endpoint, *basic(client), "-H", "Content-Type: application/json", "-d", '{"grant_type":"client_credentials"}'),
        400, "invalid_request",
    )
    expect_error(
        curl(server.token_endpoint, *basic(client), "-H", "Content-Type: text/plain", "-d", "grant_type=client_credentials"),
        400, "invalid_request",
    )


def test_parameters_in_the_query_string(server, client):
    expect_error(curl(server.token_endpoint + "?grant_type=client_credentials", *basic(client), "-d", "scope=read"), 400, "invalid_request")


def test_two_authentication_methods(server, client):
    expect_error(
        curl(server.token_endpoint, *basic(client), "-d", "grant_type=client_credentials", "-d", f"client_secret={client['client_secret']}",
             "-d", f"client_id={client['client_id']}"),
        400, "invalid_request",
    )


def test_invalid_client_with_basic_has_a_challenge(server, client):
    headers = expect_error(
        curl(server.token_endpoint, "-u", f"{client['client_id']}:wrong", "-d", "grant_type=client_credentials"), 401, "invalid_client"
    )
    assert headers["www-authenticate"].lower().startswith("basic realm=")


def test_grant_the_client_may_not_use(server, client):
    expect_error(
        curl(server.token_endpoint, *basic(client), "-d", "grant_type=password", "-d", "username=a@appleid.example.com", "-d", "password=x"),
        400, "unauthorized_client",
    )


def test_password_grant_refusals(server, password_client):
    # There is no way yet to give an account a permanent password from outside (no CLI, no endpoint):
    # the password grant can only be driven to its refusals.
    account = server.create_account()
    temporary = account["temporary_password"]
    form = ["-d", "grant_type=password", "--data-urlencode", f"username={account['managed_id']}"]
    expect_error(curl(server.token_endpoint, *basic(password_client), *form, "--data-urlencode", f"password={temporary}"), 400, "invalid_grant")
    expect_error(curl(server.token_endpoint, *basic(password_client), *form, "-d", "password=wrong"), 400, "invalid_grant")
    expect_error(
        curl(server.token_endpoint, *basic(password_client), "-d", "grant_type=password", "-d", "username=nobody@appleid.example.com",
             "-d", "password=x"),
        400, "invalid_grant",
    )
    expect_error(curl(server.token_endpoint, *basic(password_client), *form), 400, "invalid_request")  # no password
    expect_error(
        curl(server.token_endpoint, *basic(password_client), "-d", "grant_type=refresh_token", "-d", "refresh_token=unknown"),
        400, "invalid_grant",
    )


def test_failed_client_secrets_are_limited(start_server, keypair):
    limited = start_server("limited-secrets", password_attempts_per_minute=3)
    client = limited.create_client(grants=["client_credentials"])
    key_client = limited.create_client(grants=["client_credentials"], public_key=keypair)
    # A valid client secret is never slowed down: only failures count.
    for _ in range(5):
        assert curl(limited.token_endpoint, *basic(client), "-d", "grant_type=client_credentials")[0] == 200
    for _ in range(3):
        assert curl(limited.token_endpoint, "-u", f"{client['client_id']}:wrong", "-d", "grant_type=client_credentials")[0] == 401
    # After three failures in a minute, even the right secret waits.
    headers = expect_error(curl(limited.token_endpoint, *basic(client), "-d", "grant_type=client_credentials"), 429, "slow_down")
    assert 1 <= int(headers["retry-after"]) <= 60
    # Requests without a secret are not limited: private_key_jwt, the JWKS.
    now = int(time.time())
    assertion = keypair.sign({
        "iss": key_client["client_id"], "sub": key_client["client_id"], "aud": limited.token_endpoint, "iat": now,
        "exp": now + 60, "jti": f"limit-{time.time_ns()}",
    })
    status, _, body = curl(
        limited.token_endpoint, "-d", "grant_type=client_credentials", "-d", f"client_assertion={assertion}",
        "--data-urlencode", "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    )
    assert status == 200, body
    assert curl(limited.url("/oauth2/jwks"))[0] == 200


def test_password_grant_attempts_are_limited(start_server):
    limited = start_server("limited-passwords", password_attempts_per_minute=3)
    client = limited.create_client(grants=["password"])
    account = limited.create_account()
    form = [*basic(client), "-d", "grant_type=password", "--data-urlencode", f"username={account['managed_id']}"]
    # Every password attempt counts, right or wrong (here the temporary password: refused, but counted).
    for password in [account["temporary_password"], "wrong", "wrong"]:
        expect_error(curl(limited.token_endpoint, *form, "--data-urlencode", f"password={password}"), 400, "invalid_grant")
    headers = expect_error(
        curl(limited.token_endpoint, *form, "--data-urlencode", f"password={account['temporary_password']}"), 429, "slow_down"
    )
    assert 1 <= int(headers["retry-after"]) <= 60
