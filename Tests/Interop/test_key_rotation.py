"""Signing-key rotation on a server of its own, phase by phase: tokens signed before a rotation stay
valid until they expire, and the JWKS shows the right keys in each phase.

The tests run in order and share state. The module runs first and its last test (`run_last`) at the
very end of the session: it waits for the first token (60 s lifetime) to expire and for its key to
leave the JWKS, while the rest of the suite runs meanwhile.

Timing: a running server re-reads the keys every 5 s (SigningKeyRing.refreshInterval), so a rotation
made with the CLI can take that long to reach it; the pre-publish time is longer than that so the
"published but not signing" phase is observable over HTTP.
"""

import time
from datetime import datetime

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from conftest import HTTP_TIMEOUT, poll

RUN_FIRST = True
PREPUBLISH = 8  # seconds (oauth.key_prepublish_seconds)
LIFETIME = 60  # seconds: the shortest access-token lifetime Tessera allows
RELOAD = 5  # seconds: how old a server's copy of the keys may get
CONFLICT, NOT_FOUND = 73, 66  # the CLI's exit statuses

STATE = {}


class Rotation:
    def __init__(self, server):
        self.server = server
        self.client = server.create_client(grants=["client_credentials"], scopes=["read"])
        self.session = OAuth2Session(self.client["client_id"], self.client["client_secret"])

    def issue(self):
        token = self.session.fetch_token(self.server.token_endpoint, grant_type="client_credentials", timeout=HTTP_TIMEOUT)
        access = token["access_token"]
        return access, jwt.get_unverified_header(access)["kid"]

    def validate(self, token, **options):
        return self.server.validate(token, client_id=self.client["client_id"], scope="read", **options)

    def introspect(self, token):
        return self.session.introspect_token(self.server.url("/oauth2/introspect"), token=token, timeout=HTTP_TIMEOUT).json()

    def keys(self):
        return {key["kid"]: key for key in self.server.keys()}

    def states(self):
        return {kid: key["state"] for kid, key in self.keys().items()}

    def retire(self, kid, expect=0):
        result = self.server.cli("keys retire", "--json", "--", kid, expect=expect)  # a kid may start with '-'
        return result

    def rotate(self):
        return self.server.cli_json("keys rotate")


def timestamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="session")
def rotation(start_server):
    # Session scope: the last test runs after the other modules and needs the same server.
    server = start_server(
        "rotation", key_prepublish_seconds=PREPUBLISH, access_token_lifetime_seconds=LIFETIME,
        password_attempts_per_minute=100000,
    )
    return Rotation(server)


def test_1_one_current_key(rotation):
    keys = rotation.keys()
    assert len(keys) == 1
    (k1,) = keys
    assert keys[k1]["state"] == "current"
    assert rotation.server.jwks_kids() == {k1}

    token_a, kid = rotation.issue()
    assert kid == k1
    claims = rotation.validate(token_a)
    assert claims["exp"] - claims["iat"] == LIFETIME
    STATE.update(k1=k1, token_a=token_a, token_a_exp=claims["exp"], token_a_jti=claims["jti"])

    # The only key that can sign cannot be retired; unknown keys are not found.
    refused = rotation.retire(k1, expect=CONFLICT)
    assert "keys rotate" in refused.stderr
    rotation.retire("no-such-kid", expect=NOT_FOUND)
    assert rotation.states() == {k1: "current"}
    assert rotation.issue()[1] == k1


def test_2_rotated_key_is_published_before_it_signs(rotation):
    k1 = STATE["k1"]
    rotated = rotation.rotate()
    k2 = rotated["kid"]
    assert rotated["state"] == "next"
    activation = timestamp(rotated["activates_at"])
    assert abs(activation - timestamp(rotated["created_at"]) - PREPUBLISH) < 1
    STATE.update(k2=k2, activation=activation)

    poll(lambda: rotation.server.jwks_kids() == {k1, k2}, RELOAD + 2, 0.2, "the JWKS to publish the next key")
    _, kid = rotation.issue()
    assert time.time() < activation, "the server took longer than the pre-publish time to see the new key"
    assert kid == k1, "the next key signs before its time"
    assert rotation.states() == {k1: "current", k2: "next"}
    rotation.validate(STATE["token_a"])


