"""``pixelmock.contracts.openapi.validate`` answers valid requests with the compiled jsonschema-rs validator
and explains invalid ones with python-jsonschema: the two must agree on what is valid.

Instances are drawn near each schema of every served document: a value built to conform (its enum, const,
pattern, bounds, valid formats, required and optional properties), then up to two spots broken (a bound
+/- 1, an invalid format, a dropped or unknown key, arbitrary JSON), so both sides of the keywords are
reached: about 40% of the instances are valid. Oracle: python-jsonschema, the reference implementation
the error bodies are built from. jsonschema-rs may be stricter only on a ``format`` (it checks
``date-time`` and ``email`` to the RFCs); it may never accept what python-jsonschema refuses.
"""

from __future__ import annotations

import math
import os
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from pixelmock.contracts.openapi import PROVIDERS, inlined, validate

#: JSON values: finite floats only (JSON has no infinity; a number too large for a float, such as 1e999, is
#: parsed to one, and the two validators judge that differently: the compiled one refuses it).
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
ANY_JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
#: A valid value first, then values that break the format.
FORMAT_SAMPLES = {
    "uri": ["https://example.com/a.png", "example.com/a.png", "https://a b", "data:image/png;base64,AA=="],
    "uuid": ["0b4c2e8e-7f1a-4a1e-9f59-1c2d3e4f5a6b", "0b4c2e8e7f1a4a1e9f591c2d3e4f5a6b", "{0b4c2e8e}"],
    "date": ["2026-11-21", "2026-13-01", "21/11/2026"],
    "date-time": ["2026-11-21T10:00:00Z", "2026-11-21 10:00", "yesterday"],
    "email": ["ops@example.com", "ops", "a@b@c"],
}


def _schemas() -> list[tuple[str, str, dict[str, Any]]]:
    """Every named component schema and every request-body schema of every served document."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for provider in (*PROVIDERS, "admin"):
        doc = inlined(provider)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            out.append((provider, name, schema))
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if not isinstance(op, dict):  # path-level parameters
                    continue
                for media, content in op.get("requestBody", {}).get("content", {}).items():
                    out.append((provider, f"{method} {path} {media}", content["schema"]))
    return out


SCHEMAS = _schemas()
#: Instances per schema (``PIXELMOCK_EXAMPLES`` goes deeper, as for the other property tests).
EXAMPLES = max(50, int(os.environ.get("PIXELMOCK_EXAMPLES", "50")))


@cache
def _validators(provider: str, name: str) -> tuple[Draft202012Validator, Any, Any]:
    """python-jsonschema (formats checked), jsonschema-rs (formats checked) and jsonschema-rs without."""
    schema = next(s for p, n, s in SCHEMAS if (p, n) == (provider, name))
    return (
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER),
        jsonschema_rs.Draft202012Validator(schema, validate_formats=True),
        jsonschema_rs.Draft202012Validator(schema, validate_formats=False),
    )


def _conforming(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values meant to satisfy ``schema`` (its enum, const, valid format, pattern, bounds, required and
    optional properties). Keywords it does not aim at (``not``, ``if``, ``multipleOf``...) may still fail."""
    if not isinstance(schema, dict) or depth > 5:
        return ANY_JSON
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of([_conforming(branch, depth + 1) for branch in schema[key]])
    if "allOf" in schema:
        return _conforming({**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}, depth)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type", [])
    options = [_typed(schema, t, depth) for t in ([types] if isinstance(types, str) else types)]
    if not options:
        return _typed(schema, "object", depth) if "properties" in schema else ANY_JSON
    return st.one_of(options)


