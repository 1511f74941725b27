"""Properties every dialect must keep, checked against the providers' OpenAPI documents (the oracle).

- every native request a dialect builds validates against that provider's contract;
- native -> canonical -> native is stable;
- resolve is idempotent and leaves nothing unset that the provider has a default for;
- a canonical value a provider cannot express raises ``UnsupportedValue`` naming provider and field,
  before any request exists.
"""

from __future__ import annotations

from typing import Any

import pytest
from dialect_cases import OFFERED, _default_size, _png, _unsupported_cases, text_requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelmock.contracts.canonical import (
    INPUT_FIDELITIES,
    MODELS,
    CanonicalRequest,
    ImageInput,
)
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import PROVIDERS, operation, request_schema, validate


def _schema_content_types(provider: str, operation_id: str) -> list[str]:
    return list(operation(provider, operation_id)[2]["requestBody"]["content"])


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_native_requests_validate_against_the_contract(
    provider: str, model: str, data: st.DataObject
) -> None:
    dialect = get_dialect(provider)
    request = data.draw(text_requests(dialect.capabilities(model)))
    native = dialect.to_native(request)
    content_type = _schema_content_types(provider, native.operation_id)[0]
    schema = request_schema(provider, native.operation_id, content_type)
    assert validate(provider, schema, native.body) == []


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_native_canonical_native_is_stable(provider: str, model: str, data: st.DataObject) -> None:
    dialect = get_dialect(provider)
    request = data.draw(text_requests(dialect.capabilities(model)))
    native = dialect.to_native(request)
    again = dialect.to_native(dialect.from_native(native))
    assert (again.operation_id, again.body, again.path_params) == (
        native.operation_id,
        native.body,
        native.path_params,
    )


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_resolve_is_idempotent_and_complete(provider: str, model: str, data: st.DataObject) -> None:
    dialect = get_dialect(provider)
    request = data.draw(text_requests(dialect.capabilities(model)))
    resolved = dialect.resolve(request)
    assert dialect.resolve(resolved) == resolved
    assert resolved.n is not None and resolved.quality is not None and resolved.size is not None


@pytest.mark.parametrize(("provider", "model"), OFFERED)
def test_edit_requests_validate_or_are_refused_by_field(provider: str, model: str) -> None:
    dialect = get_dialect(provider)
    caps = dialect.capabilities(model)
    if caps.max_input_images == 0:
        pytest.skip(f"{provider} {model} takes no input images")
    for image in (_png(), ImageInput(url="https://example.com/input.png")):
        request = CanonicalRequest(
            model=model,  # type: ignore[arg-type]
            prompt="make it blue",
            size=_default_size(caps),
            input_images=(image,),
        )
        try:
            native = dialect.to_native(request)
        except UnsupportedValue as exc:
            assert exc.provider == provider and exc.field == "input_images"
            continue
        content_type = _schema_content_types(provider, native.operation_id)[0]
        if content_type == "application/json":
            assert validate(provider, request_schema(provider, native.operation_id), native.body) == []
        assert dialect.from_native(native).input_images


@pytest.mark.parametrize(("provider", "model", "field", "value"), _unsupported_cases())
def test_inexpressible_values_raise_naming_provider_and_field(
    provider: str, model: str, field: str, value: Any
) -> None:
    dialect = get_dialect(provider)
    request = CanonicalRequest(model=model, prompt="a red fox", **{field: value})  # type: ignore[arg-type]
    with pytest.raises(UnsupportedValue) as info:
        dialect.to_native(request)
    assert info.value.provider == provider
    assert info.value.field == field


@pytest.mark.parametrize("provider", PROVIDERS)
def test_input_fidelity_only_where_offered(provider: str) -> None:
    for model in MODELS:
        try:
            caps = get_dialect(provider).capabilities(model)
        except UnsupportedValue:
            continue
        for fidelity in INPUT_FIDELITIES:
            request = CanonicalRequest(
                model=model,  # type: ignore[arg-type]
                prompt="make it blue",
                input_images=(ImageInput(url="https://example.com/a.png"),),
                input_fidelity=fidelity,
            )
            if fidelity in caps.input_fidelities:
                continue
            with pytest.raises(UnsupportedValue) as info:
                get_dialect(provider).to_native(request)
            assert info.value.field in ("input_fidelity", "input_images")
