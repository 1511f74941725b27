"""``parse_json``'s shortcut (``bodies._plain``): a body whose bytes show it cannot nest too deep nor hold
a lone surrogate skips the walk over the parsed value, and answers exactly what the walk answers.

Oracle: the walk itself (``json.loads``, then ``_check`` and ``_mend``, which the refusal tests of
``tests/web/test_hostile_input.py`` pin to the providers' answers), run on every body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelmock.emulators.core.bodies import BodyRefused, _check, _mend, parse_json

#: Text with lone surrogates, brackets, quotes and backslashes among any other characters.
#: (``st.text`` leaves surrogates out whatever its alphabet: the characters are joined here.)
TEXT = st.lists(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    | st.sampled_from('a[{"\\é')
    | st.characters(codec=None, exclude_categories=()),
    max_size=8,
).map("".join)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


def _walked(raw: bytes, max_depth: int, refuse: bool) -> tuple[str, Any]:
    try:
        value = json.loads(raw)
        if _check(value, max_depth, refuse=refuse):
            value = _mend(value)
    except BodyRefused as exc:
        return ("refused", exc.reason)
    except (ValueError, RecursionError):
        return ("refused", "syntax")
    return ("value", value)


def _parsed(raw: bytes, max_depth: int, refuse: bool) -> tuple[str, Any]:
    try:
        return ("value", parse_json(raw, max_depth, "refuse" if refuse else "replace"))
    except BodyRefused as exc:
        return ("refused", exc.reason)


@settings(max_examples=300, deadline=None)
@given(
    value=VALUES,
    ascii_only=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]),
    max_depth=st.integers(0, 4),
    refuse=st.booleans(),
)
def test_the_shortcut_answers_what_the_walk_answers(
    value: Any, ascii_only: bool, encoding: str, max_depth: int, refuse: bool
) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode(encoding, "surrogatepass")
    assert _parsed(raw, max_depth, refuse) == _walked(raw, max_depth, refuse)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": [1, {"b": 2}]}', ("value", {"a": [1, {"b": 2}]})),  # 3 brackets, depth 3: plain
        (b"[[[[1]]]]", ("refused", "depth")),  # 4 levels past a limit of 3
        (b'["\\ud800"]', ("refused", "text")),  # an escaped lone surrogate: not plain, walked
        ('["\ud800"]'.encode("utf-16", "surrogatepass"), ("refused", "text")),  # no escape, not ASCII
        (b'["\xed\xa0\x80"]', ("refused", "text")),  # a surrogate's UTF-8 bytes: json.loads passes them
        (b'{"x": "[[[["}', ("value", {"x": "[[[["})),  # brackets in a string: walked, and fine
    ],
)
def test_documented_cases(raw: bytes, expected: tuple[str, Any]) -> None:
    assert _parsed(raw, 3, refuse=True) == expected
