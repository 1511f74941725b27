"""Settings of a served emulator: every ``EmulatorConfig`` field and every ``ServerSettings`` field, from a
flag, a ``PIXELMOCK_<NAME>`` environment variable or a config file, in that order of precedence over the
defaults.

One mechanism serves every setting: each dataclass field carries ``setting(...)`` metadata
(``pixelmock.emulators.config.SettingMeta``), and from it, the field's name, type and default this module
derives the flag (``--journal-limit``), the environment variable (``PIXELMOCK_JOURNAL_LIMIT``), the config
file key (``journal_limit``), the parser and the row of the README's settings table. A new field needs
only its metadata; a field without it makes ``settings()`` raise.

The config file is ``--config FILE`` (or ``$PIXELMOCK_CONFIG``), else ``pixelmock.toml`` in the working
directory, else the ``[tool.pixelmock]`` table of ``pyproject.toml`` there. Its keys are the settings'
names, with TOML's own types (``journal_limit = 50``, ``outbound_hosts = ["app"]``,
``today = 2026-11-21``, ``[options]`` ``"apiframe.polls_to_complete" = 3``) or the same strings the
flags take. Values from flags and variables are strings: lists are comma-separated
(``--outbound-hosts app,db``), maps ``name=value`` pairs (``--starting-balances USD=5,credits=100``),
``none`` unsets an optional value.

``python -m pixelmock.emulators.config.settings [--write README.md]`` prints (or writes) the README's table.
Pure: no Flask, no click (``pixelmock.emulators.tools.cli`` builds the flags from ``settings()``).
"""

from __future__ import annotations

import datetime as dt
import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.contracts.secrets import scrub_url
from pixelmock.emulators.config import SETTING, EmulatorConfig, SettingMeta, setting
from pixelmock.emulators.config.options import parse_options, read_pairs

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "SERVER_KEY",
    "SERVE_DEFAULTS",
    "ServerSettings",
    "Setting",
    "SettingError",
    "changes",
    "check_workers",
    "parse_date",
    "parse_from",
    "parse_options",
    "settings",
    "settings_json",
    "settings_of",
    "settings_table",
]

#: Connections ``pixelmock serve`` holds at once on gunicorn (gunicorn's ``worker_connections``): past
#: it, new ones wait in the listen backlog. A held connection costs about 45 kB (BENCHMARKS.md).
DEFAULT_CONNECTIONS = 10_000

#: Seconds a client has to send a request's head, and again its body, before its connection is closed
#: unanswered (pixelmock's choice; ``pixelmock.emulators.tools.server``). nginx's client_header_timeout and
#: client_body_timeout default to 60 s, between two reads; here it bounds each whole part.
DEFAULT_READ_TIMEOUT = 60.0


#: Prefix of every setting's environment variable.
ENV_PREFIX = "PIXELMOCK_"
#: Environment variable naming the config file (as ``--config`` does).
CONFIG_ENV = "PIXELMOCK_CONFIG"
#: The config file looked for in the working directory, before ``pyproject.toml``'s ``[tool.pixelmock]``.
CONFIG_NAME = "pixelmock.toml"
PYPROJECT = "pyproject.toml"
#: Key of the served app's ``ServerSettings`` in ``app.extensions`` (``GET /__admin/settings`` shows them).
SERVER_KEY = "pixelmock.server"
#: Values ``none`` (any case) and the empty string unset an optional setting.
NONE_WORDS = ("none", "")
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


class SettingError(ValueError):
    """A setting's value cannot be used; the message names where it came from and what is expected."""


#: How ``serve --replay`` treats requests that match no cassette (``pixelmock.emulators.tools.replay``), as
#: vcrpy's record modes: never write, record only into an empty folder, record what matched nothing.
RECORD_MODES = ("none", "once", "new_episodes")


