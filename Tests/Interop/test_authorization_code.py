"""The authorization-code grant with PKCE (RFC 6749 §4.1, RFC 7636) through Authlib, with the sign-in
page driven by plain HTTP requests as a browser would (form fields, CSRF token, cookies), then refresh
rotation and the password grant with the password chosen on the page."""

import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from conftest import HTTP_TIMEOUT

REDIRECT = "http://127.0.0.1:9/callback"
APPLE_REDIRECT = "apple-remotemanagement-user-login:/oauth2/redirection"
NEW_PASSWORD = "a long and new passphrase"


class Browser:
    """Just enough of a browser: keeps the cookies (including Secure ones on loopback, as browsers do for
    127.0.0.1), reads the form on a page and submits it, never follows redirects."""

    def __init__(self):
        self.cookies = {}
        self.http = requests.Session()

    def request(self, method, url, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.http.request(method, url, headers=headers, allow_redirects=False, timeout=HTTP_TIMEOUT, **kwargs)
        for header in response.raw.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    @staticmethod
    def form_fields(page):
        fields = {}
        for match in re.finditer(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page):
            fields[html.unescape(match.group(1))] = html.unescape(match.group(2))
        return fields

    def submit(self, url, page, **fields):
        form = self.form_fields(page)
        form.update(fields)
        return self.request("POST", url, data=form)


@pytest.fixture(scope="module")
def web_client(server):
    return server.create_client(
        grants=["authorization_code", "refresh_token", "password"], scopes=["mdm", "profile"], redirect_uris=[REDIRECT]
    )


@pytest.fixture(scope="module")
def person(server):
    account = server.create_account()
    return account["managed_id"], account["temporary_password"]


def sign_in_with_change(server, browser, authorization_url, managed_id, temporary):
    page = browser.request("GET", authorization_url)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert 'for="password"' in page.text and "<script" not in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    change = browser.submit(server.url("/oauth2/authorize"), page.text, action="sign-in", username=managed_id, password=temporary)
    assert change.status_code == 200 and "Choose a new password" in change.text
    return browser.submit(
        server.url("/oauth2/authorize"), change.text, action="change-password", username=managed_id, password=temporary,
        new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD,
    )


def test_code_with_pkce_then_refresh_rotation_and_the_password_grant(server, web_client, person):
    managed_id, temporary = person
    session = OAuth2Session(
        web_client["client_id"], web_client["client_secret"], scope="mdm", redirect_uri=REDIRECT, code_challenge_method="S256"
    )
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(server.url("/oauth2/authorize"), code_verifier=verifier, login_hint=managed_id)
    browser = Browser()
    approved = sign_in_with_change(server, browser, url, managed_id, temporary)
    assert approved.status_code == 303, approved.text
    location = approved.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    assert parse_qs(urlsplit(location).query)["state"] == [state]
    assert "tessera_session" in browser.cookies

    token = session.fetch_token(server.token_endpoint, authorization_response=location, code_verifier=verifier, timeout=HTTP_TIMEOUT)
    assert token["token_type"] == "Bearer" and token["scope"] == "mdm" and token["refresh_token"]
    claims = server.validate(token["access_token"], client_id=web_client["client_id"], scope="mdm")
    assert claims["managed_id"] == managed_id

    # The code is single-use: a second exchange fails and revokes what the first one issued.
    replay = requests.post(
        server.token_endpoint,
        data={"grant_type": "authorization_code", "code": parse_qs(urlsplit(location).query)["code"][0], "redirect_uri": REDIRECT,
              "code_verifier": verifier},
        auth=(web_client["client_id"], web_client["client_secret"]), timeout=HTTP_TIMEOUT,
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    revoked = requests.post(
        server.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(web_client["client_id"], web_client["client_secret"]), timeout=HTTP_TIMEOUT,
    )
    assert revoked.json()["error"] == "invalid_grant"

    # The browser session lets the next authorization through without the form.
    verifier2 = secrets.token_urlsafe(48)
    url2, state2 = session.create_authorization_url(server.url("/oauth2/authorize"), code_verifier=verifier2)
    again = browser.request("GET", url2)
    assert again.status_code == 302
    token2 = session.fetch_token(
        server.token_endpoint, authorization_response=again.headers["Location"], code_verifier=verifier2, timeout=HTTP_TIMEOUT
    )
    # Refresh tokens rotate; the old one then fails and takes the family with it.
    refreshed = session.refresh_token(server.token_endpoint, refresh_token=token2["refresh_token"], timeout=HTTP_TIMEOUT)
    assert refreshed["refresh_token"] != token2["refresh_token"]
    reuse = requests.post(
        server.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": token2["refresh_token"]},
        auth=(web_client["client_id"], web_client["client_secret"]), timeout=HTTP_TIMEOUT,
    )
    assert reuse.json()["error"] == "invalid_grant"
    dead = requests.post(
        server.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        auth=(web_client["client_id"], web_client["client_secret"]), timeout=HTTP_TIMEOUT,
    )
    assert dead.json()["error"] == "invalid_grant"

    # The password chosen on the page works with the password grant.
    password_session = OAuth2Session(web_client["client_id"], web_client["client_secret"], scope="profile")
    grant = password_session.fetch_token(server.token_endpoint, username=managed_id, password=NEW_PASSWORD, timeout=HTTP_TIMEOUT)
    assert server.validate(grant["access_token"], client_id=web_client["client_id"], scope="profile")["managed_id"] == managed_id


def test_errors_go_to_the_redirect_uri_only_when_it_is_registered(server, web_client):
    browser = Browser()
    challenge = create_s256_code_challenge(secrets.token_urlsafe(48))
    base = {"client_id": web_client["client_id"], "code_challenge": challenge, "code_challenge_method": "S256", "state": "abc"}
    unregistered = browser.request(
        "GET", server.url("/oauth2/authorize"), params={**base, "response_type": "code", "redirect_uri": "https://evil.example/cb"}
    )
    assert unregistered.status_code == 400 and "Location" not in unregistered.headers
    implicit = browser.request("GET", server.url("/oauth2/authorize"), params={**base, "response_type": "token", "redirect_uri": REDIRECT})
    assert implicit.status_code == 302
    query = parse_qs(urlsplit(implicit.headers["Location"]).query)
    assert query["error"] == ["unsupported_response_type"] and query["state"] == ["abc"]
    no_pkce = browser.request(
        "GET", server.url("/oauth2/authorize"), params={"client_id": web_client["client_id"], "response_type": "code", "redirect_uri": REDIRECT}
    )
    assert parse_qs(urlsplit(no_pkce.headers["Location"]).query)["error"] == ["invalid_request"]


def test_the_apple_enrolment_client_needs_no_pkce(server):
    """Apple's account-driven enrolment: a public client, no PKCE, the exact custom-scheme redirect URI."""
    device = server.cli_json(
        "clients create", "--name", "apple-enrolment-interop", "--public", "--grant", "authorization_code", "--grant", "refresh_token",
        "--redirect-uri", APPLE_REDIRECT, "--pkce", "apple-enrolment",
    )
    account = server.create_account()
    session = OAuth2Session(device["client_id"], redirect_uri=APPLE_REDIRECT, token_endpoint_auth_method="none")
    url, state = session.create_authorization_url(server.url("/oauth2/authorize"), login_hint=account["managed_id"])
    browser = Browser()
    approved = sign_in_with_change(server, browser, url, account["managed_id"], account["temporary_password"])
    assert approved.status_code == 308  # PROTOCOLS.md §1.4: the device's callback gets a 308
    location = approved.headers["Location"]
    assert location.startswith(APPLE_REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    token = requests.post(
        server.token_endpoint,
        data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": APPLE_REDIRECT, "client_id": device["client_id"]},
        timeout=HTTP_TIMEOUT,
    ).json()
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    refreshed = requests.post(
        server.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": device["client_id"]},
        timeout=HTTP_TIMEOUT,
    ).json()
    assert refreshed["refresh_token"] != token["refresh_token"]
