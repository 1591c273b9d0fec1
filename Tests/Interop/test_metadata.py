"""Authorization server metadata (RFC 8414), checked with Authlib's validator and by following it."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from conftest import HTTP_TIMEOUT

DOCUMENTS = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]


@pytest.fixture(scope="module")
def metadata(server):
    documents = []
    for path in DOCUMENTS:
        response = requests.get(server.url(path), timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].split(";")[0] == "application/json", path
        documents.append(response.json())
    assert documents[0] == documents[1]
    return documents[0]


def test_documents_are_equal_and_name_the_configured_issuer(server, metadata):
    assert metadata["issuer"] == server.issuer
    for name in ["authorization_endpoint", "token_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint"]:
        assert metadata[name].startswith(server.issuer + "/"), name


def test_authlib_validates_the_metadata(metadata):
    # Every RFC 8414 member Authlib knows (the http issuer is allowed through AUTHLIB_INSECURE_TRANSPORT).
    AuthorizationServerMetadata(metadata).validate()


def test_advertised_values(metadata):
    assert {"client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "password", "refresh_token"} <= set(
        metadata["grant_types_supported"]
    )
    methods = {"client_secret_basic", "client_secret_post", "private_key_jwt"}
    assert methods | {"none"} == set(metadata["token_endpoint_auth_methods_supported"])
    assert methods == set(metadata["introspection_endpoint_auth_methods_supported"])
    assert "ES256" in metadata["token_endpoint_auth_signing_alg_values_supported"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]


def test_jwks_uri_serves_the_signing_keys(server, metadata):
    response = requests.get(metadata["jwks_uri"], timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/jwk-set+json"
    keys = response.json()["keys"]
    assert keys, "the JWKS is empty"
    for key in keys:
        assert {"kid", "kty", "alg", "use"} <= set(key)
        assert key["use"] == "sig"
        assert "d" not in key  # never the private part


def test_endpoints_from_the_metadata_work(server, metadata):
    client = server.create_client(grants=["client_credentials"], scopes=["read"])
    session = OAuth2Session(
        client["client_id"], client["client_secret"],
        token_endpoint_auth_method=metadata["token_endpoint_auth_methods_supported"][0],
    )
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials", timeout=HTTP_TIMEOUT)
    claims = server.validate(token["access_token"], client_id=client["client_id"], scope="read")
    assert claims["iss"] == metadata["issuer"]
    introspected = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"], timeout=HTTP_TIMEOUT)
    assert introspected.json()["active"] is True
    revoked = session.revoke_token(metadata["revocation_endpoint"], token=token["access_token"], timeout=HTTP_TIMEOUT)
    assert revoked.status_code == 200
    introspected = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"], timeout=HTTP_TIMEOUT)
    assert introspected.json() == {"active": False}


def test_metadata_is_cacheable_and_read_only(server):
    for path in DOCUMENTS:
        response = requests.get(server.url(path), timeout=HTTP_TIMEOUT)
        assert "max-age" in response.headers.get("Cache-Control", ""), path
        assert requests.post(server.url(path), timeout=HTTP_TIMEOUT).status_code in (404, 405), path
