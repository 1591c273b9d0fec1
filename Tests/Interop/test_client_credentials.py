"""client_credentials with Authlib (client_secret_basic, client_secret_post, private_key_jwt) and
requests-oauthlib; every token validated with PyJWT against the JWKS endpoint."""

import time

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session as RequestsOAuthlibSession

from conftest import CLIENT_CHANGE_DELAY, HTTP_TIMEOUT, poll


@pytest.fixture(scope="module")
def secret_client(server):
    return server.create_client(grants=["client_credentials"], scopes=["read", "write"], role="content-manager")


@pytest.fixture(scope="module")
def key_client(server, keypair):
    return server.create_client(grants=["client_credentials"], scopes=["read", "write"], public_key=keypair)


def check_token_response(server, token, client_id, scope, roles):
    assert token["token_type"].lower() == "bearer"
    # Authlib keeps the response's scope string; oauthlib splits it into a list.
    granted = token["scope"] if isinstance(token["scope"], str) else " ".join(token["scope"])
    assert granted == scope
    assert "refresh_token" not in token  # client_credentials never gets one (RFC 6749 §4.4.3)
    claims = server.validate(token["access_token"], client_id=client_id, scope=scope, roles=roles)
    assert claims["sub"] == client_id
    assert claims["aud"] == "tessera"
    assert claims["exp"] - claims["iat"] == token["expires_in"] == 900
    assert claims["exp"] > time.time()
    return claims


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_secret(server, secret_client, method):
    session = OAuth2Session(
        secret_client["client_id"], secret_client["client_secret"], token_endpoint_auth_method=method, scope="read"
    )
    token = session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    check_token_response(server, token, secret_client["client_id"], "read", ["content-manager"])


def test_authlib_without_scope_gets_every_allowed_scope(server, secret_client):
    session = OAuth2Session(secret_client["client_id"], secret_client["client_secret"])
    token = session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    check_token_response(server, token, secret_client["client_id"], "read write", ["content-manager"])


@pytest.mark.parametrize("audience", ["token_endpoint", "issuer"])
def test_authlib_private_key_jwt(server, key_client, keypair, audience):
    session = OAuth2Session(
        key_client["client_id"], ECKey.import_key(keypair.private_pem), token_endpoint_auth_method="private_key_jwt",
        scope="write",
    )
    # RFC 7523 §3: aud is the token endpoint URL; Tessera also accepts its issuer identifier.
    aud = server.token_endpoint if audience == "token_endpoint" else server.issuer
    session.register_client_auth_method(PrivateKeyJWT(aud, alg="ES256"))
    token = session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    claims = check_token_response(server, token, key_client["client_id"], "write", None)
    assert "roles" not in claims  # the client has no role


def test_requests_oauthlib_backend_application(server, secret_client):
    client = BackendApplicationClient(client_id=secret_client["client_id"])
    session = RequestsOAuthlibSession(client=client)
    token = session.fetch_token(
        token_url=server.token_endpoint, client_id=secret_client["client_id"],
        client_secret=secret_client["client_secret"], scope=["write"], timeout=HTTP_TIMEOUT,
    )
    check_token_response(server, token, secret_client["client_id"], "write", ["content-manager"])
    # The token is usable as a bearer credential by the same library.
    assert session.access_token == token["access_token"]


def test_wrong_secret_with_basic_is_401_with_challenge(server, secret_client):
    response = requests.post(
        server.token_endpoint, data={"grant_type": "client_credentials"},
        auth=(secret_client["client_id"], secret_client["client_secret"] + "x"), timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].lower().startswith("basic ")
    assert response.headers["Cache-Control"] == "no-store"
    # Authlib reports the same as an OAuth error.
    session = OAuth2Session(secret_client["client_id"], "not-the-secret")
    with pytest.raises(OAuthError) as raised:
        session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    assert raised.value.error == "invalid_client"


def test_wrong_secret_in_body_is_401_without_basic_challenge(server, secret_client):
    response = requests.post(
        server.token_endpoint,
        data={"grant_type": "client_credentials", "client_id": secret_client["client_id"], "client_secret": "wrong"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response.headers


def test_unknown_client_is_invalid_client(server):
    response = requests.post(
        server.token_endpoint, data={"grant_type": "client_credentials"}, auth=("no-such-client", "secret"),
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_scope_is_invalid_scope(server, secret_client):
    session = OAuth2Session(secret_client["client_id"], secret_client["client_secret"], scope="read admin")
    with pytest.raises(OAuthError) as raised:
        session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    assert raised.value.error == "invalid_scope"


def test_replayed_private_key_jwt_assertion_is_refused(server, key_client, keypair):
    session = OAuth2Session(
        key_client["client_id"], ECKey.import_key(keypair.private_pem), token_endpoint_auth_method="private_key_jwt"
    )
    # A fixed jti makes Authlib send the same assertion identity twice.
    session.register_client_auth_method(
        PrivateKeyJWT(server.token_endpoint, alg="ES256", claims={"jti": f"replay-{time.time_ns()}"})
    )
    token = session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    server.validate(token["access_token"], client_id=key_client["client_id"])
    with pytest.raises(OAuthError) as raised:
        session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    assert raised.value.error == "invalid_client"


def test_private_key_jwt_signed_by_another_key_is_refused(server, key_client, make_keypair):
    stranger = make_keypair()
    session = OAuth2Session(
        key_client["client_id"], ECKey.import_key(stranger.private_pem), token_endpoint_auth_method="private_key_jwt"
    )
    session.register_client_auth_method(PrivateKeyJWT(server.token_endpoint, alg="ES256"))
    with pytest.raises(OAuthError) as raised:
        session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    assert raised.value.error == "invalid_client"


def test_private_key_jwt_for_another_audience_is_refused(server, key_client, keypair):
    assertion = keypair.sign({
        "iss": key_client["client_id"], "sub": key_client["client_id"], "aud": "https://elsewhere.example/token",
        "jti": f"aud-{time.time_ns()}", "iat": int(time.time()), "exp": int(time.time()) + 60,
    })
    response = requests.post(
        server.token_endpoint,
        data={
            "grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_client_without_the_grant_is_unauthorized_client(server, keypair):
    client = server.create_client(grants=["jwt-bearer"], public_key=keypair, role="staff")
    session = OAuth2Session(client["client_id"], client["client_secret"])
    with pytest.raises(OAuthError) as raised:
        session.fetch_token(server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    assert raised.value.error == "unauthorized_client"


def test_rotated_secret_takes_over(server):
    client = server.create_client(grants=["client_credentials"])
    rotated = server.cli_json("clients rotate-secret", client["name"])
    assert rotated["client_id"] == client["client_id"]
    assert rotated["client_secret"] != client["client_secret"]

    def status(secret):
        return requests.post(
            server.token_endpoint, data={"grant_type": "client_credentials"}, auth=(client["client_id"], secret),
            timeout=HTTP_TIMEOUT,
        ).status_code

    # The running server picks the change up within the client registry's maximum age.
    poll(lambda: status(rotated["client_secret"]) == 200, CLIENT_CHANGE_DELAY + 1, 0.1, "the new secret to work")
    assert status(client["client_secret"]) == 401
