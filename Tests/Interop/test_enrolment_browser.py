"""The apple-as-web enrolment sign-in in a real browser: headless Chromium opens the login URL a device
opens, is sent to the sign-in page, changes the temporary password, and is answered with the 308 to the
device's callback carrying the access token; the token then gets the signed enrolment profile. A
screenshot of the sign-in page is saved in .build/screenshots/."""

import base64
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from conftest import HTTP_TIMEOUT, REPO, Tessera
from test_browser import NEW_PASSWORD, browser, load, submit  # noqa: F401 (browser is a fixture)

CALLBACK = "apple-remotemanagement-user-login://authentication-results"
SCREENSHOTS = REPO / ".build" / "screenshots"


@pytest.fixture
def enrolment_server(tmp_path, binary):
    """A server with the apple-as-web enrolment (its own: the configuration names the enrolment client)."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         str(tmp_path / "signer.key"), "-out", str(tmp_path / "signer.pem"), "-days", "1", "-subj", "/CN=Profiles"],
        check=True, capture_output=True)
    subprocess.run(["bash", str(REPO / "Fixtures/enrolment/make-device-info.sh"), str(tmp_path / "device")],
                   check=True, capture_output=True)
    server = Tessera(tmp_path / "server").start(binary)
    try:
        client = server.cli_json(
            "clients create", "--name", "enrolling-device", "--public", "--grant", "authorization_code",
            "--redirect-uri", f"{server.issuer}/enrolment/login/complete", "--pkce", "apple-enrolment",
            "--scope", "enrolment")
    finally:
        server.stop()
    server.sections = {"enrolment": {
        "base_url": "{issuer}/enrol", "discovery_rules": ["appleid.example.com: mdm-byod"],
        "challenge": "apple-as-web", "oauth_client_id": client["client_id"],
        "profile_template": str(REPO / "Config/enrolment-profile.json5"),
        "profile_signing_certificate": str(tmp_path / "signer.pem"),
        "profile_signing_key": str(tmp_path / "signer.key"),
    }}
    # The issuer must stay the one the client's redirect URI names: start on the same port.
    assert server.start_on(binary, server.port), "the port was taken while the server restarted"
    yield server, tmp_path
    server.stop()


def test_a_device_web_sign_in_in_a_real_browser(enrolment_server, browser):
    server, directory = enrolment_server
    account = server.create_account()
    # What the device's web session does after the apple-as-web challenge.
    browser.call("Fetch.enable", patterns=[{"urlPattern": "*/enrolment/login/complete*", "requestStage": "Response"}])
    load(browser, server.url("/enrolment/login?user-identifier=" + quote(account["managed_id"])))
    page = browser.text()
    assert account["managed_id"] in page and '<label for="password">Password</label>' in page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = browser.call("Page.captureScreenshot", format="png")["data"]
    (SCREENSHOTS / "enrolment-sign-in.png").write_bytes(base64.b64decode(shot))

    browser.type_into("#password", account["temporary_password"])
    submit(browser)
    assert "Choose a new password" in browser.text()
    browser.type_into("#password", account["temporary_password"])
    browser.type_into("#new_password", NEW_PASSWORD)
    browser.type_into("#confirm_password", NEW_PASSWORD)
    browser.events.clear()
    browser.press_enter()
    paused = browser.wait_for(lambda event: event.get("method") == "Fetch.requestPaused")
    status = paused["params"]["responseStatusCode"]
    headers = {header["name"].lower(): header["value"] for header in paused["params"]["responseHeaders"]}
    browser.call("Fetch.continueRequest", requestId=paused["params"]["requestId"])
    assert status == 308
    location = headers["location"]
    assert location.startswith(CALLBACK + "?access-token=")
    token = parse_qs(urlsplit(location).query)["access-token"][0]

    profile = requests.post(
        server.url("/enrol/byod"), data=(directory / "device" / "user.p7").read_bytes(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pkcs7-signature"},
        timeout=HTTP_TIMEOUT)
    assert profile.status_code == 200, profile.text
    assert profile.headers["Content-Type"] == "application/x-apple-aspen-config"
    Path(directory / "profile.der").write_bytes(profile.content)
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(directory / "profile.der"), "-CAfile",
         str(directory / "signer.pem"), "-purpose", "any"], capture_output=True)
    assert verified.returncode == 0, verified.stderr
    assert account["managed_id"].encode() in verified.stdout and b"<string>BYOD</string>" in verified.stdout
