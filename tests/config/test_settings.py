"""Settings of a served emulator: every field from a flag, a ``PIXELMOCK_<NAME>`` variable or a config file
(``pixelmock.toml``, ``[tool.pixelmock]``), in that order over the defaults; compound values and their
errors; the README's generated table; ``GET/PUT /__admin/settings``; the ``pixelmock serve`` command line
(usage errors exit 2 with one line, no traceback)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from paths import README

from pixelmock.contracts.generated import section
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin, PixelmockAdminError
from pixelmock.emulators.config import SETTING, setting
from pixelmock.emulators.config.settings import (
    ServerSettings,
    Setting,
    SettingError,
    by_name,
    settings,
    settings_json,
    settings_of,
    settings_table,
    shown,
    to_json,
)
from pixelmock.emulators.config.sources import load, misspelt, read_config_file
from pixelmock.emulators.core.webhooks import refusal
from pixelmock.emulators.tools.cli import main
from pixelmock.emulators.tools.server import free_port
from pixelmock.emulators.web.context import runtime

NO_ENV: dict[str, str] = {}


def _load(tmp_path: Path, flags: dict[str, Any] | None = None, env: dict[str, str] | None = None,
          config: Path | None = None) -> tuple[ServerSettings, EmulatorConfig]:  # fmt: skip
    return load(flags or {}, env or NO_ENV, tmp_path, config)


# -- the mechanism ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("owner", [EmulatorConfig, ServerSettings])
def test_every_field_is_a_setting_with_metadata(owner: type) -> None:
    missing = [f.name for f in dataclasses.fields(owner) if SETTING not in f.metadata]
    assert missing == [], f"give these fields setting(...) metadata: {missing}"
    names = {s.name for s in settings()}
    assert {f.name for f in dataclasses.fields(owner)} <= names


def test_a_field_without_metadata_is_refused() -> None:
    @dataclasses.dataclass
    class Extended(EmulatorConfig):
        byte_budget: int = 5

    with pytest.raises(TypeError, match=r"Extended.byte_budget has no setting\(...\) metadata"):
        settings_of(Extended)

    @dataclasses.dataclass
    class Described(EmulatorConfig):
        byte_budget: int = dataclasses.field(default=5, metadata=setting("bytes kept", runtime=True))

    spec = settings_of(Described)[-1]
    assert (spec.flag, spec.env, spec.parse("12"), spec.runtime) == (
        "--byte-budget",
        "PIXELMOCK_BYTE_BUDGET",
        12,
        True,
    )


@pytest.mark.parametrize("spec", settings(), ids=lambda s: s.name)
def test_every_default_reads_back_from_its_documented_text(spec: Setting) -> None:
    if spec.meta.default_text is None:
        assert spec.parse(shown(spec.default)) == spec.default
    assert spec.parse(to_json(spec.default)) == spec.default  # as GET /__admin/settings shows it
    assert spec.default_text() in settings_table()


def test_names_are_derived_from_the_field() -> None:
    spec = by_name()["journal_limit"]
    assert (spec.flag, spec.env, spec.name) == ("--journal-limit", "PIXELMOCK_JOURNAL_LIMIT", "journal_limit")
    today = by_name()["today"]
    assert today.flags == ("--today", "--date") and today.env == "PIXELMOCK_TODAY"
    assert by_name()["latency_profile"].flags == ("--latency-profile", "--latency")


def test_the_readme_table_is_generated_from_the_settings() -> None:
    table = settings_table()
    assert section(README.read_text(encoding="utf-8"), "settings") == table
    assert table.count("\n") == 1 + len(settings())
    assert "| outbound_hosts (config) | `--outbound-hosts` | `PIXELMOCK_OUTBOUND_HOSTS` |" in table


def test_the_table_command_writes_the_readme_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- settings table: generated -->\nstale\n<!-- end of settings table -->\nend\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pixelmock.emulators.config.settings", "--write", str(readme)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert section(readme.read_text(), "settings") == settings_table()
    assert readme.read_text().startswith("intro\n") and readme.read_text().endswith("\nend\n")


# -- sources and precedence ------------------------------------------------------------------------------


def test_defaults_are_the_dataclasses_and_serve_ticks_every_second(tmp_path: Path) -> None:
    server, config = _load(tmp_path)
    assert server == ServerSettings()
    assert config.tick_seconds == 1.0  # serve's own default; the library's is None
    assert dataclasses.replace(config, tick_seconds=None) == EmulatorConfig()


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    (tmp_path / "pixelmock.toml").write_text("journal_limit = 30\nledger_limit = 31\nmax_records = 32\n")
    env = {"PIXELMOCK_JOURNAL_LIMIT": "20", "PIXELMOCK_LEDGER_LIMIT": "21"}
    _, config = _load(tmp_path, flags={"journal_limit": 10}, env=env)
    assert (config.journal_limit, config.ledger_limit, config.max_records) == (10, 21, 32)
    assert config.max_body_bytes == EmulatorConfig().max_body_bytes


def test_pixelmock_toml_wins_over_pyproject_and_pyproject_is_read_alone(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n[tool.pixelmock]\nport = 9001\n')
    server, _ = _load(tmp_path)
    assert server.port == 9001
    (tmp_path / "pixelmock.toml").write_text("port = 9002\n")
    assert _load(tmp_path)[0].port == 9002
    other = tmp_path / "ci.toml"
    other.write_text("port = 9003\n")
    assert _load(tmp_path, config=other)[0].port == 9003
    assert _load(tmp_path, env={"PIXELMOCK_CONFIG": str(other)})[0].port == 9003


def test_a_pyproject_without_our_table_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    assert _load(tmp_path)[0].port == 8080
    with pytest.raises(SettingError, match=r"no \[tool.pixelmock\] table"):
        read_config_file(tmp_path / "pyproject.toml")


def test_file_values_use_toml_types_and_strings_alike(tmp_path: Path) -> None:
    (tmp_path / "pixelmock.toml").write_text(
        """
