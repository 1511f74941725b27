"""The provider registry (``contracts/data/providers.yaml``, ``pixelmock.contracts.providers``) against
what it describes: each entry's emulator module, dialect, client flow and contract document, the admin
document, the README's providers table and the control plane; and the registry's own facts (sourced from
public material, typed, importable without the emulators)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from typing import Any

import pytest
from paths import ROOT

from pixelmock.client.base import flow_for
from pixelmock.contracts import openapi
from pixelmock.contracts.data import load
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.errors import UnknownProvider
from pixelmock.contracts.evidence import RUNGS
from pixelmock.contracts.generated import section
from pixelmock.contracts.openapi import document
from pixelmock.contracts.providers import (
    LIFECYCLES,
    PROVIDERS,
    ProviderEntry,
    entries,
    names,
    provider,
    providers_table,
)
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.app import RESERVED
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.tools.pytest_plugin import sdk_cleared, sdk_environment

ENTRIES = {entry.name: entry for entry in entries()}
HEX_COLOUR = re.compile(r"^#[0-9a-f]{6}$")


def test_the_registry_is_every_provider_in_display_order() -> None:
    assert names() == PROVIDERS == openapi.PROVIDERS == tuple(ENTRIES)
    assert names() == tuple(load("providers")["providers"])
    assert provider("runware") is ENTRIES["runware"]
    with pytest.raises(UnknownProvider):
        provider("midjourney")


@pytest.mark.parametrize("name", PROVIDERS)
def test_each_entry_is_its_emulator_modules_provider(name: str) -> None:
    entry = ENTRIES[name]
    module = importlib.import_module(f"pixelmock.emulators.providers.{entry.module}")
    assert (module.PROVIDER.name, module.PROVIDER.prefix) == (entry.name, entry.prefix)
    [loaded] = load_providers([name])
    assert loaded is module.PROVIDER


@pytest.mark.parametrize("name", PROVIDERS)
def test_each_entry_names_its_dialect_client_flow_and_contract(name: str) -> None:
    entry = ENTRIES[name]
    dialect = importlib.import_module(f"pixelmock.contracts.dialects.{entry.dialect}").DIALECT
    assert dialect.provider == name and get_dialect(name) is dialect
    assert flow_for(name) is importlib.import_module(f"pixelmock.client.{entry.client}").FLOW
    assert (ROOT / "contracts" / "openapi" / f"{entry.document}.yaml").is_file()
    # the contract's first server is the registry's real base URL
    assert document(name)["servers"][0]["url"] == entry.base_url.value == openapi.real_base_url(name)


def test_prefixes_are_distinct_and_none_is_inside_another_or_the_emulators_own_paths() -> None:
    prefixes = [entry.prefix for entry in entries()]
    assert len(set(prefixes)) == len(prefixes)
    for prefix in prefixes:
        assert prefix.startswith("/") and not prefix.endswith("/")
        assert not prefix.startswith(RESERVED)
        assert not any(other != prefix and prefix.startswith(other + "/") for other in prefixes)


def _values(entry: ProviderEntry) -> list[Any]:
    return [entry.title, entry.prefix, entry.module, entry.dialect, entry.client, entry.document]


@pytest.mark.parametrize("name", PROVIDERS)
def test_each_fact_is_typed_and_sourced_from_public_material(name: str) -> None:
    entry = ENTRIES[name]
    assert all(isinstance(value, str) and value for value in _values(entry))
    assert entry.lifecycle in LIFECYCLES
    assert HEX_COLOUR.match(entry.colour.background) and HEX_COLOUR.match(entry.colour.text)
    assert entry.base_url.value.startswith("https://")
    assert entry.sdks, "every provider names the SDK a test points at the emulator"
    for fact in (entry.base_url, *entry.sdks):
        assert fact.evidence in RUNGS and fact.source
        assert not re.search(r"\bresearch/|\bseeds/", fact.source), fact.source
        # a URL with the date it was read, or a package release
        assert re.search(r"https://\S+|\(PyPI\)|@[0-9a-f]{7,}", fact.source), fact.source
        assert re.search(r"read 20\d\d-\d\d-\d\d", fact.source), fact.source
    for sdk in entry.sdks:
        assert sdk.base_url_arguments, "the argument that takes the base URL when no variable does"
        for variable in (sdk.base_url_env, sdk.api_key_env, *sdk.cleared_env):
            assert variable is None or re.fullmatch(r"[A-Z][A-Z0-9_]*", variable)


def test_the_data_file_cites_no_private_notes() -> None:
    text = (ROOT / "contracts" / "data" / "providers.yaml").read_text(encoding="utf-8")
    assert not re.search(r"\bresearch/|\bseeds/", text)


def test_the_pytest_plugin_reads_the_sdk_variables_from_the_registry() -> None:
    environment = sdk_environment()
    assert list(environment) == list(PROVIDERS)
    for entry in entries():
        assert environment[entry.name] == (entry.base_url_env, entry.api_key_env)
    assert set(sdk_cleared()) == {name for entry in entries() for name in entry.cleared_env}


def _provider_schemas(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every parameter or property called ``provider`` in a document, with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("name") == "provider" and isinstance(node.get("schema"), dict):
            found.append((path, node["schema"]))
        provider_property = node.get("properties", {}).get("provider")
        if isinstance(provider_property, dict):
            found.append((f"{path}.properties.provider", provider_property))
        for key, value in node.items():
            found.extend(_provider_schemas(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_provider_schemas(value, f"{path}[{i}]"))
    return found


def test_the_admin_document_lists_no_provider_names_of_its_own() -> None:
    """The control plane takes any mounted provider: a ``provider`` parameter or property either has no
    enum or has exactly the registry's names, and no description spells the list out by hand (a new
    provider must not need an edit there); ``GET /__admin/providers`` is where the names are."""
    admin = document("admin")
    schemas = _provider_schemas(admin)
    assert len(schemas) >= 5  # journal, webhooks, fault rules, bill rows, journal entries
    for where, schema in schemas:
        enum = schema.get("enum")
        assert enum is None or [v for v in enum if v is not None] == list(PROVIDERS), where
    text = (ROOT / "contracts" / "openapi" / "admin.yaml").read_text(encoding="utf-8")
    assert not re.search(r",\s*".join(PROVIDERS[:2]), text)
    assert admin["paths"]["/providers"]["get"]["operationId"] == "getProviders"


def test_the_control_plane_serves_the_mounted_providers_registry_facts() -> None:
    app = create_app(EmulatorConfig(), providers=["gmicloud", "openai"])
    listed = PixelmockAdmin.for_app(app).providers()
    assert [p["name"] for p in listed] == ["gmicloud", "openai"]
    for shown in listed:
        entry = ENTRIES[shown["name"]]
        assert shown == {
            "name": entry.name,
            "title": entry.title,
            "prefix": entry.prefix,
            "base_url": entry.base_url.value,
            "colour": {"background": entry.colour.background, "text": entry.colour.text},
        }
    every = PixelmockAdmin.for_app(create_app(EmulatorConfig())).providers()
    assert [p["name"] for p in every] == list(PROVIDERS)


def test_the_readme_providers_table_is_generated_from_the_registry() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert section(text, "providers") == providers_table()
    assert providers_table().count("\n") == 1 + len(PROVIDERS)


def test_the_registry_loads_without_flask_httpx_or_the_emulators() -> None:
    code = (
        "import sys; import pixelmock.contracts.providers as p; p.entries(); "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = loaded.split()
    assert "yaml" in modules
    for foreign in ("flask", "httpx", "werkzeug", "pixelmock.emulators", "pixelmock.client"):
        assert foreign not in modules, foreign
