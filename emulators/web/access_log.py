"""The access log: one line per request, from the app itself, and near-miss hints for unmatched paths.

Records go to the standard ``logging`` module: ``pixelmock.access`` (one per request: time, method, path,
status, milliseconds, provider, job or task id, cost moved on the ledger) and ``pixelmock.outbound`` (one
per webhook or upload attempt, ``emulators/core/webhooks.py``). ``configure`` gives the ``pixelmock``
logger the app's ``EmulatorConfig.log_level`` and, unless a handler up the logger tree already takes
its records (pytest's log capture, an application's own ``logging`` setup: the rule Flask uses for
``app.logger``), a handler writing to stderr in ``EmulatorConfig.log_format``: ``text``::

    2026-12-02T09:41:07.512Z INFO POST /openai/v1/images/generations 200 41.2ms openai cost=0.011 USD

or ``json``, one object per line (``time``, ``level``, ``logger``, ``message`` and the record's fields:
``method``, ``path``, ``status``, ``ms``, ``provider``, ``job``, ``cost`` {currency: decimal string},
``hint``). The logger is the process's: the last app built sets its level and format.

Control-plane requests (``/__admin/``) are logged at DEBUG (a page polling the journal would drown the
rest); a request no route matched at WARNING, with the nearest route (``near_miss``). No header, query
string or body is ever logged: every logged path or URL goes through ``loggable``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Request, Response, g, request
from werkzeug.exceptions import HTTPException

from pixelmock.emulators.config import LOG_FORMATS, LOG_LEVELS

if TYPE_CHECKING:
    from pixelmock.emulators.config import EmulatorConfig
    from pixelmock.emulators.core.runtime import ProviderEmulator

__all__ = [
    "LEVELS",
    "JsonFormatter",
    "TextFormatter",
    "check",
    "configure",
    "emit",
    "install",
    "loggable",
    "near_miss",
]

ACCESS = logging.getLogger("pixelmock.access")
OUTBOUND = logging.getLogger("pixelmock.outbound")
ROOT = logging.getLogger("pixelmock")
#: ``EmulatorConfig.log_level`` names (``config.LOG_LEVELS``) -> ``logging`` levels; ``off`` logs nothing.
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 10,
}
#: The fields a record may carry (``extra=``) that the JSON format writes out.
FIELDS = ("method", "path", "status", "ms", "provider", "job", "cost", "hint", "kind", "attempt", "outcome")
#: Response keys read (small JSON answers only) for the id of a job just created.
_ID_KEYS = ("taskUUID", "jobId", "job_id", "request_id", "id")
#: Note keys and route arguments naming a job or task.
_ID_NOTES = ("taskUUID", "job_id", "request_id")
_SMALL_ANSWER = 4096
#: Longer paths get no similarity search (difflib's cost grows with the product of the lengths).
_NEAR_MAX = 1024
_START = "pixelmock_access_start"
_NEAR = "pixelmock_near_miss"
_ADMIN = "/__admin"


def check(config: EmulatorConfig) -> None:
    """Raises ``ValueError`` when ``config.log_level`` or ``config.log_format`` is not one of
    ``config.LOG_LEVELS`` / ``config.LOG_FORMATS``."""
    if config.log_level not in LOG_LEVELS:
        raise ValueError(f"log_level {config.log_level!r}: expected one of {', '.join(LOG_LEVELS)}")
    if config.log_format not in LOG_FORMATS:
        raise ValueError(f"log_format {config.log_format!r}: expected one of {', '.join(LOG_FORMATS)}")


def loggable(url: str) -> str:
    """What the log shows of a path or URL: scheme, host, port and path only (no user info, query or
    fragment, which may carry credentials). What is left still passes the ``LogScrubber`` every
    pixelmock logger carries (``pixelmock.contracts.secrets``, installed by ``create_app``)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]


def emit(logger: logging.Logger, level: int, text: str, fields: dict[str, Any]) -> None:
    """Log ``text`` with ``fields`` (the record's attributes, see ``FIELDS``) at ``level``, when enabled.
    The record is made directly: ``Logger.log`` would walk the stack for the caller on every request."""
    if logger.isEnabledFor(level):
        logger.handle(logger.makeRecord(logger.name, level, "(pixelmock)", 0, text, (), None, extra=fields))


