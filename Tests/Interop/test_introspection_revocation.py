"""Introspection (RFC 7662) and revocation (RFC 7009) through Authlib's client methods."""

import time

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from conftest import HTTP_TIMEOUT


@pytest.fixture(scope="module")
def app(server):
    """The client that gets tokens."""
    client = server.create_client(grants=["client_credentials"], scopes=["read", "write"], role="staff")
    session = OAuth2Session(client["client_id"], client["client_secret"], token_endpoint_auth_method="client_secret_post")
    return client, session


@pytest.fixture(scope="module")
def resource_server(server):
    """A confidential client that introspects tokens (a resource server)."""
    client = server.create_client(grants=["client_credentials"])
    return client, OAuth2Session(client["client_id"], client["client_secret"])


def new_token(server, app, scope="read"):
    _, session = app
    return session.fetch_token(server.token_endpoint, grant_type="client_credentials", scope=scope, timeout=HTTP_TIMEOUT)[
        "access_token"
    ]


def introspect(server, resource_server, token):
    _, session = resource_server
    response = session.introspect_token(server.url("/oauth2/introspect"), token=token, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def test_introspect_revoke_introspect(server, app, resource_server):
    client, session = app
    token = new_token(server, app, scope="read write")
    claims = server.validate(token, client_id=client["client_id"])

    active = introspect(server, resource_server, token)
    assert active["active"] is True
    assert active["token_type"] == "Bearer"
    assert active["scope"] == "read write"
    assert active["client_id"] == client["client_id"]
    assert active["sub"] == client["client_id"]
    assert active["aud"] == ["tessera"]
    assert active["iss"] == server.issuer
    assert active["roles"] == ["staff"]
    assert (active["exp"], active["iat"], active["jti"]) == (claims["exp"], claims["iat"], claims["jti"])
    assert active["iat"] <= time.time() < active["exp"]

    revoked = session.revoke_token(
        server.url("/oauth2/revoke"), token=token, token_type_hint="access_token", timeout=HTTP_TIMEOUT
    )
    assert revoked.status_code == 200, revoked.text
    assert introspect(server, resource_server, token) == {"active": False}
    # Revoking twice is still a success (RFC 7009 §2.2).
    again = session.revoke_token(server.url("/oauth2/revoke"), token=token, timeout=HTTP_TIMEOUT)
    assert again.status_code == 200


def test_revocation_by_another_client_changes_nothing(server, app, resource_server):
    token = new_token(server, app)
    _, other = resource_server
    response = other.revoke_token(server.url("/oauth2/revoke"), token=token, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200  # answered like success (RFC 7009 §2.2) ...
    assert introspect(server, resource_server, token)["active"] is True  # ... but the token stays valid


def test_revoking_an_unknown_token_succeeds(server, app):
    _, session = app
    for token in ["not-a-token", "eyJhbGciOiJub25lIn0.e30.", "a.b.c"]:
        response = session.revoke_token(server.url("/oauth2/revoke"), token=token, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, token


def test_introspecting_garbage_and_foreign_tokens_is_inactive(server, app, resource_server, keypair):
    token = new_token(server, app)
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    # Our claims and the server's kid, signed by a key that is not the server's.
    forged = keypair.sign(
        {"iss": server.issuer, "sub": "x", "aud": "tessera", "exp": int(time.time()) + 60, "iat": int(time.time()), "jti": "f"},
        headers={"typ": "at+jwt", "kid": jwt.get_unverified_header(token)["kid"]},
    )
    for candidate in ["garbage", tampered, forged]:
        assert introspect(server, resource_server, candidate) == {"active": False}


def test_public_client_cannot_introspect(server, app):
    public = server.create_client(
        grants=["authorization_code"], redirect_uris=["https://app.example.com/callback"], public=True
    )
    assert public.get("client_secret") is None
    response = requests.post(
        server.url("/oauth2/introspect"), data={"token": new_token(server, app), "client_id": public["client_id"]},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_introspection_with_a_wrong_secret_is_refused(server, app, resource_server):
    client, _ = resource_server
    session = OAuth2Session(client["client_id"], "wrong-secret")
    response = session.introspect_token(server.url("/oauth2/introspect"), token=new_token(server, app), timeout=HTTP_TIMEOUT)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].lower().startswith("basic ")


def test_a_deleted_clients_tokens_become_inactive(server, resource_server):
    doomed = server.create_client(grants=["client_credentials"], scopes=["read"])
    session = OAuth2Session(doomed["client_id"], doomed["client_secret"])
    token = session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)["access_token"]
    assert introspect(server, resource_server, token)["active"] is True
    server.cli("clients delete", doomed["client_id"])
    # A running server learns of the deletion within a second.
    deadline = time.monotonic() + 3
    while introspect(server, resource_server, token)["active"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert introspect(server, resource_server, token) == {"active": False}
