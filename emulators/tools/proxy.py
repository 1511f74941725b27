"""A recording, validating proxy in front of the real providers (``pixelmock proxy``).

``create_proxy(upstreams)`` builds a Flask app with the same provider prefixes as ``create_app``
(``/openai/v1``, ``/cloudflare/client/v4``, ``/apiframe``, ``/runware/v1``, ``/gmicloud/...``). Each
request under a prefix is forwarded, with the client's own headers and credentials (never stored), to
that provider's upstream base URL: by default the real one, the provider registry's (which its
contract's ``servers[0]`` repeats; ``contracts.openapi.real_base_url``), or the one given per provider (a
staging endpoint, a second pixelmock in tests). The proxy calls nothing but these upstreams, and, only
with ``fetch_images``, the file URLs an upstream's answer names.

Each exchange is checked against the provider's contract in both directions with the checks of
``pixelmock verify`` (``contracts.verify.check_request`` / ``check_response``: undocumented operation,
request body schema, undeclared status or content type, response body schema). Violations are

- in the answer's ``X-Pixelmock-Violations`` header: a JSON array (ASCII) of at most
  ``MAX_HEADER_VIOLATIONS`` objects ``{"where": "request"|"response"|"status"|"uri", "path": "$.quality",
  "expected": ..., "found": ...}`` (like Prism's ``sl-violations``); a streamed answer (SSE) carries
  only the request's, since its headers leave before its body;
- in the log (logger ``pixelmock.proxy``, one warning each; a stream's events are checked, one by one
  against the contract's event schema, when it ends) and in the journal (``GET /__admin/journal``, the
  entry's note ``{"violations": [...]}``; a stream's entry has the request's only).

With ``errors``, a request that breaks the contract is not sent upstream (no money spent on a request the
provider would refuse): it is answered by pixelmock's emulator of that provider, whose answer to such a
request is the provider's own 4xx body. A request the emulator accepts after all is forwarded.

With ``record_dir``, every exchange is written as a scrubbed cassette (``emulators/tools/cassettes.py``) under
``<record_dir>/<provider>/`` (the files of one run are one session for ``verify --drift``), or, when the
request names a session (header ``X-Pixelmock-Session: <name>``, not forwarded; else the session set
with ``PUT /__admin/session {"name": ...}``, as the pytest plugin does with the running test's node id),
appended to that session's cassette ``<record_dir>/sessions/<name>.yaml``; a streamed answer is
recorded whole once the stream ends; with ``fetch_images`` the files the answer names by URL (image
URLs) are fetched and recorded in the same cassette, so the recording replays offline.

Runware's WebSocket API (an upgrade on ``/runware/v1``) is relayed to its upstream (``x-websocket.url``
of the contract, ``wss://ws-api.runware.ai/v1``, or the overriding base URL with a ``ws`` scheme): each
message is checked like a REST request, each frame like a REST answer (log and journal), and the session
is recorded as one cassette (``relay``), which ``serve --replay`` answers messages from and the drift
report replays over a WebSocket.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from flask import Flask, Response, jsonify, request
from flask_sock import Sock  # type: ignore[import-untyped]
from simple_websocket import Client as WebSocketClient  # type: ignore[import-untyped]
from simple_websocket import ConnectionClosed
from werkzeug.exceptions import NotFound

from pixelmock import __version__
from pixelmock.contracts.openapi import PROVIDERS, document, real_base_url
from pixelmock.contracts.pricing import reported_costs, reported_stream_costs
from pixelmock.contracts.secrets import REDACTED, is_credential_field, scrub_text
from pixelmock.contracts.verify import (
    Disagreement,
    check_frame,
    check_request,
    check_response,
    match,
    server_sent_events,
    unmatched,
    websocket_operation,
)
from pixelmock.emulators.admin import routes as admin
from pixelmock.emulators.app import create_app
from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.core.accounts import LedgerLine
from pixelmock.emulators.core.exchange import journal_note
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.tools.cassettes import CassetteWriter, Exchange
from pixelmock.emulators.tools.tls import TlsFiles
from pixelmock.emulators.web import access_log, exchange, journal
from pixelmock.emulators.web.context import runtime
from pixelmock.emulators.web.provider import ProviderEmulator, owner_finder

log = logging.getLogger("pixelmock.proxy")

#: The response header naming the contract violations of an exchange.
VIOLATIONS_HEADER = "X-Pixelmock-Violations"
#: Set to ``emulator`` on an answer ``errors`` made locally instead of forwarding.
ANSWERED_BY_HEADER = "X-Pixelmock-Answered-By"
#: A request header naming the session an exchange belongs to: every exchange of one session is recorded,
#: in order, in one cassette (``<record_dir>/sessions/<name>.yaml``); never forwarded upstream.
SESSION_HEADER = "X-Pixelmock-Session"
#: The proxy's control of the session exchanges without ``SESSION_HEADER`` are recorded in
#: (``create_proxy``'s ``recording_session``).
SESSION_PATH = "/__admin/session"
_MISSING = object()
#: At most this many violations go into the header (every one goes to the log and the journal).
MAX_HEADER_VIOLATIONS = 10
#: Seconds to wait for an upstream: connecting, and between two bytes of its answer (a GPT Image
#: generation can take minutes before its first byte).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 600.0
#: How often (real seconds) the WebSocket relay looks whether the other side has closed.
POLL_SECONDS = 0.2
#: Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy recomputes; never forwarded either way.
#: ``accept-encoding`` is dropped so bodies can be checked and recorded as they are.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "accept-encoding",
    }
)
_SESSION = SESSION_HEADER.lower()
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def upstream_table(upstreams: Mapping[str, str] | None, providers: Iterable[str]) -> dict[str, str]:
    """Provider name -> upstream base URL (no trailing slash): ``upstreams``' entry, else the real one.
    Raises ``ValueError`` for a provider name pixelmock does not know."""
    given = dict(upstreams or {})
    unknown = sorted(set(given) - set(PROVIDERS))
    if unknown:
        raise ValueError(f"unknown provider(s) {unknown}; known: {list(PROVIDERS)}")
    return {name: given.get(name, real_base_url(name)).rstrip("/") for name in providers}


def websocket_upstreams(upstreams: Mapping[str, str] | None, providers: Iterable[str]) -> dict[str, str]:
    """Provider name -> upstream WebSocket URL, for the providers whose contract has an ``x-websocket``
    block (Runware): its ``url`` (``wss://ws-api.runware.ai/v1``), or, when ``upstreams`` overrides the
    provider's base URL, that URL with the ``ws``/``wss`` scheme (a second pixelmock serves both on one
    path)."""
    out = {}
    for name in providers:
        block = document(name).get("x-websocket")
        if block:
            given = (upstreams or {}).get(name)
            out[name] = "ws" + given.rstrip("/").removeprefix("http") if given else str(block["url"])
    return out


def parse_upstreams(values: Iterable[str]) -> dict[str, str]:
    """``--upstream PROVIDER=URL`` values (repeatable) as ``{provider: URL}``. Raises ``ValueError`` for a
    value without ``=``, an unknown provider or a URL that is not http(s)."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ValueError(f"--upstream {value!r}: expected PROVIDER=http(s)://BASE-URL")
        out[name.strip()] = url.strip()
    upstream_table(out, out)
    return out