today = 2026-11-30
outbound_hosts = ["app", "10.0.0.0/8"]
invalid_keys = "bad-1,bad-2"
open_accounts = false
webhook_retry_schedule = [1, 5.5]
file_ttl_seconds = 3600
provider = ["openai", "runware"]

[starting_balances]
USD = "2.50"
credits = 40

[options]
apiframe.polls_to_complete = 3
"openai.gpt_image_2_max_edge_inclusive" = false
"""
    )
    server, config = _load(tmp_path)
    assert server.provider == ("openai", "runware")
    assert config.today == dt.date(2026, 11, 30)
    assert config.outbound_hosts == frozenset({"app", "10.0.0.0/8"})
    assert config.invalid_keys == frozenset({"bad-1", "bad-2"})
    assert config.open_accounts is False
    assert config.webhook_retry_schedule == (1.0, 5.5)
    assert config.file_ttl_seconds == 3600
    assert config.starting_balances == {"USD": Decimal("2.50"), "credits": Decimal(40)}
    assert config.options == {"apiframe.polls_to_complete": 3, "openai.gpt_image_2_max_edge_inclusive": False}


def test_env_values_are_strings_in_the_flags_syntax(tmp_path: Path) -> None:
    env = {
        "PIXELMOCK_STARTING_BALANCES": "USD=5, credits=100",
        "PIXELMOCK_OPTIONS": "openai.gpt_image_2_max_edge_inclusive=false,apiframe.polls_to_complete=2",
        "PIXELMOCK_WEBHOOK_RETRY_SCHEDULE": "1,2,4",
        "PIXELMOCK_FILE_TTL_SECONDS": "none",
        "PIXELMOCK_OPEN_ACCOUNTS": "no",
        "PIXELMOCK_PROVIDER": "gmicloud",
        "PIXELMOCK_LATENCY_PROFILE": "manual",
        "PIXELMOCK_HOST": "",  # empty: unset
    }
    server, config = _load(tmp_path, env=env)
    assert config.starting_balances == {"USD": Decimal(5), "credits": Decimal(100)}
    assert config.options == {"openai.gpt_image_2_max_edge_inclusive": False, "apiframe.polls_to_complete": 2}
    assert config.webhook_retry_schedule == (1.0, 2.0, 4.0)
    assert config.file_ttl_seconds is None and config.open_accounts is False
    assert (server.provider, server.host, config.latency_profile) == (("gmicloud",), "127.0.0.1", "manual")


def test_pixelmock_today_still_names_the_date(tmp_path: Path) -> None:
    assert _load(tmp_path, env={"PIXELMOCK_TODAY": "2026-12-02"})[1].today == dt.date(2026, 12, 2)
    (tmp_path / "pixelmock.toml").write_text("today = 2026-01-05\n")
    assert _load(tmp_path, env={"PIXELMOCK_TODAY": "2026-12-02"})[1].today == dt.date(2026, 12, 2)
    assert _load(tmp_path, flags={"today": dt.date(2026, 6, 1)})[1].today == dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PIXELMOCK_PORT": "http"}, "PIXELMOCK_PORT: expected an integer, got 'http'"),
        ({"PIXELMOCK_PORT": "70000"}, "PIXELMOCK_PORT: expected a number <= 65535"),
        ({"PIXELMOCK_CONNECTIONS": "0"}, "PIXELMOCK_CONNECTIONS: expected a number >= 1"),
        ({"PIXELMOCK_TODAY": "next tuesday"}, "PIXELMOCK_TODAY: expected a date YYYY-MM-DD"),
        ({"PIXELMOCK_OPEN_ACCOUNTS": "maybe"}, "expected true or false"),
        ({"PIXELMOCK_SPEED_FACTOR": "nan"}, "PIXELMOCK_SPEED_FACTOR: expected a number >= 0"),
        ({"PIXELMOCK_STARTING_BALANCES": "USD"}, "expected name=amount pairs"),
        ({"PIXELMOCK_STARTING_BALANCES": "USD=-1"}, "not an amount >= 0: '-1'"),
        ({"PIXELMOCK_STARTING_BALANCES": "USD=lots"}, "not an amount: 'lots'"),
        ({"PIXELMOCK_OPTIONS": "polls_to_complete=3"}, "expected <provider>.<option>"),
        ({"PIXELMOCK_OPTIONS": "openai.gpt_image_2_max_edge_inclusive=maybe"}, "is not one of True, False"),
        ({"PIXELMOCK_WEBHOOK_RETRY_SCHEDULE": "1,soon"}, "expected a number, got 'soon'"),
        ({"PIXELMOCK_LATENCY_PROFILE": "slow"}, "expected one of instant, realistic, manual"),
        ({"PIXELMOCK_PROVIDER": "openai,midjourney"}, "expected one of openai, cloudflare"),
    ],
)
def test_compound_and_scalar_errors_name_their_source(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingError) as caught:
        _load(tmp_path, env=env)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("journal_limt = 5\n", "unknown setting(s) journal_limt; known: host, port"),
        ("port = 80.5\n", "pixelmock.toml: port: expected an integer, got 80.5"),
        ("outbound_hosts = [1, 2]\n", "outbound_hosts: expected a comma-separated list"),
        ("[starting_balances]\nUSD = true\n", "starting_balances: not an amount: True"),
        ("port = \n", "not TOML"),
        ("open_accounts = 'yes please'\n", "open_accounts: expected true or false"),
    ],
)
def test_file_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pixelmock.toml").write_text(text)
    with pytest.raises(SettingError, match=r"pixelmock\.toml") as caught:
        _load(tmp_path)
    assert message in str(caught.value)


def test_a_misspelt_variable_is_named_and_others_pass() -> None:
    env = {
        "PIXELMOCK_OUTBOUND_HOST": "app",
        "PIXELMOCK_URL": "http://127.0.0.1:8080",  # the pytest plugin's
        "PIXELMOCK_OPENAI_BASE_URL": "http://127.0.0.1:8080/openai/v1",
        "PIXELMOCK_JOURNAL_LIMIT": "5",
    }
    assert misspelt(env) == [
        "PIXELMOCK_OUTBOUND_HOST is not a setting (did you mean PIXELMOCK_OUTBOUND_HOSTS?); ignored"
    ]


# -- pixelmock serve's command line ----------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[Flask, str, int, int]]:
    """``pixelmock serve`` in process: what it would serve, instead of serving it."""
    import pixelmock.emulators.tools.server as server

    calls: list[tuple[Flask, str, int, int]] = []

    def record(
        factory: Callable[[], Flask],
        host: str,
        port: int,
        *,
        connections: int,
        read_timeout: float,
        port_file: Path | None,
        workers: int,
        tls: object = None,
    ) -> None:
        assert workers == 1  # more need a shared store: refused before serving (test_server.py)
        calls.append((factory(), host, port, connections))

    monkeypatch.setattr(server, "serve", record)
    monkeypatch.chdir(tmp_path)
    for spec in settings():
        if spec.name != "today":
            monkeypatch.delenv(spec.env, raising=False)
    return calls


def test_serve_takes_every_setting_from_flags_env_and_file(
    served: list[tuple[Flask, str, int, int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "pixelmock.toml").write_text("port = 9100\nconnections = 4\nmax_records = 77\n")
    monkeypatch.setenv("PIXELMOCK_CONNECTIONS", "6")
    monkeypatch.setenv("PIXELMOCK_OUTBOUND_HOSTS", "app")
    monkeypatch.setenv("PIXELMOCK_MAX_RECORD", "5")
    argv = ["serve", "--connections", "8", "--provider", "openai", "--provider", "apiframe,runware",
            "--latency", "manual", "--option", "apiframe.polls_to_complete=2",
            "--option", "openai.gpt_image_2_max_edge_inclusive=false", "--date", "2026-11-25"]  # fmt: skip
    assert main(argv) == 0
    assert "warning: PIXELMOCK_MAX_RECORD is not a setting (did you mean PIXELMOCK_MAX_RECORDS?)" in (
        capsys.readouterr().err
    )
    [(app, host, port, connections)] = served
    assert (host, port, connections) == ("127.0.0.1", 9100, 8)
    with app.app_context():
        config = runtime().config
    assert set(app.extensions["pixelmock.server"].provider) == {"openai", "apiframe", "runware"}
    assert config.max_records == 77 and config.latency_profile == "manual"
    assert config.options == {"apiframe.polls_to_complete": 2, "openai.gpt_image_2_max_edge_inclusive": False}
    assert config.today == dt.date(2026, 11, 25) and config.tick_seconds == 1.0
    admin = PixelmockAdmin.for_app(app)
    shown = admin.settings()
    assert (shown["port"], shown["connections"], shown["outbound_hosts"]) == (9100, 8, ["app"])
    assert admin.clock()["date"] == "2026-11-25"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "x"], "Invalid value for '--port': expected an integer, got 'x'"),
        (["serve", "--date", "2026-02-30"], "expected a date YYYY-MM-DD, got '2026-02-30'"),
        (["serve", "--starting-balances", "USD=ten"], "not an amount: 'ten'"),
        (["serve", "--config", "missing.toml"], "'missing.toml' does not exist"),
        (["serve", "--no-such-flag"], "--no-such-flag"),
        (["serve", "--speed", "0"], "speed_factor must be between"),
        (["serve", "--workers", "2"], "2 workers need a shared store"),
        (["serve", "--workers", "0"], "Invalid value for '--workers': expected a number >= 1, got '0'"),
        (["cost", "--prompt", "a", "--date", "soon"], "Invalid value for '--date'"),
        (["cost", "--prompt", "a", "--input-image", "missing.png"], "'missing.png' does not exist"),
        (["cost", "--prompt", "a", "--provider", "midjourney"], "Invalid value for '--provider'"),
        (["verify"], "Missing argument 'PATHS...'"),
        (["verify", "--format", "xml", "x"], "Invalid value for '--format'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    served: list[Any], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("Error:")]
    assert message in error and "Traceback" not in err
    assert served == []


def test_the_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "", "PIXELMOCK_PORT": "eighty", "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "pixelmock.emulators.tools.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "Error: PIXELMOCK_PORT: expected an integer, got 'eighty'"


def test_version_and_help_show_defaults_and_variables(capsys: pytest.CaptureFixture[str]) -> None:
    from pixelmock import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pixelmock {__version__}"
    assert main(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for spec in settings():
        assert spec.flag in text
        assert f"env: {spec.env}" in text
    assert "[default: 8080; env: PIXELMOCK_PORT]" in text


# -- the control plane -----------------------------------------------------------------------------------


def test_get_settings_shows_every_setting_in_force() -> None:
    app = create_app(EmulatorConfig(journal_limit=7, outbound_hosts=frozenset({"b", "a"})))
    body = PixelmockAdmin.for_app(app)._call("GET", "/settings")
    # not served by `pixelmock serve`: no server settings
    assert set(body["settings"]) == {f.name for f in dataclasses.fields(EmulatorConfig)}
    assert body["settings"]["journal_limit"] == 7 and body["settings"]["outbound_hosts"] == ["a", "b"]
    assert body["settings"]["starting_balances"] == {"credits": "10000", "USD": "100"}
    assert set(body["runtime"]) == {s.name for s in settings() if s.runtime}


def test_the_store_url_is_shown_without_its_password() -> None:
    answer = settings_json(EmulatorConfig(store="redis://:s3cret-pw@127.0.0.1:6379/0?prefix=ci"))
    assert answer["settings"]["store"] == "redis://REDACTED@127.0.0.1:6379/0?prefix=ci"
    assert "s3cret-pw" not in str(answer)


def test_put_settings_allows_a_compose_style_webhook_host() -> None:
    app = create_app(EmulatorConfig())
    admin = PixelmockAdmin.for_app(app)
    with app.app_context():
        hooks = runtime().webhooks
    assert refusal("http://app:3000/hook", hooks.allowed_hosts) is not None
    shown = admin.set_settings(
        outbound_hosts="app", outbound_timeout_seconds=2, webhook_retry_schedule=[1, 2]
    )
    assert shown["outbound_hosts"] == ["app"]
    assert refusal("http://app:3000/hook", hooks.allowed_hosts) is None
    assert (hooks.timeout_seconds, hooks.retry_schedule) == (2.0, (1.0, 2.0))
    admin.reset()  # a setting is the configuration: reset keeps it
    assert admin.settings()["outbound_hosts"] == ["app"]


def test_put_settings_changes_what_the_emulator_does() -> None:
    app = create_app(EmulatorConfig())
    admin = PixelmockAdmin.for_app(app)
    admin.set_settings(starting_balances={"USD": Decimal("0.25")}, latency_profile="manual", speed_factor=10)
    assert admin.balance("sk-new-key", "USD") == Decimal("0.25")
    assert admin.latency() == {"profile": "manual", "speed_factor": 10.0, "clock_frozen": True}
    admin.reset()
    assert admin.latency()["profile"] == "manual"
    admin.set_settings(open_accounts=False)
    answer = admin._client.post(
        "/openai/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "a fox"},
        headers={"Authorization": "Bearer sk-unknown"},
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"port": 9000}, "port cannot change at run time: set --port, PIXELMOCK_PORT"),
        ({"journal_limit": 5}, "journal_limit cannot change at run time"),
        ({"journal_limt": 5}, "journal_limt: no such setting"),
        ({"speed_factor": "fast"}, "speed_factor: expected a number, got 'fast'"),
        ({"speed_factor": 0}, "speed_factor must be between"),
        ({"options": {"openai.gpt_image_2_max_edge_inclusive": "maybe"}}, "is not one of True, False"),
        ({"starting_balances": {"USD": -1}}, "not an amount >= 0"),
    ],
)
def test_put_settings_refuses_with_400_and_changes_nothing(body: dict[str, Any], message: str) -> None:
    app = create_app(EmulatorConfig())
    admin = PixelmockAdmin.for_app(app)
    before = admin.settings()
    with pytest.raises(PixelmockAdminError) as caught:
        admin._call("PUT", "/settings", json={"outbound_hosts": ["app"], **body})
    assert caught.value.status == 400 and message in caught.value.message
    assert admin.settings() == before


def test_cost_refuses_a_malformed_pixelmock_today(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIXELMOCK_TODAY", "next tuesday")
    assert main(["cost", "--prompt", "a fox"]) == 2
    assert "Error: PIXELMOCK_TODAY: expected a date YYYY-MM-DD, got 'next tuesday'" in capsys.readouterr().err


def test_a_served_emulator_reports_its_settings_and_takes_changes(tmp_path: Path) -> None:
    """``pixelmock serve`` for real (gunicorn), configured by file and environment, changed over HTTP."""
    port = free_port()
    (tmp_path / "pixelmock.toml").write_text(f"port = {port}\nprovider = 'apiframe'\njournal_limit = 12\n")
    env = {**os.environ, "PIXELMOCK_OUTBOUND_HOSTS": "app", "PIXELMOCK_JOURNAL_LIMIT": "13"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pixelmock.emulators.tools.cli", "serve", "--connections", "4"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        admin = PixelmockAdmin.for_url(f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 20
        shown: dict[str, Any] | None = None
        while shown is None and time.monotonic() < deadline:
            try:
                shown = admin.settings()
            except httpx.TransportError:
                time.sleep(0.1)
        assert shown is not None
        assert (shown["port"], shown["provider"], shown["connections"]) == (port, ["apiframe"], 4)
        assert (shown["journal_limit"], shown["outbound_hosts"], shown["tick_seconds"]) == (13, ["app"], 1.0)
        changed = admin.set_settings(outbound_hosts=["app", "db"], latency_profile="manual")
        assert changed["outbound_hosts"] == ["app", "db"] and admin.latency()["clock_frozen"] is True
        with pytest.raises(PixelmockAdminError, match="connections cannot change at run time"):
            admin.set_settings(connections=8)
        admin.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert process.returncode == 0


def test_a_partial_balances_map_keeps_the_other_currencies_defaults(tmp_path: Path) -> None:
    """A map setting adds to its default map from every source (file, variable, flag): giving USD keeps
    Apiframe's default credits, which the README's example once zeroed (every Apiframe request then
    answered 402). A currency given 0 is emptied."""
    (tmp_path / "pixelmock.toml").write_text('[starting_balances]\nUSD = "5"\n')
    assert _load(tmp_path)[1].starting_balances == {"credits": Decimal(10_000), "USD": Decimal(5)}
    env = {"PIXELMOCK_STARTING_BALANCES": "credits=0"}
    assert _load(tmp_path, env=env)[1].starting_balances == {"credits": Decimal(0), "USD": Decimal(100)}


def test_the_readme_toml_example_loads_and_keeps_apiframe_credits(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    blocks = readme.split("```toml\n")[1:]
    example = next(b for b in blocks if b.startswith("# pixelmock.toml")).split("```")[0]
    (tmp_path / "pixelmock.toml").write_text(example)
    _, config = _load(tmp_path)
    assert config.starting_balances["credits"] == Decimal(10_000)
    app = create_app(config)
    admin = PixelmockAdmin.for_app(app)
    assert admin.balance("any-key", "credits") == Decimal(10_000)


def test_settings_with_a_path_are_json(tmp_path: Path) -> None:
    """``pixelmock serve --port-file F`` (a ``Path`` setting) once made ``GET /__admin/settings`` a 500."""
    assert to_json(tmp_path / "port") == str(tmp_path / "port")
    server, config = _load(tmp_path, flags={"port_file": tmp_path / "port"})
    assert settings_json(config, server)["settings"]["port_file"] == str(tmp_path / "port")