def _typed(schema: dict[str, Any], kind: str, depth: int) -> st.SearchStrategy[Any]:
    if kind == "string":
        if "format" in schema:
            return st.just(FORMAT_SAMPLES.get(schema["format"], ["x"])[0])
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 12), 12))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -5) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 5000) - 1)
        return st.integers(math.ceil(low), math.floor(high))
    if kind == "array":
        items = _conforming(schema.get("items", {}), depth + 1)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=max(low, min(schema.get("maxItems", 3), 3)))
    if kind == "object":
        props = {name: _conforming(sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
        required = {name: props[name] for name in schema.get("required", []) if name in props}
        optional = {name: s for name, s in props.items() if name not in required}
        return st.fixed_dictionaries(required, optional=optional)
    return {"boolean": st.booleans(), "null": st.none()}.get(kind, ANY_JSON)


def _broken(schema: Any) -> st.SearchStrategy[Any]:
    """A value for one spot of ``schema`` chosen to break it: a bound +/- 1, an invalid format, another
    type, a non-member of the enum, or arbitrary JSON."""
    if not isinstance(schema, dict):
        return ANY_JSON
    options: list[st.SearchStrategy[Any]] = [ANY_JSON]
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        if key in schema:
            bound = schema[key]
            options.append(st.sampled_from([bound - 1, bound, bound + 1, bound + 0.5, float(bound)]))
            if key.endswith("Length") and bound <= 64:
                options.append(st.text(min_size=max(0, bound - 1), max_size=bound + 1))
    if "format" in schema:
        options.append(st.sampled_from(FORMAT_SAMPLES.get(schema["format"], ["x"])))
    if "enum" in schema:
        options.append(st.sampled_from([str(v).upper() for v in schema["enum"]] + [None, 0]))
    return st.one_of(options)


@st.composite
def _near(draw: st.DrawFn, schema: dict[str, Any]) -> Any:
    """A conforming value of ``schema``, then up to two spots broken, or an unknown key added."""
    value = draw(_conforming(schema))
    for _ in range(draw(st.integers(0, 2))):
        value = draw(_break_one(value, schema))
    return value


def _break_one(value: Any, schema: Any) -> st.SearchStrategy[Any]:
    @st.composite
    def broken(draw: st.DrawFn) -> Any:
        node, sub = value, schema
        if isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            props = sub.get("properties", {}) if isinstance(sub, dict) else {}
            choice = draw(st.sampled_from(["descend", "drop", "unknown"]))
            if choice == "drop":
                return {k: v for k, v in node.items() if k != key}
            if choice == "unknown":
                return {**node, "zz_unknown": draw(ANY_JSON)}
            return {**node, key: draw(_break_one(node[key], props.get(key, {})))}
        if isinstance(node, list) and node and draw(st.booleans()):
            index = draw(st.integers(0, len(node) - 1))
            items = sub.get("items", {}) if isinstance(sub, dict) else {}
            return [*node[:index], draw(_break_one(node[index], items)), *node[index + 1 :]]
        return draw(_broken(sub))

    return broken()


@pytest.mark.parametrize(("provider", "name", "schema"), SCHEMAS, ids=[f"{p}:{n}" for p, n, _ in SCHEMAS])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_compiled_validator_agrees_with_python_jsonschema(
    provider: str, name: str, schema: dict[str, Any], data: st.DataObject
) -> None:
    instance = data.draw(_near(schema))
    reference, compiled, compiled_without_formats = _validators(provider, name)
    reference_valid = reference.is_valid(instance)
    if compiled.is_valid(instance):
        assert reference_valid, f"jsonschema-rs accepted what python-jsonschema refuses: {instance!r}"
    elif reference_valid:
        # Stricter on a format only: without format checks it accepts the instance.
        assert compiled_without_formats.is_valid(instance)
    # And validate() itself: empty exactly when the reference finds the instance valid (a discriminated
    # schema is judged on its branch, which the reference also does through oneOf).
    assert (validate(provider, schema, instance) == []) == reference_valid


def test_a_value_the_compiled_validator_cannot_take_is_explained_not_raised() -> None:
    schema = {"type": "object", "properties": {"prompt": {"type": "string"}}}
    [violation] = validate("openai", schema, {"prompt": b"bytes are not JSON"})
    assert (violation.keyword, violation.param) == ("type", "prompt")