def test_3_next_key_signs_after_the_prepublish_time(rotation):
    k1, k2, activation = STATE["k1"], STATE["k2"], STATE["activation"]
    token_b, _ = poll(
        lambda: (lambda issued: issued if issued[1] == k2 else None)(rotation.issue()),
        max(0, activation - time.time()) + RELOAD, 0.25, "tokens signed by the new key",
    )
    claims = rotation.validate(token_b)
    assert claims["iat"] >= int(activation) - 1

    # Both keys stay published; the old one retired, until every token it signed has expired.
    assert rotation.server.jwks_kids() == {k1, k2}
    keys = rotation.keys()
    assert {kid: key["state"] for kid, key in keys.items()} == {k1: "retired", k2: "current"}
    retired_at, remove_after = timestamp(keys[k1]["retired_at"]), timestamp(keys[k1]["remove_after"])
    assert abs(remove_after - retired_at - LIFETIME) < 1
    assert remove_after >= STATE["token_a_exp"]
    STATE["k1_remove_after"] = remove_after

    # The token signed before the rotation is still good, for a resource server and for introspection.
    rotation.validate(STATE["token_a"])
    introspection = rotation.introspect(STATE["token_a"])
    assert introspection["active"] is True and introspection["jti"] == STATE["token_a_jti"]


def test_4_retire_rules(rotation):
    k1, k2 = STATE["k1"], STATE["k2"]
    assert "already retired" in rotation.retire(k1, expect=CONFLICT).stderr
    assert "keys rotate" in rotation.retire(k2, expect=CONFLICT).stderr  # no successor for the current key

    # A next key that is retired never signed anything: it goes at once.
    k3 = rotation.rotate()["kid"]
    retired = rotation.retire(k3)
    assert '"retired"' in retired.stdout
    assert k3 not in rotation.keys()
    poll(lambda: rotation.server.jwks_kids() == {k1, k2}, RELOAD + 2, 0.2, "the retired next key to leave the JWKS")
    assert rotation.issue()[1] == k2


def test_5_retiring_the_current_key_activates_the_next_at_once(rotation):
    k1, k2 = STATE["k1"], STATE["k2"]
    k4 = rotation.rotate()["kid"]
    rotation.retire(k2)
    assert rotation.states() == {k1: "retired", k2: "retired", k4: "current"}
    token_c, _ = poll(
        lambda: (lambda issued: issued if issued[1] == k4 else None)(rotation.issue()), RELOAD + 2, 0.25,
        "tokens signed by the key that took over",
    )
    rotation.validate(token_c)
    assert rotation.server.jwks_kids() == {k1, k2, k4}
    rotation.validate(STATE["token_a"])
    STATE["k4"] = k4


@pytest.mark.run_last
def test_9_expired_tokens_and_their_key_go(rotation):
    k1, k2, k4 = STATE["k1"], STATE["k2"], STATE["k4"]
    token_a = STATE["token_a"]
    # Once token A has expired (it cannot be refreshed: waiting is the only way) ...
    time.sleep(max(0.0, STATE["token_a_exp"] + 1 - time.time()))
    assert time.time() < STATE["k1_remove_after"], "the key should outlive its last token"
    assert k1 in rotation.server.jwks_kids()
    with pytest.raises(jwt.ExpiredSignatureError):
        rotation.validate(token_a)
    rotation.validate(token_a, verify_exp=False)  # the signature itself is still verifiable
    assert rotation.introspect(token_a) == {"active": False}

    # ... and the key that signed it leaves the JWKS once every token it signed has expired.
    poll(
        lambda: k1 not in rotation.server.jwks_kids(), max(0.0, STATE["k1_remove_after"] - time.time()) + RELOAD + 2, 0.25,
        "the retired key to leave the JWKS",
    )
    kids = rotation.server.jwks_kids()
    # k2 retired moments after k1 (test 5), so it may be leaving too by now.
    assert k4 in kids and kids <= {k2, k4}, kids
    with pytest.raises(jwt.PyJWKClientError):
        jwt.PyJWKClient(rotation.server.url("/oauth2/jwks"), cache_jwk_set=False).get_signing_key_from_jwt(token_a)
    assert k1 not in rotation.keys()
    rotation.validate(rotation.issue()[0])
    assert requests.get(rotation.server.url("/readyz"), timeout=HTTP_TIMEOUT).status_code == 200
