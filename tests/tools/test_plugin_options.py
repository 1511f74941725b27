"""The pytest plugin's own settings, used from a user's project through ``pytester``: ``pixelmock_<field>``
ini keys, ``--pixelmock-url`` (the fixtures against a running ``pixelmock serve``), the guard that refuses
the real providers' hosts, and the bill of a pytest-xdist run."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest
import yaml
from served import pixelmock_process

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.tools.proxy import create_proxy
from pixelmock.emulators.tools.server import running

pytest_plugins = ["pytester"]

PLUGIN = "pixelmock.emulators.tools.pytest_plugin"


@pytest.fixture
def plugin_args() -> list[str]:
    installed = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return ["-p", "no:cacheprovider"] + ([] if installed else ["-p", PLUGIN])


@pytest.fixture(autouse=True)
def _no_date_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIXELMOCK_TODAY", raising=False)


def test_ini_keys_set_the_emulators_config(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    pytester.makeini(
        """
        [pytest]
        pixelmock_today = 2026-11-30
        pixelmock_starting_balances = USD=5
        pixelmock_options = apiframe.polls_to_complete=3
        """
    )
    pytester.makepyfile(
        """
        import datetime as dt
        import pytest

        def test_ini(pixelmock_admin, pixelmock_config):
            assert pixelmock_admin.now().date() == dt.date(2026, 11, 30)
            assert pixelmock_admin.balance("k", "USD") == 5
            assert pixelmock_admin.balance("k", "credits") == 10000  # the map adds to the defaults
            assert pixelmock_config.options == {"apiframe.polls_to_complete": 3}

        @pytest.mark.pixelmock(today="2026-12-02")
        def test_the_marker_wins(pixelmock_admin):
            assert pixelmock_admin.now().date() == dt.date(2026, 12, 2)
        """
    )
    result = pytester.runpytest(*plugin_args)
    result.assert_outcomes(passed=2)
    assert "Unknown config option" not in result.stdout.str()


def test_a_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    pytester.makeini("[pytest]\npixelmock_today = someday\n")
    pytester.makepyfile("def test_x(pixelmock_app):\n    pass\n")
    result = pytester.runpytest(*plugin_args)
    assert "pytest ini: pixelmock_today: expected a date YYYY-MM-DD, got 'someday'" in result.stdout.str()
    assert result.ret != 0


GUARDED = """
import httpx
import openai
import pytest

def test_httpx_to_the_real_openai_host_is_refused():
    httpx.get("https://api.cloudflare.com/client/v4/accounts", headers={"Authorization": "Bearer t"})

def test_the_sdk_without_pixelmock_env_fails_with_pixelmocks_message():
    openai.OpenAI(api_key="sk-developer", max_retries=0).models.list()

def test_a_swallowed_refusal_still_fails_the_test():
    try:
        httpx.post("https://api.runware.ai/v1", json=[])
    except Exception:
        pass

def test_the_emulator_is_reached(pixelmock_env):
    assert openai.OpenAI().models.list().data
"""


def test_the_guard_refuses_the_real_providers_hosts(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    pytester.makepyfile(GUARDED)
    result = pytester.runpytest(*plugin_args)
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    assert "pixelmock refused a connection to api.cloudflare.com (cloudflare's real API)" in out
    assert "pixelmock refused a connection to api.openai.com (openai's real API)" in out
    assert "pixelmock refused a connection to api.runware.ai (runware's real API)" in out
    assert "--pixelmock-allow-real-hosts" in out


def test_the_guard_can_be_turned_off(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    pytester.makepyfile(
        """
        import socket

        def test_lookup_is_the_standard_librarys():
            assert socket.getaddrinfo.__module__ == "socket"
        """
    )
    # in subprocesses: this session's own guard is installed in this process
    pytester.runpytest_subprocess(*plugin_args, "--pixelmock-allow-real-hosts").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\npixelmock_allow_real_hosts = true\n")
    pytester.runpytest_subprocess(*plugin_args).assert_outcomes(passed=1)
    pytester.makeini("[pytest]\n")
    pytester.runpytest_subprocess(*plugin_args).assert_outcomes(failed=1)


REMOTE = """
import datetime as dt
import httpx
import openai
import pytest

