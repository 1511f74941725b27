"""The pytest plugin, used the way a user would: tests written only from the README section, run by
``pytester`` in a fresh pytest session with the plugin loaded (through its ``pytest11`` entry point when
pixelmock is installed with it, else with ``-p emulators.pytest_plugin``).

``README_SECTION`` is the README text for the plugin and the control plane; while README.md does not
carry it yet, the example test is taken from here, and once it does, from README.md itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "emulators.pytest_plugin"
README = Path(__file__).parent.parent / "README.md"
HEADING = "## Testing with pytest"

README_SECTION = """
## Testing with pytest

Installing pixelmock also installs a pytest plugin: no conftest needed. Every test gets a fresh emulator
(jobs, balances, keys, clock and journal start over); one real server on a free port of 127.0.0.1 is
started once per session and serves the current test's emulator.

| fixture | what it gives |
|---|---|
| `pixelmock_env` | the official SDKs find the emulator: `OPENAI_BASE_URL`/`OPENAI_API_KEY`, `CLOUDFLARE_BASE_URL`/`CLOUDFLARE_API_TOKEN`, `GMI_BASE_URL`/`GMI_API_KEY`, `RUNWARE_API_KEY` (the `runware` SDK takes its URL as an argument), plus `PIXELMOCK_URL` and `PIXELMOCK_<PROVIDER>_BASE_URL` for your own code |
| `pixelmock_server` | the running server: `.url` (root), `.base_url("apiframe")`, `.base_urls` |
| `pixelmock_admin` | the control plane: `advance(seconds)`, `set_date(day)`, `set_now(moment)`, `journal(provider=, method=, status=, path=, since=)`, `ledger(key=)`, `balance(key, currency)`, `set_balance(key, currency, amount)`, `add_key(key)`, `revoke_key(key, status="invalid" or "inactive")`, `reset()` |
| `pixelmock_api_key` | the key `pixelmock_env` exports (`pixelmock-test-key`) |
| `pixelmock_app` | the Flask app in process, no socket (`pixelmock_app.test_client()`) |
| `@pytest.mark.pixelmock(...)` | settings of the test's emulator: `today="2026-12-02"`, `options={...}`, `starting_balances={...}`, `providers=["openai"]`, `open_accounts=False` (or override `pixelmock_config`) |

```python
import httpx
import openai
import pytest


def test_openai_sdk(pixelmock_env, pixelmock_admin):
    client = openai.OpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY come from pixelmock_env
    result = client.images.generate(model="gpt-image-1.5", prompt="a red fox", size="1024x1024", quality="low")
    assert result.data[0].b64_json

    [entry] = pixelmock_admin.journal(provider="openai")
    assert entry["route"] == "POST /openai/v1/images/generations"
    assert entry["request"]["headers"]["Authorization"] == "Bearer REDACTED"


@pytest.mark.pixelmock(options={"apiframe.seconds_to_complete": 30})
def test_apiframe_job_takes_thirty_virtual_seconds(pixelmock_server, pixelmock_admin, pixelmock_api_key):
    base, headers = pixelmock_server.base_url("apiframe"), {"X-API-Key": pixelmock_api_key}
    pixelmock_admin.set_balance(pixelmock_api_key, "credits", 100)
    body = {"model": "gpt-image-1.5", "prompt": "a lighthouse", "gptImageParams": {"quality": "high"}}
    job_id = httpx.post(f"{base}/v2/images/generate", json=body, headers=headers).json()["jobId"]

    assert httpx.get(f"{base}/v2/jobs/{job_id}", headers=headers).json()["status"] == "PROCESSING"
    pixelmock_admin.advance(30)  # the virtual clock: no sleeping
    job = httpx.get(f"{base}/v2/jobs/{job_id}", headers=headers).json()
    assert job["status"] == "COMPLETED"
    assert pixelmock_admin.balance(pixelmock_api_key, "credits") == 100 - job["creditCost"]
    assert pixelmock_admin.ledger(key=pixelmock_api_key)["lines"][-1]["amount"] == f"-{job['creditCost']}"


def test_a_revoked_key_is_refused(pixelmock_env, pixelmock_admin, pixelmock_api_key):
    pixelmock_admin.revoke_key(pixelmock_api_key)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI().images.generate(model="gpt-image-2", prompt="a red fox")
```

### The control plane: `/__admin/`

Every emulator app serves it (`pixelmock serve` too); its OpenAPI 3.1 document is `/__admin/openapi.json`.
Outside pytest, `PixelmockAdmin.for_url("http://127.0.0.1:8080")` (from `emulators.pytest_plugin`) wraps it.

| route | does |
|---|---|
| `POST /__admin/reset` | forget jobs, tasks, files, journal, ledger, accounts and key changes; clock back to its start |
| `GET /__admin/clock`, `PUT /__admin/clock` `{"date": "2026-12-02"}` or `{"now": "2026-12-02T10:00:00Z"}`, `POST /__admin/clock/advance` `{"seconds": 30}` | the virtual clock every job, file expiry, lifecycle date and price date follows |
| `GET /__admin/journal?provider=&method=&status=4xx&path=&since=&after=&limit=`, `DELETE /__admin/journal` | every request under a provider's prefix and its answer: route, status, virtual time, JSON body, response summary, the canonical request and cost the emulator derived, the ledger lines it moved; credentials (`Authorization`, `X-API-Key`, Cloudflare auth headers, `apiKey`/`token`/`password` fields) read `REDACTED`. Keeps the last 1000 (`EmulatorConfig.journal_limit`) |
| `GET /__admin/ledger?key=&account=&currency=` | every debit, refund and balance set (decimal strings), with totals per account and currency |
| `GET /__admin/accounts[?key=]`, `PUT /__admin/accounts/balances` `{"key": "...", "balances": {"USD": "5", "credits": "20"}}` | read and set balances |
| `POST /__admin/keys` `{"key": "...", "status": "active" or "invalid" or "inactive"}` | add a key, or revoke it (the provider's 401 or 403) |

The key is the handle on an account, but pixelmock never stores it: accounts are named by a hash of the key.
"""  # noqa: E501 (markdown tables)


def _example() -> str:
    """The README's example test (README.md once it carries the section, else ``README_SECTION``)."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    section = text[text.index(HEADING) :] if HEADING in text else README_SECTION
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README section has no python example"
    return match.group(1)


def _plugin_args() -> list[str]:
    installed = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", PLUGIN]


def test_the_readme_example_passes_as_a_users_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_users_code=_example())
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


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
            assert answer.status_code == 404  # gpt-image-1.5 is shut down at OpenAI on this date

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
            from emulators.pytest_plugin import PixelmockAdminError
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


def test_the_plugin_imports_nothing_beyond_emulators() -> None:
    code = (
        "import sys, pytest, emulators; before = set(sys.modules); import emulators.pytest_plugin; "
        "print(sorted(m for m in set(sys.modules) - before if m != 'emulators.pytest_plugin'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
