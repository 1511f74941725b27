"""The shared store's codec (``emulators/core/store/codec.py``): every type a runtime value may be built from
round-trips exactly (type and value), and data naming a class outside the allowed modules is refused
without importing anything.

Oracles: Python's own equality and types (a tuple stays a tuple, a frozenset a frozenset, Decimal('1.10')
keeps its exponent), and ``sys.modules`` for "nothing was imported".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixelmock.emulators.core.files import StoredFile
from pixelmock.emulators.core.images import ImageSpec
from pixelmock.emulators.core.store import Usage
from pixelmock.emulators.core.store.codec import CODEC, Codec, CodecError

#: A codec that allows this module's classes (the store's own allows only ``pixelmock.`` modules).
LOCAL = Codec(allowed=("pixelmock.", __name__))


@dataclasses.dataclass(frozen=True, slots=True)
class FrozenSlots:
    name: str
    at: dt.datetime
    tags: frozenset[str] = frozenset()


@dataclasses.dataclass
class Mutable:
    items: list[Any]
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    hidden: int = dataclasses.field(default=7, init=False)


class Colour(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


def _same(value: Any, codec: Codec = CODEC) -> Any:
    back = codec.loads(codec.dumps(value))
    assert back == value and type(back) is type(value)
    return back


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        0.1,
        -0.0,
        1e308,
        "",
        "Grüße \u2603 \U0001f600",
        [1, "a", None],
        {"a": 1, "b": [2, 3]},
        {(1, "x"): "tuple key", 3: "int key", None: "none key"},
        {"$t": "tuple", "v": [1]},  # a plain dict that looks like a tagged value
        (1, (2, 3), []),
        {1, "a", (2, 3)},
        frozenset({"x", 1}),
        b"\x00\xff binary",
        Decimal("1.10"),
        Decimal("-1E+2"),
        Decimal("0.000000000000000000000001"),
        dt.datetime(2026, 11, 21, 12, 30, 15, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
        dt.date(2026, 11, 21),
        dt.timedelta(days=-1, seconds=5, microseconds=7),
    ],
    ids=lambda value: (
        f"{type(value).__name__}{sorted(map(repr, value))}"
        if isinstance(value, set | frozenset)
        else repr(value)
    ),  # a set's repr follows string hashing: ids the same in every process (pytest-xdist compares them)
)
def test_each_plain_type_round_trips_with_its_type(value: Any) -> None:
    back = _same(value)
    if isinstance(value, dict):
        assert [type(k) for k in back] == [type(k) for k in value] and list(back) == list(value)
    if isinstance(value, Decimal):
        assert str(back) == str(value)
    if isinstance(value, dt.datetime):
        assert back.utcoffset() == value.utcoffset()


def test_float_specials_round_trip() -> None:
    assert math.isnan(CODEC.loads(CODEC.dumps(float("nan"))))
    assert CODEC.loads(CODEC.dumps([float("inf"), -float("inf")])) == [float("inf"), -float("inf")]
    assert math.copysign(1, CODEC.loads(CODEC.dumps(-0.0))) == -1


def test_pixelmock_dataclasses_round_trip_frozen_ones_too() -> None:
    spec = ImageSpec("runware", "gpt-image-2", 1024, 1536, "webp", prompt="a fox", seed=3)
    stored = StoredFile("id", "http://h/files/id.webp", "webp", "image/webp", spec, None)
    back = _same(stored)
    assert back.content == spec and type(back.content) is ImageSpec
    with pytest.raises(dataclasses.FrozenInstanceError):
        back.id = "other"  # type: ignore[misc]
    _same(Usage(None, 1, 2, 3, 4))


def test_frozen_slots_dataclasses_and_enums_of_allowed_modules_round_trip() -> None:
    value = FrozenSlots("a", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), frozenset({"x"}))
    back = _same({"k": value, "c": [Colour.RED, Colour.PAIR]}, LOCAL)
    assert back["c"][1] is Colour.PAIR and not hasattr(back["k"], "__dict__")
    mutable = Mutable([1, (2,)], {"x": b"y"})
    mutable.hidden = 9  # a field without __init__ is restored as set, without calling __init__
    assert _same(mutable, LOCAL).hidden == 9


def test_classes_outside_the_allowed_modules_are_refused_when_written() -> None:
    with pytest.raises(CodecError, match="test_codec"):
        CODEC.dumps(FrozenSlots("a", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    with pytest.raises(CodecError, match="Colour"):
        CODEC.dumps([Colour.RED])
    for value in (object(), lambda: 1, bytearray(b"x"), open, type):
        with pytest.raises(CodecError):
            CODEC.dumps(value)


@pytest.mark.parametrize(
    "name",
    [
        "antigravity:Anything",  # a module with side effects on import: must not be imported
        "os:system",
        "subprocess:Popen",
        "pixelmockx.evil:Thing",  # shares the prefix's letters, not the package
        "pixelmock.emulators.core.store:MemoryStore",  # allowed module, but not a dataclass
        "pixelmock.emulators.core.store:dataclasses.dataclass",  # not defined there
        "pixelmock.emulators.core.runtime.missing:Thing",
        "pixelmock.emulators.core.store:<locals>.Thing",
    ],
)
def test_data_naming_a_class_outside_the_allow_list_is_refused_without_importing_it(name: str) -> None:
    before = set(sys.modules)
    for tag in ("dataclass", "enum"):
        with pytest.raises(CodecError):
            CODEC.loads(json.dumps({"$t": tag, "c": name, "v": {}}))
    assert not {m for m in set(sys.modules) - before if not m.startswith("pixelmock.")}


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"$t": "pickle", "v": "gASV"}',
        b'{"$t": "bytes", "v": "not base64!"}',
        b'{"$t": "set", "v": [[1]]}',
        b'{"$t": "dataclass", "c": "pixelmock.emulators.core.store.base:Usage", "v": {"nope": 1}}',
        b'{"$t": "dataclass", "c": "pixelmock.emulators.core.images:ImageSpec", "v": {}}',
        b'{"$t": "enum", "c": "pixelmock.emulators.core.store.base:Usage", "v": 1}',
    ],
)
def test_malformed_or_foreign_data_is_a_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError):
        CODEC.loads(data)


def test_a_missing_field_with_a_default_takes_it() -> None:
    data = b'{"$t": "dataclass", "c": "pixelmock.emulators.core.store.base:Usage", "v": {"max_bytes": 5}}'
    assert CODEC.loads(data) == Usage(5)


_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=st.timezones()).map(lambda d: d.astimezone(dt.UTC))
    | st.dates()
)
_keys = st.none() | st.integers() | st.text() | st.tuples(st.integers(), st.text())
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_keys, inner, max_size=4)
        | st.frozensets(_keys, max_size=4)
    ),
    max_leaves=20,
)


@given(_values)
def test_any_nesting_of_allowed_values_round_trips(value: Any) -> None:
    assert CODEC.loads(CODEC.dumps(value)) == value
