"""``create_app``: one Flask app serving every provider's blueprint under its prefix.

Also served: ``/`` (a landing page naming the inspector and each provider's base URL),
``<prefix>/openapi.json`` (the provider's contract with this emulator as its server),
``/files/<id>.<ext>`` (generated images), ``/__health`` and the control plane ``/__admin/``
(emulators/admin/routes.py). Every request is one ``Exchange`` (emulators/web/exchange.py); under a
provider's prefix it is journaled (emulators/web/journal.py) and may get an injected fault
(emulators/web/faults.py); due work (job timers, webhook deliveries) runs around every request
(emulators/web/ticks.py).
Framework-level failures under a provider's prefix (unknown route, wrong method, oversized or malformed
body, an unexpected exception) are answered with that provider's own error body, never Flask's HTML pages.
A path under no provider's prefix that no route serves is answered 404 with the mounted prefixes and
the nearest route (``access_log.unmatched_body``) and journaled as unmatched. Every request is logged
(``emulators/web/access_log.py``) and every ledger line billed (``emulators/core/bill.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from markupsafe import escape
from werkzeug.exceptions import HTTPException, NotFound

from pixelmock import __version__
from pixelmock.contracts.openapi import served
from pixelmock.contracts.options import check_values
from pixelmock.contracts.secrets import scrub_logs
from pixelmock.emulators.admin import routes as admin
from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.core import logs
from pixelmock.emulators.core.exchange import current
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.store import Store, StoreUnavailable
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.web import access_log, exchange, faults, journal, ticks
from pixelmock.emulators.web.context import MalformedBody, bound_chunked_bodies, runtime
from pixelmock.emulators.web.provider import ProviderEmulator, owner_finder

log = logging.getLogger("pixelmock")
#: Loggers whose lines can hold a request's URL (Werkzeug's and gunicorn's request lines): scrubbed.
SCRUBBED_LOGGERS = (
    "pixelmock",
    "pixelmock.access",
    "pixelmock.outbound",
    "werkzeug",
    "gunicorn.access",
    "gunicorn.error",
)

#: Paths that are the emulator's own (answered by their own 404), never "unmatched".
RESERVED = ("/__admin", "/files/", "/__health")

KINDS = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


def create_app(
    config: EmulatorConfig | None = None, providers: Iterable[str] | None = None, store: Store | None = None
) -> Flask:
    """Build the emulator app. ``providers`` limits which providers are mounted (default: every provider
    of the registry, ``contracts/data/providers.yaml``);
    ``store`` is where its runtime keeps state (default: ``core.store.open_store(config.store)``):
    apps given one store answer as one emulator (the workers of ``pixelmock serve``). Raises
    ``ValueError`` for a contract option set to a value that is not one of its alternatives, or
    an unknown ``log_level`` / ``log_format``."""
    config = config or EmulatorConfig()
    check_values(config.options)
    for name in SCRUBBED_LOGGERS:
        scrub_logs(logging.getLogger(name))
    logs.check(config)
    app = Flask("pixelmock")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["pixelmock"] = rt = Runtime(config, store)
    mounted = load_providers(providers)
    app.extensions["pixelmock.providers"] = mounted
    for provider in mounted:
        rt.count_against_budgets(provider.budgets)
        app.register_blueprint(provider.blueprint, url_prefix=provider.prefix)
        _serve_contract(app, provider)

    @app.get("/__health")
    def health() -> Response:
        return jsonify(status="ok", version=__version__, providers={p.name: p.prefix for p in mounted})

    @app.get("/files/<file_id>.<ext>")
    def file(file_id: str, ext: str) -> Response:
        stored = runtime().files.get(file_id)
        if stored is None:
            return Response("Not Found", status=404, mimetype="text/plain")
        return Response(stored.data, mimetype=stored.mime)

    if not any(p.owns("/") for p in mounted):
        app.add_url_rule("/", "landing", lambda: _landing(mounted), methods=["GET"])

    owner = owner_finder(mounted)

    def prefix_of() -> str:
        provider = owner()
        return provider.prefix if provider is not None else ""

    app.register_blueprint(admin.bp, url_prefix=admin.PREFIX)
    exchange.install(app, rt, owner)
    journal.install(app, rt)
    faults.install(app, rt.faults, owner, prefix_of)
    ticks.bind(app, rt)
    bound_chunked_bodies(app)

    @app.errorhandler(MalformedBody)
    def malformed(exc: MalformedBody) -> Response:
        status = 415 if exc.kind == "unsupported_media_type" else 400
        provider = owner()
        if provider is None:
            return _plain(status, exc.message)
        return provider.error_response(status, exc.kind, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        provider = owner()
        if provider is None:
            return _plain(status, exc.description or exc.name)
        return provider.error_response(status, KINDS.get(status, "internal"), exc.description or exc.name)

    @app.errorhandler(StoreUnavailable)
    def outage(exc: StoreUnavailable) -> ResponseReturnValue:
        moved = current()
        charged = "; ".join(line.memo for line in moved.ledger) if moved is not None else ""
        log.error(
            "store unavailable on %s %s: %s%s", request.method, request.path, exc,
            f" (balance moved without an answer: {charged})" if charged else "",
        )  # fmt: skip
        provider = owner()
        answer = None if provider is None else faults.outage_response(provider)
        if answer is None:
            return _plain(503, f"pixelmock: {exc}")
        return answer

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        provider = owner()
        message = "The server had an error while processing your request."
        if provider is None:
            return _plain(500, message)
        return provider.error_response(500, "internal", message)

    access_log.install(app, config)
    _answer_unmatched(app, rt, owner, http_error)
    return app


def _answer_unmatched(
    app: Flask,
    rt: Runtime,
    owner: Callable[[], ProviderEmulator | None],
    fallback: Callable[[HTTPException], Response],
) -> None:
    """A 404 for a path under no provider's prefix, no route and none of ``RESERVED`` is answered with
    ``access_log.unmatched_body`` (WireMock's near-miss) and journaled as unmatched; any other 404 goes to
    ``fallback`` (the provider's own body under its prefix)."""

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        path = request.path
        if request.url_rule is not None or owner() is not None or path.startswith(RESERVED):
            return fallback(exc)
        arrived = current()
        if arrived is not None:
            arrived.unmatched = True
        response = jsonify(access_log.unmatched_body(app))
        response.status_code = 404
        return response

    @app.after_request
    def _journal_unmatched(response: Response) -> Response:
        arrived = current()
        if arrived is not None and arrived.unmatched:
            max_body, depth = app.config.get("MAX_CONTENT_LENGTH"), rt.config.max_json_depth
            journal.record_unmatched(rt.journal, max_body, response, max_depth=depth)
        return response


def mounted_providers(app: Flask) -> list[ProviderEmulator]:
    """The providers an app built by ``create_app`` serves."""
    return list(app.extensions["pixelmock.providers"])


def _serve_contract(app: Flask, provider: ProviderEmulator) -> None:
    def contract() -> Response:
        return jsonify(served(provider.name, request.host_url.rstrip("/") + provider.prefix))

    app.add_url_rule(f"{provider.prefix}/openapi.json", f"{provider.name}_openapi", contract, methods=["GET"])


def _landing(mounted: Iterable[ProviderEmulator]) -> Response:
    """``GET /``: where to go from here: the inspector, health, and each mounted provider's base URL on the
    root the client reached. JSON by default (``curl``); a small HTML page with links for a browser
    (``Accept: text/html`` preferred)."""
    root = request.host_url.rstrip("/")
    providers = {p.name: root + p.prefix for p in mounted}
    body: dict[str, object] = {
        "pixelmock": __version__,
        "inspector": f"{root}{admin.PREFIX}/ui",
        "health": f"{root}/__health",
        "admin": f"{root}{admin.PREFIX}/",
        "providers": providers,
    }
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        return jsonify(body)
    rows = "".join(
        f'<li>{escape(name)}: <a href="{escape(url)}/openapi.json">{escape(url)}</a></li>'
        for name, url in providers.items()
    )
    page = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>pixelmock {escape(__version__)}</title>"
        f"<h1>pixelmock {escape(__version__)}</h1>"
        f'<p>Watch requests, images, jobs and costs in the <a href="{admin.PREFIX}/ui">inspector</a>'
        f' &middot; <a href="/__health">health</a></p>'
        f"<p>Point your client or SDK at a base URL (each links its OpenAPI contract):</p><ul>{rows}</ul>"
    )
    return Response(page, mimetype="text/html")


def _plain(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response