@dataclass
class ServerSettings:
    """How ``pixelmock serve`` serves the app (not part of the app's ``EmulatorConfig``).

    - ``host``, ``port``: the address to bind.
    - ``provider``: serve only these providers (empty: every provider of the registry).
    - ``connections``: connections served at once, WebSockets included (gunicorn's gevent worker; a held
      connection costs a greenlet, not a thread), per worker.
    - ``workers``: gunicorn worker processes. More than one needs a shared ``EmulatorConfig.store``
      (``check_workers``): each worker would otherwise keep its own jobs, balances and journal.
    - ``read_timeout``: seconds a client has to send a request's head, and again its body, before its
      connection is closed unanswered (pixelmock's choice: no provider documents its own).
    - ``port_file``: write the port to this file once serving (for ``--port 0``); removed on exit.
    - ``replay``, ``record_mode``: answer from recorded cassettes first
      (``pixelmock.emulators.tools.replay``).
    - ``tls``, ``tls_cert``, ``tls_key``, ``tls_ca_out``: serve HTTPS (``pixelmock.emulators.tools.tls``).
    """

    host: str = field(default="127.0.0.1", metadata=setting("address to bind"))
    port: int = field(default=8080, metadata=setting("port to listen on", maximum=65535))
    provider: tuple[str, ...] = field(
        default=(),
        metadata=setting("serve only these providers (repeatable or comma-separated)", choices=PROVIDERS),
    )
    connections: int = field(
        default=DEFAULT_CONNECTIONS,
        metadata=setting("connections served at once, WebSockets included (per worker)", minimum=1),
    )
    workers: int = field(
        default=1,
        metadata=setting(
            "worker processes serving the port (gunicorn); more than 1 needs a shared store (--store "
            "redis://...)",
            minimum=1,
        ),
    )
    read_timeout: float = field(
        default=DEFAULT_READ_TIMEOUT,
        metadata=setting(
            "seconds a client has to send a request's head, and again its body, before its connection is "
            "closed unanswered"
        ),
    )
    port_file: Path | None = field(
        default=None, metadata=setting("write the port to this file once serving (removed on exit)")
    )
    replay: Path | None = field(
        default=None,
        metadata=setting(
            "answer requests that match a cassette under this folder from it, the rest from the emulators"
        ),
    )
    record_mode: str = field(
        default="none",
        metadata=setting(
            "with replay: none (never write), once (record only into an empty folder) or new_episodes "
            "(record what matched no cassette), as in vcrpy",
            choices=RECORD_MODES,
        ),
    )
    tls: bool = field(
        default=False,
        metadata=setting(
            "serve HTTPS: answers name https:// URLs; a certificate from a local CA made at start (needs "
            "pixelmock[tls]) unless --tls-cert/--tls-key are given"
        ),
    )
    tls_cert: Path | None = field(
        default=None, metadata=setting("with --tls: your own certificate chain (PEM) instead of a local CA's")
    )
    tls_key: Path | None = field(default=None, metadata=setting("with --tls-cert: its private key (PEM)"))
    tls_ca_out: Path | None = field(
        default=None,
        metadata=setting(
            "with --tls: write the local CA's certificate here for clients to trust (SSL_CERT_FILE, "
            "NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE)"
        ),
    )


#: Defaults of ``pixelmock serve`` that differ from ``EmulatorConfig``'s: a served emulator runs due work
#: (job progress, webhook retries) every second for clients that only wait for webhooks.
SERVE_DEFAULTS: dict[str, object] = {"tick_seconds": 1.0}


@dataclass(frozen=True)
class Setting:
    """One setting: ``name`` (the field's, and the config file key), the dataclass it belongs to
    (``owner``), its resolved ``type``, its ``meta`` and its ``field``."""

    name: str
    owner: type
    type: Any
    meta: SettingMeta
    field: Field[Any]

    @property
    def flag(self) -> str:
        """``--name-with-dashes``, or the metadata's own flag."""
        return self.meta.flag or "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> tuple[str, ...]:
        """The flag and its aliases."""
        return (self.flag, *self.meta.aliases)

    @property
    def env(self) -> str:
        """``PIXELMOCK_<NAME>``."""
        return ENV_PREFIX + self.name.upper()

    @property
    def runtime(self) -> bool:
        """Whether ``PUT /__admin/settings`` may change it on a running app."""
        return self.meta.runtime

    @property
    def repeatable(self) -> bool:
        """Whether the flag may be given more than once (lists and maps: the values add up)."""
        return _inner(self.type)[0] in (frozenset, tuple, dict)

    @property
    def switch(self) -> bool:
        """Whether the flag may stand alone for ``true`` (``--tls``) as well as take a value."""
        return _inner(self.type)[0] is bool

    @property
    def metavar(self) -> str:
        """How the flag's value is written in ``--help``."""
        kind, _ = _inner(self.type)
        allowed = self.choices()
        if allowed is not None:
            return "[" + "|".join(allowed) + "]" + (",..." if kind in (frozenset, tuple) else "")
        names = {bool: "BOOL", int: "N", float: "NUMBER", str: "TEXT", dt.date: "YYYY-MM-DD", Path: "FILE"}
        return names.get(kind, "NAME=VALUE,..." if kind is dict else "A,B,...")

    @property
    def default(self) -> Any:
        """The field's default (computed for a ``default_factory``)."""
        if self.field.default_factory is not MISSING:
            return self.field.default_factory()
        return self.field.default

    def default_text(self) -> str:
        """The default as documented: ``pixelmock serve``'s, then the library's when it differs."""
        text = self.meta.default_text or shown(self.default) or "(empty)"
        if self.name in SERVE_DEFAULTS:
            return f"{shown(SERVE_DEFAULTS[self.name])} (library: {text})"
        return text

    def choices(self) -> Sequence[str] | None:
        """The allowed values of a ``str`` setting (or of each item of a list), if limited."""
        found = self.meta.choices
        return found() if callable(found) else found

    def parse(self, value: object) -> Any:
        """The value from a flag or variable (``str``) or a file or JSON body (``str`` or native).
        Raises ``ValueError`` saying what is expected."""
        if self.meta.parse is not None:
            return self.meta.parse(value)
        return _parse(self.type, value, self)

    def combine(self, values: Iterable[Any]) -> Any:
        """One value from a repeated flag's parsed values (lists joined, maps merged)."""
        items = list(values)
        kind = _inner(self.type)[0]
        if kind is dict:
            merged: dict[Any, Any] = {}
            for item in items:
                merged.update(item)
            return merged
        joined = [x for item in items for x in item]
        return frozenset(joined) if kind is frozenset else tuple(joined)

    def over_default(self, value: Any) -> Any:
        """``value`` as a source sets it: a map (``starting_balances``) adds to the default map, so
        ``USD=5`` keeps the default credits (give ``credits=0`` to empty them); anything else replaces
        the default."""
        if _inner(self.type)[0] is dict and isinstance(value, Mapping):
            return {**(self.default or {}), **value}
        return value

    def help(self) -> str:
        """The flag's help: meaning, default, variable."""
        return f"{self.meta.help} [default: {self.default_text()}; env: {self.env}]"


