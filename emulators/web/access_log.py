"""The access log: one line per request, from the app itself, and near-miss hints for unmatched paths.

Records go to the standard ``logging`` module: ``pixelmock.access`` (one per request: time, method, path,
status, milliseconds, provider, job or task id, cost moved on the ledger, and
``shut_down=model@provider:date`` when the answer refused a model the provider no longer serves,
``from=cassette|replay|upstream|fault|emulator`` when the answer was not the emulator's own: the exchange's
``answered_by`` note) and
``pixelmock.outbound`` (one per webhook or upload attempt, ``emulators/core/webhooks.py``).
``configure`` gives the ``pixelmock`` logger the app's ``EmulatorConfig.log_level`` and, unless a handler
up the logger tree already takes its records (pytest's log capture, an application's own ``logging``
setup: the rule Flask uses for ``app.logger``), a handler writing to stderr in
``EmulatorConfig.log_format``: ``text``::

    2026-12-02T09:41:07.512Z INFO POST /openai/v1/images/generations 200 41.2ms openai cost=0.011 USD

or ``json``, one object per line (``time``, ``level``, ``logger``, ``message`` and the record's fields:
``method``, ``path``, ``status``, ``ms``, ``provider``, ``job``, ``cost`` {currency: decimal string},
``hint``, ``answered_by``). The logger is the process's: the last app built sets its level and format.

Control-plane requests (``/__admin/``) are logged at DEBUG (a page polling the journal would drown the
rest); a request no route matched at WARNING, with the nearest route (``near_miss``). No header, query
string or body is ever logged: every logged path or URL goes through ``loggable``.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, request
from werkzeug.exceptions import HTTPException

from pixelmock.emulators.core.exchange import Exchange, current
from pixelmock.emulators.core.logs import ACCESS, configure, emit, loggable

if TYPE_CHECKING:
    from pixelmock.emulators.config import EmulatorConfig
    from pixelmock.emulators.core.accounts import LedgerLine

__all__ = ["install", "log_message", "log_request", "near_miss", "unmatched_body"]

#: Response keys read (small JSON answers only) for the id of a job just created.
_ID_KEYS = ("taskUUID", "jobId", "job_id", "request_id", "id")
#: Note keys and route arguments naming a job or task.
_ID_NOTES = ("taskUUID", "job_id", "request_id")
_SMALL_ANSWER = 4096
#: Longer paths get no similarity search (difflib's cost grows with the product of the lengths).
_NEAR_MAX = 1024
_ADMIN = "/__admin"


# --------------------------------------------------------------------------------------------------------
# Near misses


def near_miss(app: Flask, method: str, path: str) -> str | None:
    """The route ``path`` most likely meant, as a path to request, or ``None``. First the path under a
    provider's prefix, or under its leading part when the path already starts with the real API's base
    path (``/v1/images/generations`` -> ``/openai/v1/images/generations``, ``/client/v4/accounts/...``
    -> ``/cloudflare/client/v4/accounts/...``; any method), then the closest URL rule by ``difflib``
    similarity (at least 0.6)."""
    adapter = app.url_map.bind("localhost")
    for candidate in _under_prefixes(app, path):
        if _routes(adapter, candidate, method):
            return candidate
    if len(path) > _NEAR_MAX:
        return None
    rules = sorted({rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"})
    found = difflib.get_close_matches(path, rules, n=1, cutoff=0.6)
    return found[0] if found else None


def _under_prefixes(app: Flask, path: str) -> list[str]:
    """``path`` under each mounted prefix and each leading part of it (longest first)."""
    tail = path if path.startswith("/") else "/" + path
    candidates = []
    for provider in app.extensions.get("pixelmock.providers", []):
        segments = provider.prefix.strip("/").split("/") if provider.prefix else []
        for keep in range(len(segments), 0, -1):
            candidates.append("/" + "/".join(segments[:keep]) + tail)
    return candidates


def _routes(adapter: Any, path: str, method: str) -> bool:
    try:
        adapter.match(path, method=method)
    except HTTPException as exc:
        return exc.code == 405  # the path exists, with another method
    except Exception:  # a redirect (trailing slash) or any other routing outcome: not a route
        return False
    return True


def request_near_miss(app: Flask) -> str | None:
    """``near_miss`` of the current request, computed once per exchange: the unmatched answer's body and
    its access line both need it."""
    exchange = current()
    if exchange is None:
        return near_miss(app, request.method, request.path)
    if not exchange.near_miss_known:
        exchange.near_miss = near_miss(app, request.method, request.path)
        exchange.near_miss_known = True
    return exchange.near_miss


def unmatched_body(app: Flask) -> dict[str, Any]:
    """The 404 body for the current request, whose path is under no provider's prefix and no route:
    ``error``, ``did_you_mean`` (a path or ``null``), ``hint`` (a sentence) and ``providers`` (name ->
    mounted prefix)."""
    method = request.method
    nearest = request_near_miss(app)
    providers = {p.name: p.prefix for p in app.extensions.get("pixelmock.providers", [])}
    shown = loggable(request.path)
    hint = f"did you mean {nearest}?" if nearest else "no route is near it"
    return {
        "error": f"pixelmock has no route for {method} {shown}: {hint} Providers are mounted under "
        + ", ".join(f"{prefix or '/'} ({name})" for name, prefix in providers.items()),
        "did_you_mean": nearest,
        "hint": hint,
        "providers": providers,
    }


# --------------------------------------------------------------------------------------------------------
# The access line


def _cost(ledger: Iterable[LedgerLine]) -> dict[str, str]:
    """Money the request moved, per currency, debits positive (a refund is negative)."""
    sums: dict[str, Decimal] = {}
    for line in ledger:
        sums[line.currency] = sums.get(line.currency, Decimal(0)) - line.amount
    return {currency: format(amount, "f") for currency, amount in sums.items()}


def _noted_job(notes: Iterable[dict[str, Any]]) -> str | None:
    for note in notes:
        for key in _ID_NOTES:
            if note.get(key):
                return str(note[key])
    return None


def _job(req: Request, notes: Iterable[dict[str, Any]], response: Response) -> str | None:
    """The job or task id of the request: noted by the provider, in the route (a poll), or in the small
    JSON answer to a successful POST (a job just created)."""
    noted = _noted_job(notes)
    if noted is not None:
        return noted
    arguments = req.view_args or {}
    routed = next((arguments[key] for key in _ID_NOTES if arguments.get(key)), None)
    if routed is not None:
        return str(routed)
    created = req.method == "POST" and response.status_code < 300
    small = not response.is_streamed and not response.direct_passthrough
    if created and small and response.is_json and (response.content_length or 0) <= _SMALL_ANSWER:
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            return next((str(body[k]) for k in _ID_KEYS if isinstance(body.get(k), str | int)), None)
    return None


def _line(fields: dict[str, Any]) -> str:
    text = f"{fields['method']} {fields['path']} {fields['status']} {fields['ms']}ms"
    if fields.get("provider"):
        text += f" {fields['provider']}"
    if fields.get("job"):
        text += f" job={fields['job']}"
    if fields.get("cost"):
        text += " cost=" + ",".join(f"{amount} {currency}" for currency, amount in fields["cost"].items())
    if fields.get("shut_down"):
        text += " shut_down=" + fields["shut_down"]
    if fields.get("hint"):
        text += f" hint={fields['hint']!r}"
    if fields.get("answered_by"):
        text += f" from={fields['answered_by']}"
    return text


def _answered_by(notes: Iterable[dict[str, Any]]) -> str | None:
    """Where the answer came from when the emulator did not make it: the last ``answered_by`` note
    (``cassette``: a replayed recording, ``replay``: the replaying server's answer to a WebSocket message
    no recording matches, ``upstream``: the proxy's upstream, ``fault``: an injected
    fault's answer, ``emulator``: the proxy's local refusal)."""
    found = [str(note["answered_by"]) for note in notes if note.get("answered_by")]
    return found[-1] if found else None


def _shut_down(notes: Iterable[dict[str, Any]]) -> str | None:
    """``model@provider:date`` of a refusal because the model shut down (``note_shutdown``), else None."""
    for note in notes:
        found = note.get("shut_down")
        if isinstance(found, dict):
            return f"{found['model']}@{found['provider']}:{found['date']}"
    return None


def log_request(app: Flask, exchange: Exchange, response: Response) -> None:
    """Log the current request's access line (see the module docstring)."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    path = req.path
    admin = path == _ADMIN or path.startswith(_ADMIN + "/")
    level = logging.DEBUG if admin else logging.INFO
    hint = None
    if response.status_code == 404 and req.url_rule is None and not admin:
        level = logging.INFO if exchange.provider is not None else logging.WARNING
        nearest = request_near_miss(app)
        hint = f"did you mean {nearest}?" if nearest else None
    if not ACCESS.isEnabledFor(level):
        return
    fields = {
        "method": req.method,
        "path": loggable(path),
        "status": response.status_code,
        "ms": exchange.elapsed_ms(1),
        "provider": exchange.provider,
        "job": _job(req, exchange.notes, response) if exchange.provider is not None else None,
        "cost": _cost(exchange.ledger) or None,
        "shut_down": _shut_down(exchange.notes),
        "hint": hint,
        "answered_by": _answered_by(exchange.notes),
    }
    emit(ACCESS, level, _line(fields), fields)


def log_message(exchange: Exchange) -> None:
    """Log one message received on a WebSocket (``journal_message``): ``method`` (``WEBSOCKET``), the
    upgrade's path, status 101, the task the message noted and the money it moved."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": exchange.method,
        "path": loggable(exchange.path),
        "status": 101,
        "ms": exchange.elapsed_ms(1),
        "provider": exchange.provider,
        "job": _noted_job(exchange.notes),
        "cost": _cost(exchange.ledger) or None,
        "shut_down": _shut_down(exchange.notes),
        "hint": None,
        "answered_by": _answered_by(exchange.notes),
    }
    emit(ACCESS, logging.INFO, _line(fields), fields)


def install(app: Flask, config: EmulatorConfig) -> None:
    """Log every request ``app`` answers (an ``after_request`` hook reading the current ``Exchange``),
    after ``configure``-ing the logger from ``config``."""
    configure(config.log_level, config.log_format)

    @app.after_request
    def _access_line(response: Response) -> Response:
        exchange = current()
        if exchange is not None:
            log_request(app, exchange, response)
        return response
