"""The sign-in page in a real browser: headless Chromium (Debian's package) driven over the DevTools
protocol, with the page's own scripts disabled, fills the labelled fields, changes the temporary password
and is sent to the client's redirect URI with a code that Authlib then exchanges."""

import json
import secrets
import shutil
import subprocess
import tempfile
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import websocket
from authlib.integrations.requests_client import OAuth2Session

from conftest import HTTP_TIMEOUT, free_port

REDIRECT = "http://127.0.0.1:9/callback"
NEW_PASSWORD = "a browser-chosen passphrase"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class DevTools:
    """One page of a headless Chromium, over the Chrome DevTools Protocol."""

    def __init__(self, port):
        deadline = time.monotonic() + 30
        while True:
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                page = next(target for target in targets if target["type"] == "page")
                break
            except (requests.RequestException, StopIteration, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        request_id = self.next_id
        self.socket.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == request_id:
                assert "error" not in message, message
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, predicate, timeout=20):
        """Returns the first event (already received or arriving) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if predicate(event):
                    del self.events[: index + 1]
                    return event
            self.events.clear()
            remaining = deadline - time.monotonic()
            assert remaining > 0, "timed out waiting for a DevTools event"
            self.socket.settimeout(remaining)
            self.events.append(json.loads(self.socket.recv()))

    def type_into(self, selector, text):
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node, f"no element {selector}"
        self.call("DOM.focus", nodeId=node)
        self.call("Input.insertText", text=text)

    def press_enter(self):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
                      text="\r" if kind == "keyDown" else "")

    def text(self):
        root = self.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", nodeId=root)["outerHTML"]


@pytest.fixture
def browser():
    profile = tempfile.mkdtemp(prefix="tessera-chromium-")
    port = free_port()
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
         f"--remote-debugging-port={port}", "--remote-allow-origins=*", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        tools = DevTools(port)
        tools.call("Page.enable")
        tools.call("Network.enable")
        # Prove the page needs no JavaScript of its own.
        tools.call("Emulation.setScriptExecutionDisabled", value=True)
        yield tools
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def load(tools, url):
    tools.events.clear()
    tools.call("Page.navigate", url=url)
    tools.wait_for(lambda event: event.get("method") == "Page.loadEventFired")


def submit(tools):
    """Presses Enter in the focused field (implicit submission, no script) and waits for the next page."""
    tools.events.clear()
    tools.press_enter()
    tools.wait_for(lambda event: event.get("method") == "Network.requestWillBeSent" and event["params"].get("type") == "Document")
    tools.wait_for(lambda event: event.get("method") == "Page.loadEventFired")


def test_a_person_signs_in_with_a_real_browser_without_javascript(server, browser):
    client = server.create_client(grants=["authorization_code"], scopes=["mdm"], redirect_uris=[REDIRECT])
    account = server.create_account()
    session = OAuth2Session(client["client_id"], client["client_secret"], scope="mdm", redirect_uri=REDIRECT,
                            code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(server.url("/oauth2/authorize"), code_verifier=verifier,
                                                  login_hint=account["managed_id"])

    load(browser, url)
    page = browser.text()
    assert '<label for="password">Password</label>' in page
    assert account["managed_id"] in page  # the login hint fills the managed ID
    browser.type_into("#password", account["temporary_password"])
    submit(browser)
    page = browser.text()
    assert "Choose a new password" in page, page[page.find("<main>") : page.find("<form")]

    browser.type_into("#password", account["temporary_password"])
    browser.type_into("#new_password", NEW_PASSWORD)
    browser.type_into("#confirm_password", NEW_PASSWORD)
    browser.events.clear()
    browser.press_enter()
    event = browser.wait_for(lambda event: event.get("method") == "Network.requestWillBeSent"
                             and event["params"]["request"]["url"].startswith(REDIRECT))
    location = event["params"]["request"]["url"]
    assert parse_qs(urlsplit(location).query)["state"] == [state]

    token = session.fetch_token(server.token_endpoint, authorization_response=location, code_verifier=verifier,
                                timeout=HTTP_TIMEOUT)
    claims = server.validate(token["access_token"], client_id=client["client_id"], scope="mdm")
    assert claims["managed_id"] == account["managed_id"]
