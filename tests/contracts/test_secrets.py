"""Credentials never reach a record: the journal, outbound-delivery records and cassettes all scrub with
``pixelmock.contracts.secrets``, by name and by pattern.

Oracles: the secrets the tests themselves place (a random string must not come back in any recorded
form), the header names the providers and gateways document (Cloudflare AI Gateway's
``cf-aig-authorization``, Azure's ``Ocp-Apim-Subscription-Key``...), and names that are not credentials
(the contracts' own fields such as ``keySource``, ``input_tokens``, ``Idempotency-Key``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
import yaml
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcr.request import Request as VcrRequest

from pixelmock.client.recording import Scrubber
from pixelmock.contracts.secrets import (
    REDACTED,
    documented_headers,
    is_credential_field,
    is_credential_header,
    scrub_header,
    scrub_json,
    scrub_url,
)
from pixelmock.emulators import create_app
from pixelmock.emulators.core.webhooks import Delivery

OPENAI = "/openai/v1/images/generations"
GATEWAY_HEADERS = ["cf-aig-authorization", "Ocp-Apim-Subscription-Key", "X-API-Key", "X-Auth-Key", "Cookie"]
CREDENTIAL_NAMES = [
    "apiKey", "api_key", "API-KEY", "secret_key", "SecretKey", "access_key", "accessKey", "private_key",
    "auth", "Auth", "credentials", "token", "accessToken", "refresh_token", "password", "client_secret",
    "sig", "signature", "key",
]  # fmt: skip
NOT_CREDENTIALS = ["keySource", "input_tokens", "total_tokens", "prompt", "model", "author", "monkey"]


@pytest.mark.parametrize("name", CREDENTIAL_NAMES)
def test_common_credential_field_names_are_found_in_any_case_and_separator(name: str) -> None:
    assert is_credential_field(name)


@pytest.mark.parametrize("name", NOT_CREDENTIALS)
def test_the_contracts_own_field_names_are_not_credentials(name: str) -> None:
    assert not is_credential_field(name)


def test_documented_gateway_headers_are_credentials_and_challenges_are_not() -> None:
    assert {"cf-aig-authorization", "ocp-apim-subscription-key", "x-auth-user-service-key"} <= (
        documented_headers()
    )
    for name in [*GATEWAY_HEADERS, "X-Gateway-Token", "Proxy-Authorization", "Set-Cookie"]:
        assert is_credential_header(name), name
    for name in ["WWW-Authenticate", "Content-Type", "Idempotency-Key", "X-Request-Id"]:
        assert not is_credential_header(name), name


def test_urls_lose_userinfo_and_credential_query_parameters() -> None:
    url = "https://bob:hunter2hunter2@hooks.example/x?a=1&token=abcdef123456&auth=zz&key=k1&sig=s1&n=2"
    found: set[str] = set()
    assert scrub_url(url, found) == (
        "https://REDACTED@hooks.example/x?a=1&token=REDACTED&auth=REDACTED&key=REDACTED&sig=REDACTED&n=2"
    )
    assert {"abcdef123456", "hunter2hunter2"} <= found
    assert scrub_url("/hook?id=3") == "/hook?id=3"


def test_a_header_keeps_its_scheme_and_other_headers_lose_url_credentials() -> None:
    assert scrub_header("cf-aig-authorization", "Bearer gw-token-0123456789") == "Bearer REDACTED"
    assert scrub_header("Ocp-Apim-Subscription-Key", "0123456789abcdef") == REDACTED
    assert scrub_header("Referer", "http://h/p?access_token=abc") == "http://h/p?access_token=REDACTED"
    assert scrub_header("Content-Type", "application/json") == "application/json"


def test_json_credentials_at_any_depth_and_inside_strings() -> None:
    body = {
        "a": [{"b": {"Secret_Key": "s3cr3t-value", "private-key": {"pem": "-----BEGIN..."}}}],
        "webhookURL": "http://127.0.0.1:9/hook?token=tok-abcdef-123",
        "prompt": "my key is sk-proj-0123456789abcdefABCD, keep it",
        "apiKey": None,
    }
    assert scrub_json(body) == {
        "a": [{"b": {"Secret_Key": REDACTED, "private-key": REDACTED}}],
        "webhookURL": "http://127.0.0.1:9/hook?token=REDACTED",
        "prompt": "my key is REDACTED, keep it",
        "apiKey": None,
    }


# --------------------------------------------------------------------------------------------------------
# Properties: a secret placed anywhere a credential travels never appears in a recorded form.

SECRETS = st.text(
    alphabet="abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=12, max_size=40
)
NAMES = st.sampled_from(CREDENTIAL_NAMES).flatmap(
    lambda name: st.sampled_from([name, name.upper(), name.lower(), name.replace("_", "-")])
)


@st.composite
def placements(draw: st.DrawFn) -> tuple[dict[str, str], str, Any, str]:
    """``(headers, query string, JSON body, secret)`` with the secret in one credential position."""
    secret = "Zq" + draw(SECRETS)
    name = draw(NAMES)
    where = draw(st.sampled_from(["header", "bearer", "body", "query", "webhook_query", "userinfo"]))
    headers: dict[str, str] = {"Authorization": "Bearer sk-test-placeholder"}
    query = "n=1"
    body: Any = {"model": "gpt-image-2", "prompt": "a red fox"}
    if where == "header":
        headers[draw(st.sampled_from([*GATEWAY_HEADERS, "X-Custom-Token", "api-key"]))] = secret
    elif where == "bearer":
        headers[draw(st.sampled_from(["Authorization", "cf-aig-authorization"]))] = f"Bearer {secret}"
    elif where == "query":
        query = f"n=1&{name}={secret}"
    elif where == "webhook_query":
        body["webhookURL"] = f"http://127.0.0.1:9/hook?x=1&{name}={secret}"
    elif where == "userinfo":
        body["webhookURL"] = f"https://user:{secret}@hooks.example/x"
    else:
        depth = draw(st.integers(0, 4))
        node: Any = {name: secret}
        for level in range(depth):
            node = [node] if level % 2 else {"extra": node}
        body["extra"] = node
    return headers, query, body, secret


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app(providers=["openai"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(placement=placements())
def test_a_secret_never_reaches_the_journal(app: Flask, placement: tuple[Any, ...]) -> None:
    headers, query, body, secret = placement
    client = app.test_client()
    answer = client.post(f"{OPENAI}?{query}", json=body, headers=headers)
    assert answer.status_code < 500
    entries = client.get("/__admin/journal", query_string={"limit": "1"}).get_json()["entries"]
    assert entries and entries[-1]["path"] == OPENAI
    assert secret not in json.dumps(entries)


@settings(max_examples=60, deadline=None)
@given(placement=placements())
def test_a_secret_never_reaches_a_cassette(placement: tuple[Any, ...]) -> None:
    headers, query, body, secret = placement
    scrubber = Scrubber()
    uri = f"https://api.openai.com/v1/images/generations?{query}"
    request = scrubber.request(VcrRequest("POST", uri, json.dumps(body).encode(), headers))
    echoed = {"error": {"message": f"Incorrect API key provided: {secret}"}}  # echoed by the provider
    response = scrubber.response(
        {
            "status": {"code": 401, "message": "Unauthorized"},
            "headers": {"Content-Type": ["application/json"], "Location": [uri]},
            "body": {"string": json.dumps(echoed).encode()},
        }
    )
    recorded = yaml.safe_dump({"request": request._to_dict(), "response": response})
    assert secret not in recorded


@settings(max_examples=40, deadline=None)
@given(placement=placements())
def test_a_secret_never_reaches_a_delivery_record(placement: tuple[Any, ...]) -> None:
    headers, query, body, secret = placement
    target = body.get("webhookURL", f"http://127.0.0.1:9/hook?{query}")
    at = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    delivery = Delivery(
        "whd_1", "runware", "webhook", "POST", target, headers, json.dumps(body).encode(), None, None, (), at
    )
    assert secret not in json.dumps(delivery.to_json())


def test_request_lines_logged_by_the_server_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    create_app(providers=["openai"])  # installs the filter on the servers' loggers
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('"%s" %s', "GET /hook?a=1&token=abcdef123456 HTTP/1.1", 200)
        logging.getLogger("werkzeug").info("plain %s", "line")
    assert [r.getMessage() for r in caplog.records] == [
        '"GET /hook?a=1&token=REDACTED HTTP/1.1" 200',
        "plain line",
    ]
