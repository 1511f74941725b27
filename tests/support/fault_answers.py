"""Sending a generation request to an in-process emulator with or without a fault, and checking a
provider's own answer to a header fault: what ``tests/core/test_faults.py`` and each
``tests/providers/<name>/test_<name>_faults.py`` share.

The request is built the way the reference client builds it (the provider's dialect reads a canonical
request, its client flow makes the HTTP call, the contract says how the key travels), relative to the
provider's prefix in the registry, so no test keeps a table of the providers' native requests. A
provider's fault file holds the request it sends (``REQUEST``) and ``ANSWERS``: fault kind ->
``(status, a check of the JSON body, Retry-After sent)``, read from the provider's public sources and not
from its contract's ``x-faults`` (the contract is what is under test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from flask import Flask

from pixelmock.client import Provider
from pixelmock.client.base import flow_for, prepared, request_args
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.providers import provider as registered
from pixelmock.emulators.admin.client import PixelmockAdmin

#: The key every request is sent with (the emulator opens an account for it).
KEY = "faults-test-key"
#: The generation sent unless a test says otherwise.
GENERATION = CanonicalRequest(model="gpt-image-1.5", prompt="a fox", quality="low", size="1024x1024")
#: A provider's documented answer to a fault: (status, a check of the JSON body, Retry-After sent).
Answer = tuple[int, Callable[[Any], bool], bool]


def in_process(app: Flask) -> httpx.Client:
    """A client of ``app`` through the WSGI transport, at the emulator root."""
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")


def generation(provider: str, request: CanonicalRequest = GENERATION) -> dict[str, Any]:
    """The arguments of ``httpx.Client.request`` (``method``, ``url`` relative to the emulator root,
    ``headers`` with the key, the body) for submitting ``request`` to ``provider``'s emulator."""
    target = Provider(provider, KEY, registered(provider).prefix, account_id="acct")
    flow = flow_for(provider)
    _, native = prepared(flow, request, target)
    call = flow.first_call(native, target)
    return {"method": call.method, "url": call.url(target), **request_args(call, target)}


def send(
    client: httpx.Client,
    provider: str,
    headers: dict[str, str] | None = None,
    request: CanonicalRequest = GENERATION,
) -> httpx.Response:
    """Submit ``request`` to ``provider`` with ``headers`` added (``X-Pixelmock-Fault``)."""
    args = generation(provider, request)
    args["headers"] = {**args["headers"], **(headers or {})}
    return client.request(**args)


def check_answer(app: Flask, provider: str, kind: str, answer: Answer, request: CanonicalRequest) -> None:
    """``X-Pixelmock-Fault: kind`` on ``request`` is answered as ``answer`` says, and journalled as that
    fault."""
    status, check, retry_after = answer
    found = send(in_process(app), provider, {"X-Pixelmock-Fault": kind}, request)
    assert found.status_code == status
    assert check(found.json())
    assert ("Retry-After" in found.headers) is retry_after
    [entry] = [e for e in app.extensions["pixelmock"].journal.entries() if e.provider == provider]
    assert [n["fault"]["kind"] for n in entry.notes if "fault" in n] == [kind]


def offered(app: Flask, provider: str) -> set[str]:
    """The fault kinds ``provider``'s emulator offers (``kinds`` of ``GET /__admin/faults``)."""
    return set(PixelmockAdmin.for_app(app).fault_kinds()[provider])