def violations_json(items: Iterable[Disagreement]) -> list[dict[str, str]]:
    """Disagreements as the header, the log and the journal show them: ``{"where", "path", "expected",
    "found"}``; a value found in a credential-named field (``$[0].apiKey``) is ``REDACTED``, any other
    goes through ``contracts.secrets.scrub_text``."""
    return [
        {
            "where": d.where,
            "path": d.path,
            "expected": d.expected,
            "found": REDACTED
            if is_credential_field(re.split(r"[.\[\]]", d.path.rstrip("]"))[-1])
            else scrub_text(d.found),
        }
        for d in items
    ]


def _header_value(items: list[Disagreement]) -> str:
    return json.dumps(violations_json(items[:MAX_HEADER_VIOLATIONS]), ensure_ascii=True)


def image_urls(value: Any, key: str = "") -> list[str]:
    """The http(s) URLs of files in a JSON answer: string values under keys naming an image, a file, a
    media item or a bare ``url``/``urls`` (OpenAI's ``data[].url``, Runware's ``imageURL``, Apiframe's
    ``image_urls``, GMI's ``media_urls``), never a webhook or callback URL the client sent."""
    if isinstance(value, dict):
        return [url for name, item in value.items() for url in image_urls(item, str(name))]
    if isinstance(value, list):
        return [url for item in value for url in image_urls(item, key)]
    folded = key.lower()
    wanted = any(word in folded for word in ("image", "file", "media")) or folded in ("url", "urls")
    unwanted = any(word in folded for word in ("webhook", "callback", "upload"))
    if isinstance(value, str) and wanted and not unwanted and value.startswith(("http://", "https://")):
        return [value]
    return []


