"""A newcomer's first hour, as the README leads it: ``GET /`` leads to the inspector and names every
provider's base URL (JSON for ``curl``, a page for a browser), and every ``pixelmock cost`` line of the
README prints a price for each provider it names, never an error row."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from paths import README

from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators import create_app
from pixelmock.emulators.tools.cli import main


def test_the_root_answers_json_with_the_inspector_and_every_base_url() -> None:
    client = create_app().test_client()
    answer = client.get("/", base_url="http://127.0.0.1:8080")
    assert answer.status_code == 200 and answer.is_json
    body = answer.get_json()
    assert body["inspector"] == "http://127.0.0.1:8080/__admin/ui"
    assert body["health"] == "http://127.0.0.1:8080/__health"
    prefixes = client.get("/__health").get_json()["providers"]
    assert list(body["providers"]) == list(PROVIDERS)
    assert body["providers"] == {name: "http://127.0.0.1:8080" + prefix for name, prefix in prefixes.items()}
    assert client.get(body["inspector"].removeprefix("http://127.0.0.1:8080")).status_code == 200


def test_a_browser_gets_a_page_linking_the_inspector() -> None:
    client = create_app(providers=["runware"]).test_client()
    answer = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert '<a href="/__admin/ui">inspector</a>' in page
    assert "http://localhost/runware/v1" in page and "openai" not in page


def _readme_cost_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
    found = re.findall(r"^(pixelmock cost .+)$", text, flags=re.M)
    found += re.findall(r"`(pixelmock cost [^`]+)`", text)
    return sorted(set(found))


@pytest.mark.parametrize("line", _readme_cost_lines())
def test_every_readme_cost_example_prices_without_an_error_row(
    line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = shlex.split(line)[1:]
    if "--json" not in args:
        args.append("--json")
    assert main([*args, "--date", "2026-11-30"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all("error" not in row for row in rows), rows
    assert all("None" not in json.dumps(row) for row in rows), rows


def test_the_readme_has_cost_examples() -> None:
    assert len(_readme_cost_lines()) >= 2
