"""The codec of a shared store: runtime values as tagged JSON, never pickle.

A value read from a shared store (Redis) was written by any process that can reach it, so decoding it
must never run code chosen by the data: no pickle, no class named by the data unless it is allowed. The
format is JSON; a value JSON cannot hold is an object with the tag key ``"$t"``:

=============================  ====================================================================
value                          encoded as
=============================  ====================================================================
str, int, float, bool, None    itself (floats as ``repr``: exact; ``NaN`` and infinities as JSON's
                               ``NaN``/``Infinity`` extension, which ``json`` reads back)
list                           an array
dict with str keys             an object (unless a key is ``"$t"``: then as below)
other dict                     ``{"$t": "dict", "v": [[key, value], ...]}`` (insertion order kept)
tuple, set, frozenset          ``{"$t": "tuple" | "set" | "frozenset", "v": [...]}``
bytes                          ``{"$t": "bytes", "v": base64}``
Decimal                        ``{"$t": "decimal", "v": str}`` (exact)
datetime, date, timedelta      ``{"$t": "datetime" | "date" | "timedelta", "v": ...}`` (ISO 8601;
                               a timedelta as ``[days, seconds, microseconds]``); a datetime's UTC
                               offset is kept (a named zone becomes its fixed offset)
dataclass instance             ``{"$t": "dataclass", "c": "module:QualName", "v": {field: value}}``
Enum member                    ``{"$t": "enum", "c": "module:QualName", "v": value}``
=============================  ====================================================================

Classes are named by module and qualified name and allowed only inside the allowed module prefixes
(``pixelmock.`` for the stores): decoding imports such a module if needed, checks that the name is a
dataclass (or an Enum) defined there, and builds the instance without calling ``__init__`` (frozen and
``slots`` dataclasses too: each field is set as the dataclass's own ``__init__`` would). Anything else is
refused with ``CodecError``, when encoding (the value must not be written) and when decoding.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

TAG = "$t"


class CodecError(TypeError):
    """A value the codec cannot encode, or data it refuses to decode (malformed, or naming a class
    outside the allowed modules)."""


class Codec:
    """Encodes values to tagged JSON bytes and back. ``allowed``: module-name prefixes whose dataclasses
    and enums may be encoded and decoded (``("pixelmock.",)`` for the stores). Thread-safe."""

    def __init__(self, allowed: Iterable[str] = ("pixelmock.",)) -> None:
        self.allowed = tuple(allowed)
        self._classes: dict[str, type] = {}
        #: Each resolved dataclass's fields and their names (``_build``).
        self._fields: dict[type, tuple[tuple[dataclasses.Field[Any], ...], frozenset[str]]] = {}
        self._encoders: dict[type, Callable[[Any], Any]] = {
            str: _same,
            int: _same,
            float: _same,
            bool: _same,
            type(None): _same,
            list: self._list,
            dict: self._dict,
            tuple: lambda v: {TAG: "tuple", "v": self._list(v)},
            set: lambda v: {TAG: "set", "v": self._list(v)},
            frozenset: lambda v: {TAG: "frozenset", "v": self._list(v)},
            bytes: lambda v: {TAG: "bytes", "v": base64.b64encode(v).decode("ascii")},
            Decimal: lambda v: {TAG: "decimal", "v": str(v)},
            dt.datetime: lambda v: {TAG: "datetime", "v": v.isoformat()},
            dt.date: lambda v: {TAG: "date", "v": v.isoformat()},
            dt.timedelta: lambda v: {TAG: "timedelta", "v": [v.days, v.seconds, v.microseconds]},
        }
        self._decoders: dict[str, Callable[[dict[str, Any]], Any]] = {
            "dict": lambda o: {_hashable(k): v for k, v in o["v"]},
            "tuple": lambda o: tuple(o["v"]),
            "set": lambda o: {_hashable(v) for v in o["v"]},
            "frozenset": lambda o: frozenset(_hashable(v) for v in o["v"]),
            "bytes": lambda o: base64.b64decode(o["v"], validate=True),
            "decimal": lambda o: Decimal(o["v"]),
            "datetime": lambda o: dt.datetime.fromisoformat(o["v"]),
            "date": lambda o: dt.date.fromisoformat(o["v"]),
            "timedelta": lambda o: dt.timedelta(*o["v"]),
            "dataclass": self._build,
            "enum": lambda o: self._resolve(o["c"], enum.Enum)(o["v"]),
        }

    # ------------------------------------------------------------------------------------------ encode

    def dumps(self, value: Any) -> bytes:
        """``value`` as tagged JSON (UTF-8). Raises ``CodecError`` for a value of another type (the
        message names it), or a dataclass or enum outside the allowed modules."""
        try:
            return _to_json(self._encode(value)).encode()
        except RecursionError as exc:
            raise CodecError("value nested too deeply (or cyclic) to encode") from exc

    def _encode(self, value: Any) -> Any:
        encoder = self._encoders.get(type(value))
        if encoder is None:
            encoder = self._encoders[type(value)] = self._encoder_of(type(value))
        return encoder(value)

    def _encoder_of(self, cls: type) -> Callable[[Any], Any]:
        """The encoder of an allowed enum or dataclass type (kept per type: its name and fields are
        checked once). Raises ``CodecError`` for another type."""
        encode = self._encode
        if issubclass(cls, enum.Enum):
            name = self._name(cls)
            return lambda v: {TAG: "enum", "c": name, "v": encode(v.value)}
        if dataclasses.is_dataclass(cls):
            name = self._name(cls)
            names = tuple(f.name for f in dataclasses.fields(cls))
            return lambda v: {TAG: "dataclass", "c": name, "v": self._fields_of(v, names)}
        raise CodecError(
            f"cannot store a {cls.__module__}.{cls.__qualname__} in a shared store: "
            "values must be built from pixelmock dataclasses, dict, list, tuple, set, frozenset, str, "
            "int, float, bool, None, Decimal, datetime, date, timedelta, bytes"
        )

    # A value of an ``_ATOMS`` type is its own encoding: the containers' comprehensions below keep it
    # as it is without a call (most of a record's values are such strings and numbers).

    def _list(self, values: Iterable[Any]) -> list[Any]:
        encode = self._encode
        return [v if type(v) in _ATOMS else encode(v) for v in values]

    def _dict(self, value: dict[Any, Any]) -> Any:
        encode = self._encode
        if TAG not in value and all(type(k) is str for k in value):
            return {k: v if type(v) in _ATOMS else encode(v) for k, v in value.items()}
        return {TAG: "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}

    def _fields_of(self, instance: Any, names: tuple[str, ...]) -> dict[str, Any]:
        encode = self._encode
        return {n: v if type(v := getattr(instance, n)) in _ATOMS else encode(v) for n in names}

    def _name(self, cls: type) -> str:
        name = f"{cls.__module__}:{cls.__qualname__}"
        if not self._allowed_module(cls.__module__) or "<" in cls.__qualname__:
            raise CodecError(f"cannot store a {name}: only classes of {self.allowed} modules are allowed")
        return name

    def _allowed_module(self, module: str) -> bool:
        return module.startswith(self.allowed) or f"{module}." in self.allowed

    # ------------------------------------------------------------------------------------------ decode

    def loads(self, data: bytes | str) -> Any:
        """The value ``data`` encodes. Raises ``CodecError`` for data that is not this codec's output or
        names a class outside the allowed modules (no such module is imported)."""
        try:
            return json.loads(data, object_hook=self._hook)
        except CodecError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, ImportError) as exc:
            raise CodecError(f"malformed stored value: {exc}") from exc

    def _hook(self, obj: dict[str, Any]) -> Any:
        tag = obj.get(TAG)
        if tag is None:
            return obj
        decoder = self._decoders.get(tag) if isinstance(tag, str) else None
        if decoder is None:
            raise CodecError(f"unknown tag {tag!r} in a stored value")
        return decoder(obj)

    def _build(self, obj: dict[str, Any]) -> Any:
        cls = self._resolve(obj["c"], None)
        values: dict[str, Any] = obj["v"]
        fields, names = self._fields[cls]
        if not names.issuperset(values):
            unknown = set(values) - names
            raise CodecError(f"{obj['c']} has no field {sorted(unknown)[0]!r}")
        instance: Any = object.__new__(cls)
        for f in fields:
            if f.name in values:
                value = values[f.name]
            elif f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                raise CodecError(f"{obj['c']}: field {f.name!r} is missing")
            object.__setattr__(instance, f.name, value)
        return instance

    def _resolve(self, name: str, base: type | None) -> type:
        """The allowed class ``module:QualName`` (a dataclass, or a subclass of ``base``)."""
        found = self._classes.get(name)
        if found is not None:
            if base is not None and not issubclass(found, base):
                raise CodecError(f"{name} is not a {base.__name__}")
            return found
        module_name, _, qualname = name.partition(":")
        if not self._allowed_module(module_name) or not qualname or "<" in qualname:
            raise CodecError(f"refusing class {name!r}: only classes of {self.allowed} modules are allowed")
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if not isinstance(obj, type) or obj.__module__ != module_name or obj.__qualname__ != qualname:
            raise CodecError(f"refusing class {name!r}: not a class defined there")
        if base is None and not dataclasses.is_dataclass(obj):
            raise CodecError(f"refusing class {name!r}: not a dataclass")
        if base is not None and not issubclass(obj, base):
            raise CodecError(f"{name} is not a {base.__name__}")
        if dataclasses.is_dataclass(obj):
            fields = dataclasses.fields(obj)
            self._fields[obj] = (fields, frozenset(f.name for f in fields))
        self._classes[name] = obj
        return obj


#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` without building an encoder per call.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

#: The types JSON holds as they are (``bool`` is listed although it is an ``int``: types are compared
#: exactly, so a subclass, e.g. an ``IntEnum``, still goes through its encoder).
_ATOMS = frozenset({str, int, float, bool, type(None)})


def _same(value: Any) -> Any:
    return value


def _hashable(value: Any) -> Any:
    """A decoded set member or dict key: lists (JSON arrays) cannot be keys, so one is refused."""
    if isinstance(value, list | dict):
        raise CodecError("a set member or dict key decoded to a list or dict")
    return value


#: The codec of the pixelmock stores: pixelmock's own dataclasses and enums.
CODEC = Codec()
