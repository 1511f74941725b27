"""pixelmock's loggers and their output: ``pixelmock.access`` (one line per request or WebSocket message,
``pixelmock.emulators.web.access_log``), ``pixelmock.outbound`` (one per webhook or upload attempt,
``pixelmock.emulators.core.webhooks``) under ``pixelmock``.

``configure`` gives the ``pixelmock`` logger the app's ``EmulatorConfig.log_level`` and, unless a handler
up the logger tree already takes its records (pytest's log capture, an application's own ``logging``
setup: the rule Flask uses for ``app.logger``), a handler writing to stderr in
``EmulatorConfig.log_format``: ``text`` (``<UTC time> <LEVEL> <message>``) or ``json``, one object per
line (``time``, ``level``, ``logger``, ``message`` and the record's ``FIELDS``). The logger is the
process's: the last app built sets its level and format. No header, query string or body is ever
logged: every logged path or URL goes through ``loggable``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from pixelmock.emulators.config import LOG_FORMATS, LOG_LEVELS

if TYPE_CHECKING:
    from pixelmock.emulators.config import EmulatorConfig

__all__ = [
    "ACCESS",
    "FIELDS",
    "LEVELS",
    "OUTBOUND",
    "JsonFormatter",
    "TextFormatter",
    "check",
    "configure",
    "emit",
    "loggable",
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
FIELDS = (
    "method",
    "path",
    "status",
    "ms",
    "provider",
    "job",
    "cost",
    "hint",
    "answered_by",
    "kind",
    "attempt",
    "outcome",
)


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