def _unwrapped(tp: Any) -> tuple[Any, bool]:
    """``(type without None, optional?)`` of a field's type."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def _inner(tp: Any) -> tuple[Any, bool]:
    """``(kind, optional?)``: the type without None, as its origin for generics (``frozenset``...)."""
    inner, optional = _unwrapped(tp)
    return (typing.get_origin(inner) or inner), optional


def _words(value: object, what: str) -> list[str]:
    """Items of a comma-separated string or of a list of strings."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple | frozenset | set) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise ValueError(f"expected {what}, got {value!r}")


def _number(kind: type, value: object, spec: Setting) -> float | int:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, got {value!r}")
    try:
        number = int(value) if kind is int else float(value)
    except ValueError:
        raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
    if kind is int and isinstance(value, float):
        raise ValueError(f"expected an integer, got {value!r}")
    if not math.isfinite(number) or number < spec.meta.minimum:
        raise ValueError(f"expected a number >= {spec.meta.minimum:g}, got {value!r}")
    if spec.meta.maximum is not None and number > spec.meta.maximum:
        raise ValueError(f"expected a number <= {spec.meta.maximum:g}, got {value!r}")
    return number


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if isinstance(value, bool) or not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount >= 0: {value!r}")
    return amount


def _parse(tp: Any, value: object, spec: Setting) -> Any:
    inner, optional = _unwrapped(tp)
    kind = typing.get_origin(inner) or inner
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in NONE_WORDS)):
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if isinstance(value, str) and word in TRUE_WORDS + FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"expected true or false, got {value!r}")
    if kind in (int, float):
        return _number(kind, value, spec)
    if kind is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        return parse_date(str(value))
    if kind is Path:
        if not isinstance(value, str | Path) or not str(value).strip():
            raise ValueError(f"expected a file path, got {value!r}")
        return Path(str(value).strip())
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        return _choice(value.strip(), spec)
    if kind is frozenset:
        return frozenset(_choice(v, spec) for v in _words(value, "a comma-separated list"))
    if kind is tuple:
        (item,) = [a for a in typing.get_args(inner) if a is not Ellipsis]
        if item is str:
            return tuple(_choice(v, spec) for v in _words(value, "a comma-separated list"))
        raw = _words(value, "a comma-separated list") if isinstance(value, str) else value
        if not isinstance(raw, list | tuple):
            raise ValueError(f"expected a comma-separated list, got {value!r}")
        return tuple(_parse(item, v, spec) for v in raw)
    if kind is dict and typing.get_args(inner) == (str, Decimal):
        pairs = read_pairs(value, "name=amount pairs, comma-separated")
        return {name: _amount(amount) for name, amount in pairs.items()}
    raise TypeError(f"{spec.owner.__name__}.{spec.name}: no parser for {tp!r}; give setting(parse=...)")


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD``. Raises ``ValueError`` saying so."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _choice(value: str, spec: Setting) -> str:
    allowed = spec.choices()
    if allowed is not None and value not in allowed:
        raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
    return value


