"""The pytest plugin, used the way a user would: tests written only from the README section, run by
``pytester`` in a fresh pytest session with the plugin loaded (through its ``pytest11`` entry point when
pixelmock is installed with it, else with ``-p pixelmock.emulators.tools.pytest_plugin``).
The example test is taken from README.md's "Testing with pytest" section itself.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "pixelmock.emulators.tools.pytest_plugin"
README = Path(__file__).parent.parent / "README.md"
HEADING = "## Testing with pytest"


@pytest.fixture(autouse=True)
def _users_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's session has no PIXELMOCK_TODAY (this suite's date pin): its clock runs on real time."""
    monkeypatch.delenv("PIXELMOCK_TODAY", raising=False)


#: The README example must pass on the real date and keep passing as the years go by.
A_YEAR_AHEAD = (dt.date.today() + dt.timedelta(days=365)).isoformat()


def _example() -> str:
    """The example test of the README's pytest section, as a user would copy it."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README section has no python example"
    return match.group(1)


def _plugin_args() -> list[str]:
    installed = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", PLUGIN]


@pytest.mark.parametrize("today", [None, A_YEAR_AHEAD], ids=["real-date", "a-year-ahead"])
def test_the_readme_example_passes_as_a_users_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, today: str | None
) -> None:
    if today is not None:
        monkeypatch.setenv("PIXELMOCK_TODAY", today)
    pytester.makepyfile(test_users_code=_example())
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_fixtures_are_isolated_between_tests_and_configurable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_isolation="""
        import datetime as dt
        from decimal import Decimal

        import httpx
        import pytest

        def test_first_spends(pixelmock_server, pixelmock_admin, pixelmock_api_key):
            pixelmock_admin.set_balance(pixelmock_api_key, "USD", "1.5")
            pixelmock_admin.advance(3600)
            assert pixelmock_admin.balance(pixelmock_api_key, "USD") == Decimal("1.5")
            FIRST.append(pixelmock_server.url)

        def test_second_starts_fresh_on_the_same_port(pixelmock_server, pixelmock_admin, pixelmock_api_key):
            assert pixelmock_admin.balance(pixelmock_api_key, "USD") == Decimal(100)
            assert abs(pixelmock_admin.clock()["offset_seconds"]) < 1
            assert pixelmock_admin.ledger()["lines"] == []
            assert pixelmock_server.url == FIRST[0]

        FIRST = []

        @pytest.mark.pixelmock(providers=["openai"], today="2026-12-02", starting_balances={"USD": 7})
        def test_marker(pixelmock_server, pixelmock_admin, pixelmock_env):
            assert list(pixelmock_server.base_urls) == ["openai"]
            assert pixelmock_admin.now().date() == dt.date(2026, 12, 2)
            assert pixelmock_admin.balance("k", "USD") == 7
            assert "PIXELMOCK_APIFRAME_BASE_URL" not in pixelmock_env
            body = {"model": "gpt-image-1.5", "prompt": "x"}
            answer = httpx.post(pixelmock_env["OPENAI_BASE_URL"] + "/images/generations", json=body,
                                headers={"Authorization": "Bearer k"})
            assert answer.status_code == 400  # gpt-image-1.5 is shut down at OpenAI on this date

        def test_env(pixelmock_env, pixelmock_server):
            import os
            assert os.environ["OPENAI_BASE_URL"] == pixelmock_server.url + "/openai/v1"
            assert os.environ["CLOUDFLARE_BASE_URL"] == pixelmock_server.url + "/cloudflare/client/v4"
            gmi = pixelmock_server.url + "/gmicloud/api/v1/ie/requestqueue/apikey"
            assert os.environ["GMI_BASE_URL"] == gmi
            assert os.environ["RUNWARE_API_KEY"] == "pixelmock-test-key"
            assert os.environ["PIXELMOCK_APIFRAME_BASE_URL"] == pixelmock_server.url + "/apiframe"
            assert "CLOUDFLARE_EMAIL" not in os.environ
            assert "127.0.0.1" in os.environ["NO_PROXY"]

        def test_in_process_app_without_a_socket(pixelmock_app, pixelmock_admin):
            answer = pixelmock_app.test_client().get("/apiframe/v2/me", headers={"X-API-Key": "afk_k"})
            assert answer.status_code == 200
            assert [e["status"] for e in pixelmock_admin.journal()] == [200]

        def test_admin_errors_raise(pixelmock_admin):
            from pixelmock.emulators.admin.client import PixelmockAdminError
            with pytest.raises(PixelmockAdminError) as info:
                pixelmock_admin.advance(-5)
            assert info.value.status == 400
        """
    )
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "someone@example.com")
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_a_bad_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.pixelmock(no_such_setting=1)
        def test_bad(pixelmock_app):
            pass
        """
    )
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    assert "no_such_setting" in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_loading_the_plugin_imports_only_pytest_the_standard_library_and_pixelmock() -> None:
    """Every pytest session of an environment with pixelmock installed loads the plugin: Flask, httpx and
    the contracts wait until a fixture is used (``python -m benchmarks.plugin_load`` measures the cost)."""
    code = (
        "import sys, pytest; before = set(sys.modules); import pixelmock.emulators.tools.pytest_plugin; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.split()
    assert "pixelmock.emulators.tools.pytest_plugin" in loaded
    foreign = [
        name
        for name in loaded
        if name.partition(".")[0] not in sys.stdlib_module_names
        and name.partition(".")[0] not in {"pytest", "_pytest", "pluggy"}
        and name not in {"pixelmock", "pixelmock.emulators", "pixelmock.emulators.config"}
        and name not in {"pixelmock.emulators.admin", "pixelmock.emulators.admin.client"}
        and name not in {"pixelmock.emulators.tools", "pixelmock.emulators.tools.pytest_plugin"}
    ]
    assert foreign == []
    assert "flask" not in loaded