class Proxy:
    """The forwarding, checking and recording of one proxy app (see the module docs)."""

    def __init__(
        self,
        upstreams: dict[str, str],
        mounted: list[ProviderEmulator],
        record_dir: str | Path | None,
        errors: bool,
        fetch_images: bool,
        client: httpx.Client,
    ) -> None:
        self.upstreams = upstreams
        self.mounted = mounted
        self.writer = CassetteWriter(record_dir) if record_dir is not None else None
        self.errors = errors
        self.fetch_images = fetch_images
        self.client = client
        #: Provider name -> upstream WebSocket URL (``websocket_upstreams``); set by ``create_proxy``.
        self.websockets: dict[str, str] = {}
        #: The session an exchange without ``SESSION_HEADER`` is recorded in (``PUT /__admin/session``:
        #: the pytest plugin names it after the running test), or ``None``: a cassette of its own.
        self.session: str | None = None
        self._emulator: Flask | None = None

    def emulator(self) -> Flask:
        """The in-process emulator answering refused requests under ``errors`` (made on first use)."""
        if self._emulator is None:
            self._emulator = create_app(EmulatorConfig(journal_limit=0), [p.name for p in self.mounted])
        return self._emulator

    def handle(self, provider: ProviderEmulator, rest: str) -> Response:
        """Forward the current request to ``provider``'s upstream (``rest``: the path under its prefix)."""
        method = request.method
        query = request.query_string.decode("latin-1")
        suffix = (f"/{rest}" if rest else "") + (f"?{query}" if query else "")
        contract_uri = real_base_url(provider.name).rstrip("/") + suffix
        body = request.get_data(cache=True)
        session = request.headers.get(SESSION_HEADER) or self.session
        headers = [
            (k, v) for k, v in request.headers.items() if k.lower() not in _HOP and k.lower() != _SESSION
        ]
        found = match(method, contract_uri)
        problems: list[Disagreement] = []
        if found is None:
            problems.append(unmatched(method, contract_uri))
        else:
            problems += check_request(found, dict(headers), body)
        if problems and self.errors:
            refused = self._refusal(provider, rest, query, headers, body)
            if refused is not None:
                journal_note(answered_by="emulator")
                self._report(method, request.path, problems)
                refused.headers[VIOLATIONS_HEADER] = _header_value(problems)
                return refused
        outbound = self.client.build_request(
            method, self.upstreams[provider.name] + suffix, headers=headers, content=body
        )
        try:
            upstream = self.client.send(outbound, stream=True)
        except httpx.HTTPError as exc:
            self._report(method, request.path, problems)
            log.error("upstream %s unreachable: %s", outbound.url, exc)
            return _unreachable(str(outbound.url), exc)
        journal_note(answered_by="upstream")
        answer_headers = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in _HOP]
        operation = found[1] if found else "undocumented"
        exchange = Exchange(
            method=method,
            uri=contract_uri,
            request_headers=tuple(headers),
            request_body=body,
            status=upstream.status_code,
            reason=upstream.reason_phrase,
            response_headers=tuple(answer_headers),
            response_body=b"",
        )
        if upstream.headers.get("content-type", "").startswith("text/event-stream"):
            self._report(method, request.path, problems)
            return self._streamed(provider.name, operation, found, exchange, upstream, problems, session)
        try:
            data = upstream.read()
        except httpx.HTTPError as exc:  # cut off mid-answer
            self._report(method, request.path, problems)
            log.error("upstream %s failed mid-answer: %s", outbound.url, exc)
            return _unreachable(str(outbound.url), exc)
        finally:
            upstream.close()
        if found is not None:
            problems += check_response(found, upstream.status_code, dict(answer_headers), data)
        self._report(method, request.path, problems)
        if 200 <= upstream.status_code < 300:
            self._bill(runtime(), provider.name, body, data)
        self._record(provider.name, operation, dataclasses.replace(exchange, response_body=data), session)
        answer = Response(data, status=upstream.status_code, headers=answer_headers)
        if problems:
            answer.headers[VIOLATIONS_HEADER] = _header_value(problems)
        return answer

    def relay(self, provider: ProviderEmulator, ws: Any) -> None:
        """Relay one WebSocket connection (flask-sock's ``ws``) to ``provider``'s upstream WebSocket API,
        both ways, until either side closes. Each message is checked against the request schema of the
        REST operation it mirrors and each frame against that operation's JSON answers (log; the journal
        has an entry per message); the session is recorded as one cassette, an ``x-websocket``
        interaction per message. ``errors`` does not apply (the protocol has no answer of the proxy's)."""
        url = self.websockets[provider.name]
        named = request.headers.get(SESSION_HEADER) or self.session
        found = websocket_operation(str(document(provider.name)["x-websocket"]["url"]))
        try:
            upstream = WebSocketClient.connect(url)
        except (ConnectionError, OSError) as exc:
            log.error("upstream WebSocket %s unreachable: %s", url, exc)
            ws.close(reason=1011, message="pixelmock proxy: upstream unreachable")
            return
        session: list[tuple[str, list[str]]] = [("", [])]  # (message, frames received after it)
        lock = threading.Lock()
        closed = threading.Event()

        def downstream() -> None:
            try:
                while not closed.is_set():
                    frame = upstream.receive(timeout=POLL_SECONDS)
                    if frame is None:
                        continue
                    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                    ws.send(text)
                    with lock:
                        session[-1][1].append(text)
                    if found is not None:
                        self._report("WEBSOCKET", url, check_frame(found, text))
            except (ConnectionClosed, OSError):
                pass
            finally:
                closed.set()

        pump = threading.Thread(target=downstream, name="pixelmock-proxy-ws", daemon=True)
        pump.start()
        rt = runtime()
        try:
            while not closed.is_set():
                message = ws.receive(timeout=POLL_SECONDS)
                if message is None:
                    continue
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                with journal.journal_message(rt, provider.name, message):
                    if found is not None:
                        headers = {"content-type": "application/json"}
                        self._report("WEBSOCKET", url, check_request(found, headers, text))
                with lock:
                    session.append((text, []))
                upstream.send(message)
        except (ConnectionClosed, OSError):
            pass
        finally:
            closed.set()
            upstream.close()
            pump.join(timeout=5)
            self._record_websocket(provider.name, url, session[1:], named)

    def _record_websocket(
        self, provider: str, url: str, session: list[tuple[str, list[str]]], named: str | None = None
    ) -> None:
        if self.writer is None or not session:
            return
        contract_url = str(document(provider)["x-websocket"]["url"])
        exchanges = [
            Exchange(
                "WEBSOCKET",
                contract_url,
                (),
                message.encode(),
                101,
                "Switching Protocols",
                (("content-type", "application/json"),),
                "\n".join(_one_line(frame) for frame in frames).encode(),
                websocket=True,
            )
            for message, frames in session
        ]
        self._write(provider, "websocket", exchanges, named, f" (from {url})")

    def _refusal(
        self, provider: ProviderEmulator, rest: str, query: str, headers: list[tuple[str, str]], body: bytes
    ) -> Response | None:
        """The emulator's answer to the request when it refuses it (4xx), else ``None``."""
        path = provider.prefix + (f"/{rest}" if rest else "")
        with self.emulator().test_client() as emulator:
            answer = emulator.open(
                path, method=request.method, query_string=query, headers=headers, data=body
            )
        if not 400 <= answer.status_code < 500:
            return None
        refused = Response(answer.get_data(), status=answer.status_code, headers=answer.headers)
        refused.headers[ANSWERED_BY_HEADER] = "emulator"
        return refused

    def _streamed(
        self,
        provider: str,
        operation: str,
        found: tuple[str, str, dict[str, Any]] | None,
        exchange: Exchange,
        upstream: httpx.Response,
        problems: list[Disagreement],
        session: str | None = None,
    ) -> Response:
        """Pass an SSE answer through as it arrives; check, bill and record it whole when it ends."""
        rt = runtime()

        def chunks() -> Iterator[bytes]:
            received: list[bytes] = []
            try:
                for chunk in upstream.iter_bytes():
                    received.append(chunk)
                    yield chunk
            finally:
                upstream.close()
                whole = dataclasses.replace(exchange, response_body=b"".join(received))
                if found is not None:
                    headers = dict(exchange.response_headers)
                    self._report(
                        exchange.method,
                        exchange.uri,
                        check_response(found, exchange.status, headers, whole.response_body),
                    )
                if 200 <= exchange.status < 300:
                    self._bill(rt, provider, exchange.request_body, whole.response_body, streamed=True)
                self._record(provider, operation, whole, session)

        answer = Response(chunks(), status=exchange.status, headers=list(exchange.response_headers))
        if problems:
            answer.headers[VIOLATIONS_HEADER] = _header_value(problems)
        return answer

    def _bill(self, rt: Runtime, provider: str, body: bytes, data: bytes, streamed: bool = False) -> None:
        """Bill what the upstream's answer says it cost (``contracts.pricing.reported_costs``; a
        ``streamed`` (SSE) answer: ``reported_stream_costs`` of its events) to the proxy's bill (``GET
        /__admin/bill`` of ``rt``): one request of the request's ``model`` per answer that reports a
        cost. An answer that is not JSON (or a request that is not: a multipart edit) bills nothing."""
        try:
            asked = json.loads(body or b"null")
            text = data.decode("utf-8")
            if streamed:
                events = [_loaded(event["data"]) for event in server_sent_events(text)]
                costs = reported_stream_costs(provider, asked, events, rt.clock.today())
            else:
                costs = reported_costs(provider, asked, json.loads(text), rt.clock.today())
        except (UnicodeDecodeError, ValueError):
            return
        model = _model_of(asked)
        for currency, amount in costs.items():
            rt.bill.record(
                LedgerLine(
                    account_id="upstream",
                    currency=currency,
                    amount=-amount,
                    balance_after=Decimal(0),
                    memo="reported by the upstream",
                    at=rt.clock.now().isoformat(),
                    provider=provider,
                    model=model,
                    images=1,
                )
            )

    def _report(self, method: str, path: str, problems: list[Disagreement]) -> None:
        """Log each violation and note them all in the journal entry (inside a request)."""
        if not problems:
            return
        shown = violations_json(problems)
        for item in shown:
            log.warning(
                "contract violation on %s %s: %s %s: expected %s, found %s",
                method,
                path,
                item["where"],
                item["path"],
                item["expected"],
                item["found"],
            )
        journal_note(violations=shown)

    def _record(self, provider: str, operation: str, exchange: Exchange, session: str | None = None) -> None:
        if self.writer is None:
            return
        exchanges = [exchange]
        if self.fetch_images:
            exchanges += self._fetched(exchange)
        self._write(provider, operation, exchanges, session)

    def _write(
        self, provider: str, operation: str, exchanges: list[Exchange], session: str | None, note: str = ""
    ) -> None:
        """Write ``exchanges`` as a cassette of their own, or append them to the named ``session``'s."""
        assert self.writer is not None
        try:
            if session:
                path = self.writer.append(session, exchanges)
            else:
                path = self.writer.write(provider, operation, exchanges)
        except OSError as exc:
            log.error("could not write a cassette under %s: %s", self.writer.directory, exc)
            return
        log.info("recorded %s%s", path, note)

    def _fetched(self, exchange: Exchange) -> list[Exchange]:
        """The files the answer names by URL, fetched (each once; failures logged and skipped)."""
        try:
            parsed = json.loads(exchange.response_body)
        except (UnicodeDecodeError, ValueError):
            return []
        out = []
        for url in dict.fromkeys(image_urls(parsed)):
            try:
                got = self.client.get(url)
            except httpx.HTTPError as exc:
                log.warning("could not fetch %s for the recording: %s", url, exc)
                continue
            headers = tuple((k, v) for k, v in got.headers.multi_items() if k.lower() not in _HOP)
            out.append(
                Exchange("GET", url, (), b"", got.status_code, got.reason_phrase, headers, got.content, True)
            )
        return out