# --------------------------------------------------------------------------------------------------------
# Formatting


def _time(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <message>`` and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_time(record)} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``, the record's ``FIELDS``
    that are set and ``exception`` (the traceback text) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, separators=(",", ":"), default=str)


class _Handler(logging.StreamHandler[TextIO]):
    """pixelmock's own stderr handler (told apart from any other by its class). Writes to the
    ``sys.stderr`` of the moment, so a stream swapped later (a test's capture) gets the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _handled_elsewhere(logger: logging.Logger) -> bool:
    """Whether a handler other than ours, on ``logger`` or a parent it propagates to, takes records of
    its level (``flask.logging.has_level_handler``'s rule)."""
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(not isinstance(h, _Handler) and h.level <= level for h in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False


def configure(level: str = "info", fmt: str = "text") -> None:
    """Set the ``pixelmock`` logger to ``level`` and, unless another handler takes its records, write them
    to stderr in ``fmt`` (``text`` or ``json``). Idempotent: one stderr handler at most."""
    ROOT.setLevel(LEVELS[level])
    ours = [h for h in ROOT.handlers if isinstance(h, _Handler)]
    for handler in ours:
        ROOT.removeHandler(handler)
    if _handled_elsewhere(ROOT):
        return
    handler = ours[0] if ours else _Handler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    ROOT.addHandler(handler)


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
    """``near_miss`` of the current request, computed once per request: the unmatched answer's body and
    its access line both need it."""
    if _NEAR not in g:
        setattr(g, _NEAR, near_miss(app, request.method, request.path))
    nearest: str | None = g.get(_NEAR)
    return nearest


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


def _cost(ledger: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Money the request moved, per currency, debits positive (a refund is negative)."""
    sums: dict[str, Decimal] = {}
    for line in ledger:
        sums[line["currency"]] = sums.get(line["currency"], Decimal(0)) - Decimal(str(line["amount"]))
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
    if fields.get("hint"):
        text += f" hint={fields['hint']!r}"
    return text


def log_request(app: Flask, provider: ProviderEmulator | None, response: Response, started: float) -> None:
    """Log the current request's access line (see the module docstring)."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    path = req.path
    admin = path == _ADMIN or path.startswith(_ADMIN + "/")
    level = logging.DEBUG if admin else logging.INFO
    hint = None
    if response.status_code == 404 and req.url_rule is None and not admin:
        level = logging.INFO if provider is not None else logging.WARNING
        nearest = request_near_miss(app)
        hint = f"did you mean {nearest}?" if nearest else None
    if not ACCESS.isEnabledFor(level):
        return
    # Imported here: the journal and the webhooks import this module.
    from pixelmock.emulators.core.journal import request_records

    notes, ledger = request_records()
    fields = {
        "method": req.method,
        "path": loggable(path),
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "provider": provider.name if provider is not None else None,
        "job": _job(req, notes, response) if provider is not None else None,
        "cost": _cost(ledger) or None,
        "hint": hint,
    }
    emit(ACCESS, level, _line(fields), fields)


def log_message(
    provider: str, method: str, notes: list[dict[str, Any]], ledger: list[dict[str, Any]], started: float
) -> None:
    """Log one message received on a WebSocket (``journal_message``): ``method`` (``WEBSOCKET``), the
    upgrade's path, status 101, the task the message noted and the money it moved."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": method,
        "path": loggable(request.path),
        "status": 101,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "provider": provider,
        "job": _noted_job(notes),
        "cost": _cost(ledger) or None,
        "hint": None,
    }
    emit(ACCESS, logging.INFO, _line(fields), fields)


def install(app: Flask, config: EmulatorConfig, owner: Callable[[], ProviderEmulator | None]) -> None:
    """Log every request ``app`` answers (``before_request``/``after_request`` hooks), after
    ``configure``-ing the logger from ``config``."""
    configure(config.log_level, config.log_format)

    @app.before_request
    def _access_start() -> None:
        setattr(g, _START, time.perf_counter())

    @app.after_request
    def _access_line(response: Response) -> Response:
        started = g.get(_START)
        if started is not None:
            log_request(app, owner(), response, started)
        return response
