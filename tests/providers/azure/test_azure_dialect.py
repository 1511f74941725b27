"""Azure OpenAI dialect: OpenAI's bodies on a deployment's path; only the models Azure sells."""

from __future__ import annotations

import pytest

from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.dialects.azure import sells
from pixelmock.contracts.errors import UnsupportedValue

DIALECT = get_dialect("azure")
OPENAI = get_dialect("openai")


def test_azure_sells_the_models_with_an_azure_retirement_date() -> None:
    assert sells("gpt-image-1.5") and sells("gpt-image-2")
    assert not sells("gpt-image-1-mini") and not sells("gpt-image-2.5-flare")
    with pytest.raises(UnsupportedValue) as raised:
        DIALECT.capabilities("gpt-image-2.5-flare")
    assert raised.value.provider == "azure"


def test_the_native_request_is_openais_body_on_the_deployment_named_like_the_model() -> None:
    request = CanonicalRequest(model="gpt-image-2", prompt="a fox", size="1024x1024", quality="low")
    native = DIALECT.to_native(request)
    openai = OPENAI.to_native(request)
    assert native.path == "/openai/deployments/gpt-image-2/images/generations?api-version=2025-04-01-preview"
    assert native.body == {k: v for k, v in openai.body.items() if k != "model"}
    assert DIALECT.from_native(native) == OPENAI.from_native(openai)


def test_the_v1_surface_reads_the_deployment_from_model() -> None:
    native = NativeRequest("azure", "createImageV1", {"model": "gpt-image-1.5", "prompt": "a fox"})
    assert DIALECT.from_native(native).model == "gpt-image-1.5"


def test_openais_refusals_are_named_as_azures() -> None:
    with pytest.raises(UnsupportedValue) as raised:
        DIALECT.resolve(CanonicalRequest(model="gpt-image-2", prompt="x", background="transparent"))
    assert raised.value.provider == "azure" and raised.value.field == "background"


def test_quotes_use_azures_rule_at_openais_token_prices() -> None:
    request = CanonicalRequest(model="gpt-image-2", prompt="a fox", size="1024x1024", quality="high")
    assert DIALECT.quote(request).usd == OPENAI.quote(request).usd