def test_generates_on_the_running_server(pixelmock_env, pixelmock_server, pixelmock_admin):
    assert pixelmock_server.app is None and pixelmock_server.url == pixelmock_env["PIXELMOCK_URL"]
    openai.OpenAI().images.generate(model="gpt-image-2", prompt="a fox", size="1024x1024", quality="low")
    assert len(pixelmock_admin.journal(provider="openai")) == 1

def test_starts_from_a_reset_server(pixelmock_admin):
    assert pixelmock_admin.journal() == []

@pytest.mark.pixelmock(today="2026-11-30", latency_profile="manual")
def test_marker_settings_apply_for_the_test(pixelmock_admin):
    assert pixelmock_admin.now().date() == dt.date(2026, 11, 30)
    assert pixelmock_admin.settings()["latency_profile"] == "manual"

def test_and_are_put_back(pixelmock_admin):
    assert pixelmock_admin.settings()["latency_profile"] != "manual"

def test_the_app_in_process_is_not_there(pixelmock_app):
    pass
"""


def test_fixtures_run_against_a_running_server(
    pytester: pytest.Pytester, plugin_args: list[str], tmp_path: Path
) -> None:
    with pixelmock_process(tmp_path / "port", "serve") as (url, _):
        pytester.makepyfile(REMOTE)
        result = pytester.runpytest(*plugin_args, "--pixelmock-url", url)
        result.assert_outcomes(passed=4, errors=1)
        out = result.stdout.str()
        assert f"this run uses the server at {url}" in out
        assert "pixelmock bill" in out and "openai" in out
        assert httpx.get(f"{url}/__admin/journal").json()["entries"] == []  # reset after the last test


RECORDED = """
import httpx
import pytest

def _generate(server, prompt, headers=None):
    job = {"model": "gpt-image-2", "prompt": prompt, "quality": "low", "size": "1024x1024"}
    answer = httpx.post(server.base_url("openai") + "/images/generations", json=job,
                        headers={"Authorization": "Bearer k", **(headers or {})})
    assert answer.status_code == 200

def test_fox(pixelmock_server):
    _generate(pixelmock_server, "a fox")
    _generate(pixelmock_server, "a second fox")

@pytest.mark.parametrize("animal", ["owl"])
def test_bird(pixelmock_server, animal):
    _generate(pixelmock_server, animal)
    _generate(pixelmock_server, "named", {"X-Pixelmock-Session": "mine"})
"""


def test_through_a_recording_proxy_each_test_is_a_session_named_after_it(
    pytester: pytest.Pytester, plugin_args: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    with running(create_app(EmulatorConfig())) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        with running(create_proxy(bases, record_dir=folder)) as url:
            pytester.makepyfile(test_animals=RECORDED)
            pytester.runpytest(*plugin_args, "--pixelmock-url", url).assert_outcomes(passed=2)
            after = httpx.get(url + "/__admin/session").json()
            refused = httpx.put(url + "/__admin/session", json={"name": 3})
    assert refused.status_code == 400 and "error" in refused.json()
    cassettes = {p.name: yaml.safe_load(p.read_text()) for p in (folder / "sessions").glob("*.yaml")}
    prompts = {
        name: [json.loads(i["request"]["body"])["prompt"] for i in data["interactions"]]
        for name, data in cassettes.items()
    }
    assert prompts == {
        "test_animals.py-test_fox.yaml": ["a fox", "a second fox"],
        "test_animals.py-test_bird-owl.yaml": ["owl"],
        "mine.yaml": ["named"],  # the header still wins
    }
    assert after == {"name": None} and not list(folder.glob("openai/*.yaml"))


def test_the_bill_of_an_xdist_run_adds_up_every_workers(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import httpx
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_generate(pixelmock_server, n):
            answer = httpx.post(pixelmock_server.base_url("openai") + "/images/generations",
                                json={"model": "gpt-image-2", "prompt": "a fox", "quality": "low",
                                      "size": "1024x1024"}, headers={"Authorization": "Bearer k"})
            assert answer.status_code == 200
        """
    )
    result = pytester.runpytest_subprocess(*plugin_args, "-n", "2")
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    assert "pixelmock bill" in out and "4 test apps" in out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[1:3] == ["4", "4"], total
