"""The JWT bearer grant (RFC 7523 §2.1) for a managed account, with Authlib's AssertionSession and
plain requests; the access tokens validated with PyJWT against the JWKS endpoint."""

import time

import pytest
import requests
from authlib.integrations.requests_client import AssertionSession, OAuth2Session
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

from conftest import HTTP_TIMEOUT

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def account(server):
    return server.create_account()


@pytest.fixture(scope="module")
def bearer_client(server, keypair):
    # The client acts only for accounts its role governs (staff, here).
    return server.create_client(grants=["jwt-bearer"], scopes=["profile", "devices"], public_key=keypair, role="people-manager")


def assertion_claims(server, client, subject, **overrides):
    now = int(time.time())
    claims = {
        "iss": client["client_id"], "sub": subject, "aud": server.token_endpoint, "iat": now, "exp": now + 300,
        "jti": f"grant-{time.time_ns()}",
    }
    claims.update(overrides)
    return claims


def post_grant(server, client, assertion, **extra):
    return requests.post(
        server.token_endpoint, data={"grant_type": GRANT, "assertion": assertion, **extra},
        auth=(client["client_id"], client["client_secret"]), timeout=HTTP_TIMEOUT,
    )


def check_person_token(server, token, client, account, scope):
    claims = server.validate(token, client_id=client["client_id"], scope=scope, roles=["staff"])
    assert claims["sub"] == account["id"]
    assert claims["managed_id"] == account["managed_id"]
    return claims


def test_authlib_assertion_session_with_client_secret(server, bearer_client, account, keypair):
    session = AssertionSession(
        token_endpoint=server.token_endpoint, issuer=bearer_client["client_id"], subject=account["managed_id"],
        audience=server.token_endpoint, key=ECKey.import_key(keypair.private_pem), alg="ES256", scope="profile",
        default_timeout=HTTP_TIMEOUT,
    )
    # Tessera authenticates the client as well as checking the assertion.
    session.auth = (bearer_client["client_id"], bearer_client["client_secret"])
    token = session.refresh_token()
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "profile"
    assert "refresh_token" not in token
    check_person_token(server, token["access_token"], bearer_client, account, "profile")


def test_authlib_with_private_key_jwt_client_authentication(server, bearer_client, account, keypair):
    key = ECKey.import_key(keypair.private_pem)
    session = OAuth2Session(bearer_client["client_id"], key, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(server.token_endpoint, alg="ES256"))
    assertion = keypair.sign(assertion_claims(server, bearer_client, account["managed_id"], aud=server.issuer))
    token = session.fetch_token(server.token_endpoint, grant_type=GRANT, assertion=assertion, timeout=HTTP_TIMEOUT)
    check_person_token(server, token["access_token"], bearer_client, account, "devices profile")


def test_introspection_describes_the_person(server, bearer_client, account, keypair):
    response = post_grant(server, bearer_client, keypair.sign(assertion_claims(server, bearer_client, account["managed_id"])))
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    introspection = requests.post(
        server.url("/oauth2/introspect"), data={"token": token},
        auth=(bearer_client["client_id"], bearer_client["client_secret"]), timeout=HTTP_TIMEOUT,
    ).json()
    assert introspection["active"] is True
    assert introspection["sub"] == account["id"]
    assert introspection["username"] == introspection["managed_id"] == account["managed_id"]
    assert introspection["roles"] == ["staff"]


def test_replayed_assertion_is_refused(server, bearer_client, account, keypair):
    assertion = keypair.sign(assertion_claims(server, bearer_client, account["managed_id"]))
    first = post_grant(server, bearer_client, assertion)
    assert first.status_code == 200, first.text
    check_person_token(server, first.json()["access_token"], bearer_client, account, "devices profile")
    replay = post_grant(server, bearer_client, assertion)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.headers["Cache-Control"] == "no-store"


def test_assertion_signed_by_an_unregistered_key_is_refused(server, bearer_client, account, make_keypair):
    stranger = make_keypair()
    response = post_grant(server, bearer_client, stranger.sign(assertion_claims(server, bearer_client, account["managed_id"])))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_assertion_signed_by_another_clients_key_is_refused(server, bearer_client, account, make_keypair):
    other_key = make_keypair()
    other = server.create_client(grants=["jwt-bearer"], public_key=other_key, role="people-manager")
    # The other client's genuine assertion, presented by this client (iss names the other client).
    claims = assertion_claims(server, other, account["managed_id"])
    response = post_grant(server, bearer_client, other_key.sign(claims))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # ... and signed by the other key but claiming to be from this client.
    response = post_grant(server, bearer_client, other_key.sign(assertion_claims(server, bearer_client, account["managed_id"])))
    assert response.json()["error"] == "invalid_grant"


def test_unknown_subject_expired_and_wrong_audience_are_refused(server, bearer_client, keypair, account):
    now = int(time.time())
    cases = {
        "unknown subject": assertion_claims(server, bearer_client, "nobody@appleid.example.com"),
        "expired": assertion_claims(server, bearer_client, account["managed_id"], iat=now - 600, exp=now - 300),
        "other audience": assertion_claims(server, bearer_client, account["managed_id"], aud="https://elsewhere.example"),
        "lifetime over an hour": assertion_claims(server, bearer_client, account["managed_id"], exp=now + 7200),
    }
    for name, claims in cases.items():
        response = post_grant(server, bearer_client, keypair.sign(claims))
        assert (response.status_code, response.json()["error"]) == (400, "invalid_grant"), name


def test_assertion_without_client_authentication_is_refused(server, bearer_client, account, keypair):
    # Tessera requires client authentication with the grant; a confidential client without it is invalid_client.
    assertion = keypair.sign(assertion_claims(server, bearer_client, account["managed_id"]))
    response = requests.post(
        server.token_endpoint, data={"grant_type": GRANT, "assertion": assertion, "client_id": bearer_client["client_id"]},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_authlib_reports_invalid_grant(server, bearer_client, make_keypair, account):
    stranger = make_keypair()
    session = AssertionSession(
        token_endpoint=server.token_endpoint, issuer=bearer_client["client_id"], subject=account["managed_id"],
        key=ECKey.import_key(stranger.private_pem), alg="ES256", default_timeout=HTTP_TIMEOUT,
    )
    session.auth = (bearer_client["client_id"], bearer_client["client_secret"])
    with pytest.raises(OAuth2Error) as raised:
        session.refresh_token()
    assert raised.value.error == "invalid_grant"


def test_a_client_cannot_act_for_an_account_its_role_does_not_govern(server, bearer_client, keypair):
    admin = server.cli_json(
        "accounts create", "--managed-id", f"admin-{int(time.time() * 1000)}@appleid.example.com", "--given-name", "Ada",
        "--family-name", "Admin", "--role", "administrator",
    )
    response = post_grant(server, bearer_client, keypair.sign(assertion_claims(server, bearer_client, admin["managed_id"])))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