def _model_of(request: Any) -> str | None:
    """The ``model`` a JSON request names (a task array's first task's), or ``None``."""
    first = request[0] if isinstance(request, list) and request else request
    model = first.get("model") if isinstance(first, dict) else None
    return str(model) if model else None


def _loaded(text: str) -> Any:
    """An event's data as JSON, or ``None`` when it is not (``[DONE]``)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _one_line(frame: str) -> str:
    """A frame as one line of a recorded session: compact JSON, or a JSON string of a frame that is not."""
    try:
        return json.dumps(json.loads(frame), separators=(",", ":"))
    except ValueError:
        return json.dumps(frame)


def _unreachable(url: str, exc: httpx.HTTPError) -> Response:
    """The proxy's own 502 when the upstream does not answer: no provider said anything, so the body is
    pixelmock's (``{"error": {"type": "pixelmock_proxy_error", "message"}}``), not a provider's."""
    message = f"pixelmock proxy: upstream {url} unreachable: {type(exc).__name__}: {exc}"
    body = json.dumps({"error": {"type": "pixelmock_proxy_error", "message": message}})
    return Response(body, status=502, mimetype="application/json")


def create_proxy(
    upstreams: Mapping[str, str] | None = None,
    *,
    record_dir: str | Path | None = None,
    errors: bool = False,
    fetch_images: bool = False,
    providers: Iterable[str] | None = None,
    config: EmulatorConfig | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Flask:
    """Build the proxy app (see the module docs).

    ``upstreams``: provider name -> base URL overriding the real one (e.g. ``{"openai":
    "https://staging.example/v1"}``); ``record_dir``: where cassettes go (``None``: nothing recorded);
    ``errors``: refuse contract-breaking requests locally; ``fetch_images``: record the files answers name
    by URL; ``providers``: which prefixes are served (default: every provider of the registry);
    ``config``: the journal's size (``journal_limit``) and clock; ``transport``: httpx transport for the
    upstream calls (default: the network). Raises ``ValueError`` for an unknown provider name.
    """
    names = list(providers) if providers is not None else list(PROVIDERS)
    table = upstream_table(upstreams, names)
    mounted = load_providers(names)
    app = Flask("pixelmock.proxy")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    rt = Runtime(config or EmulatorConfig())
    app.extensions["pixelmock"] = rt
    app.extensions["pixelmock.providers"] = mounted
    app.extensions["pixelmock.upstreams"] = table
    client = httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT), transport=transport)
    proxy = Proxy(table, mounted, record_dir, errors, fetch_images, client)
    app.extensions["pixelmock.proxy"] = proxy
    proxy.websockets = websocket_upstreams(upstreams, names)
    sock = Sock(app)

    for provider in mounted:

        def forward(rest: str = "", provider: ProviderEmulator = provider) -> Response:
            return proxy.handle(provider, rest)

        app.add_url_rule(provider.prefix, f"{provider.name}_root", forward, methods=_METHODS)
        app.add_url_rule(
            f"{provider.prefix}/<path:rest>", f"{provider.name}_proxy", forward, methods=_METHODS
        )
        if provider.name in proxy.websockets:

            def relay(ws: Any, provider: ProviderEmulator = provider) -> None:
                proxy.relay(provider, ws)

            for path, suffix in ((provider.prefix, ""), (provider.prefix + "/", "_slash")):
                sock.route(path, endpoint=f"{provider.name}_websocket{suffix}")(relay)

    @app.get("/__health")
    def health() -> Response:
        return jsonify(
            status="ok", version=__version__, providers={p.name: p.prefix for p in mounted}, upstreams=table
        )

    @app.route(SESSION_PATH, methods=["GET", "PUT"])
    def recording_session() -> Response:
        """``PUT {"name": str | null}``: record every later exchange that names no session of its own in
        that session's cassette (``null``: each in a cassette of its own); 400 for another body. Both
        methods answer ``{"name": ...}``, the current session."""
        if request.method == "PUT":
            given = request.get_json(silent=True)
            name = given.get("name", _MISSING) if isinstance(given, dict) else _MISSING
            if not (name is None or (isinstance(name, str) and name.strip())):
                message = 'expected {"name": "<session>"} or {"name": null}'
                return Response(json.dumps({"error": message}), status=400, mimetype="application/json")
            proxy.session = name
        return jsonify(name=proxy.session)

    owner = owner_finder(mounted)

    app.register_blueprint(admin.bp, url_prefix=admin.PREFIX)
    exchange.install(app, rt, owner)
    journal.install(app, rt)
    access_log.install(app, rt.config)

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        """A path under no prefix: the emulator's near-miss 404 (JSON, routes as the emulator has them),
        never Flask's HTML page."""
        if request.path.startswith(("/__admin", "/__health")):
            return Response(json.dumps({"error": exc.description}), status=404, mimetype="application/json")
        answer = jsonify(access_log.unmatched_body(proxy.emulator()))
        answer.status_code = 404
        return answer

    return app