def settings_of(owner: type) -> tuple[Setting, ...]:
    """The settings of one dataclass, in field order. Raises ``TypeError`` for a field without
    ``setting(...)`` metadata, or with a plain default of a type no parser reads."""
    hints = typing.get_type_hints(owner)
    found: list[Setting] = []
    for item in fields(owner):
        meta = item.metadata.get(SETTING)
        if not isinstance(meta, SettingMeta):
            raise TypeError(f"{owner.__name__}.{item.name} has no setting(...) metadata")
        spec = Setting(item.name, owner, hints[item.name], meta, item)
        if item.default is not MISSING:
            spec.parse(item.default)  # the parser exists and accepts the default (factories: by the tests)
        found.append(spec)
    return tuple(found)


@cache
def settings() -> tuple[Setting, ...]:
    """Every setting: ``ServerSettings``' fields, then ``EmulatorConfig``'s (see ``settings_of``)."""
    return settings_of(ServerSettings) + settings_of(EmulatorConfig)


def by_name() -> dict[str, Setting]:
    """``settings()`` by name."""
    return {s.name: s for s in settings()}


def shown(value: object) -> str:
    """A value as a flag would take it (``none``, ``true``, ``a,b``, ``USD=100,credits=10000``, ``""`` for
    an empty list or map)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ",".join(f"{k}={shown(v)}" for k, v in value.items())
    if isinstance(value, frozenset | tuple | list):
        items = sorted(value) if isinstance(value, frozenset) else value
        return ",".join(shown(v) for v in items)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_json(value: object) -> object:
    """A value as JSON: amounts as decimal strings, sets as sorted lists, dates ISO 8601, paths as
    strings."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(to_json(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    return value


def parse_from(spec: Setting, value: object, source: str) -> object:
    """``spec.parse(value)``. Raises ``SettingError`` naming ``source`` (a variable, a file key...)."""
    try:
        return spec.parse(value)
    except ValueError as exc:
        raise SettingError(f"{source}: {exc}") from None


def check_workers(server: ServerSettings, config: EmulatorConfig) -> None:
    """Refuse ``server.workers`` > 1 on this process's memory (``config.store`` empty): every worker
    would keep its own jobs, balances and journal, and a client would see whichever worker answered.
    Raises ``SettingError`` saying why and what to pass."""
    if server.workers > 1 and not config.store:
        raise SettingError(
            f"{server.workers} workers need a shared store: in this process's memory each worker would keep "
            "its own jobs, balances and journal; pass --store redis://host:port/db (or PIXELMOCK_STORE, "
            "or store in the config file), or serve with --workers 1"
        )


# -- views ----------------------------------------------------------------------------------------------


def settings_json(config: EmulatorConfig, server: ServerSettings | None = None) -> dict[str, Any]:
    """``{"settings": {name: value}, "runtime": [names]}``: every ``EmulatorConfig`` setting (and the
    ``ServerSettings`` ones when given) as JSON (``to_json``), and those ``PUT /__admin/settings`` may
    change. The store's URL is shown with its credentials ``REDACTED`` (``secrets.scrub_url``)."""
    values: dict[str, object] = {}
    for spec in settings():
        source: object = server if spec.owner is ServerSettings else config
        if source is not None:
            values[spec.name] = to_json(getattr(source, spec.name))
    if isinstance(values.get("store"), str):
        values["store"] = scrub_url(str(values["store"]))
    return {"settings": values, "runtime": [s.name for s in settings() if s.runtime]}


def changes(body: Mapping[str, object]) -> dict[str, object]:
    """Parsed values of a ``PUT /__admin/settings`` body (JSON values or the strings flags take). Raises
    ``SettingError`` for an unknown setting, one that cannot change at run time, or a bad value."""
    known = by_name()
    parsed: dict[str, object] = {}
    for name, value in body.items():
        spec = known.get(name)
        if spec is None:
            raise SettingError(f"{name}: no such setting")
        if not spec.runtime:
            raise SettingError(
                f"{name} cannot change at run time: set {spec.flag}, {spec.env} or the config file key "
                f"{name} and restart"
            )
        parsed[name] = parse_from(spec, value, name)
    return parsed


def settings_table() -> str:
    """The README's Markdown table: setting, flag, variable, file key, default, meaning, run time."""
    lines = [
        "| setting | flag | environment variable | file key | default | meaning | run time |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in settings():
        flags = " ".join(f"`{f}`" for f in spec.flags)
        owner = "serve" if spec.owner is ServerSettings else "config"
        lines.append(
            f"| {spec.name} ({owner}) | {flags} | `{spec.env}` | `{spec.name}` | `{spec.default_text()}` "
            f"| {spec.meta.help} | {'yes' if spec.runtime else 'no'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # python -m pixelmock.emulators.config.settings [--write README.md]
    import sys

    from pixelmock.contracts.generated import main

    sys.exit(main("settings", settings_table))
