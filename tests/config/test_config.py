"""Emulator configuration defaults that come from the environment."""

from __future__ import annotations

import datetime as dt

import pytest

from pixelmock.emulators import EmulatorConfig, create_app


def test_pixelmock_today_sets_the_default_clock_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELMOCK_TODAY", "2026-12-02")
    config = EmulatorConfig()
    assert config.today == dt.date(2026, 12, 2)
    app = create_app(config, providers=["openai"])
    assert app.test_client().get("/__admin/clock").get_json()["date"] == "2026-12-02"
    # gpt-image-1.5 shut down at OpenAI on 2026-12-01 (models.yaml): the emulator says so on that clock.
    answer = app.test_client().post(
        "/openai/v1/images/generations",
        json={"model": "gpt-image-1.5", "prompt": "a fox"},
        headers={"Authorization": "Bearer sk-test"},
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["message"] == (
        "The model 'gpt-image-1.5' does not exist."
    )


def test_without_pixelmock_today_the_clock_runs_on_the_real_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIXELMOCK_TODAY", raising=False)
    assert EmulatorConfig().today is None


def test_an_explicit_date_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELMOCK_TODAY", "2026-12-02")
    assert EmulatorConfig(today=dt.date(2026, 6, 1)).today == dt.date(2026, 6, 1)


def test_a_malformed_date_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELMOCK_TODAY", "next tuesday")
    with pytest.raises(ValueError):
        EmulatorConfig()