def announce(app: Flask, out: Any = None) -> None:
    """Print where each prefix forwards (``/openai/v1 -> https://api.openai.com/v1``; a WebSocket
    upgrade's upstream on a line of its own)."""
    out = out or sys.stdout
    table: dict[str, str] = app.extensions["pixelmock.upstreams"]
    websockets: dict[str, str] = app.extensions["pixelmock.proxy"].websockets
    print("pixelmock proxy forwards:", file=out, flush=True)
    for provider in app.extensions["pixelmock.providers"]:
        print(f"  {provider.prefix:<42} -> {table[provider.name]}", file=out, flush=True)
        if provider.name in websockets:
            upgrade = f"{provider.prefix} (WebSocket)"
            print(f"  {upgrade:<42} -> {websockets[provider.name]}", file=out, flush=True)


def run_proxy(
    upstreams: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    record_dir: str | Path | None = None,
    errors: bool = False,
    fetch_images: bool = False,
    providers: Iterable[str] | None = None,
    port_file: str | Path | None = None,
    tls: TlsFiles | None = None,
) -> None:
    """``pixelmock proxy``: print where it forwards, serve the proxy until SIGINT/SIGTERM
    (``emulators.tools.server.serve``, which builds it in its worker; HTTPS with ``tls``, as ``serve``).
    Raises ``ValueError`` for an unknown provider name or a malformed upstream, ``server.PortInUse`` when
    the port is taken."""
    from pixelmock.emulators.tools.server import serve

    def build() -> Flask:
        return create_proxy(
            upstreams, record_dir=record_dir, errors=errors, fetch_images=fetch_images, providers=providers
        )

    announce(build())  # also checks every argument before anything is served
    if record_dir is not None:
        print(f"  recording cassettes under {Path(record_dir).resolve()}", flush=True)
    serve(build, host, port, port_file=port_file, tls=tls)
