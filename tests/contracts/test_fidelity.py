"""The evidence ladder as data: every contract fact has a source and a rung, every named option its
alternatives, FIDELITY.md is generated from them, and the journal says when an answer rested on a choice."""

from __future__ import annotations

import pytest
from flask import Flask
from paths import ROOT

from pixelmock.contracts.evidence import RUNGS, TRUSTED
from pixelmock.contracts.fidelity import facts, fidelity_markdown
from pixelmock.contracts.options import options
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin

RUN = "/cloudflare/client/v4/accounts/acct/ai/run"
AUTH = {"Authorization": "Bearer test-token"}
BODY = {"model": "openai/gpt-image-1.5", "input": {"prompt": "a red fox"}}


def test_every_fact_names_its_source_and_a_rung_of_the_ladder() -> None:
    found = facts()
    assert len(found) > 300
    lacking = [f.where for f in found if f.evidence not in RUNGS or not f.source]
    assert lacking == []


def test_every_option_has_alternatives_a_default_among_them_and_a_sourced_rung() -> None:
    assert {"openai.gpt_image_2_transparent_preview", "cloudflare.gpt_image_15_schema"} <= set(options())
    for option in options().values():
        assert option.name.startswith(f"{option.provider}.")
        assert len(option.alternatives) >= 2 and option.default in option.alternatives
        assert option.evidence in RUNGS and option.source


def test_fidelity_md_is_generated_from_the_contracts() -> None:
    assert (ROOT / "FIDELITY.md").read_text(encoding="utf-8") == fidelity_markdown()


def _cloudflare_15_choices(app: Flask, body: dict[str, object] = BODY) -> list[dict[str, object]]:
    answer = app.test_client().post(RUN, json=body, headers=AUTH)
    assert answer.status_code == 200
    [entry] = PixelmockAdmin.for_app(app).journal(provider="cloudflare")
    return [note["choice"] for note in entry["notes"] if "choice" in note]


def test_the_journal_notes_an_answer_that_rested_on_a_choice() -> None:
    # What OpenAI renders for the published size 1792x1024 is inferred: the answer says so.
    option = options()["cloudflare.gpt_image_15_published_size"]
    assert option.evidence not in TRUSTED
    body = {"model": "openai/gpt-image-1.5", "input": {"prompt": "a red fox", "size": "1792x1024"}}
    choices = _cloudflare_15_choices(create_app(EmulatorConfig()), body)
    assert choices == [{"option": option.name, "value": option.default, "evidence": option.evidence}]


def test_the_journal_is_silent_on_a_trusted_default() -> None:
    # The published gpt-image-1.5 schema is the documented one (the catalog page).
    assert options()["cloudflare.gpt_image_15_schema"].evidence in TRUSTED
    assert _cloudflare_15_choices(create_app(EmulatorConfig())) == []


@pytest.mark.parametrize("value", ["effective", "published"])
def test_the_journal_notes_a_value_the_user_configured(value: str) -> None:
    config = EmulatorConfig(options={"cloudflare.gpt_image_15_schema": value})
    choices = _cloudflare_15_choices(create_app(config))
    assert choices == [{"option": "cloudflare.gpt_image_15_schema", "value": value, "evidence": "configured"}]


def test_an_option_set_to_a_value_outside_its_alternatives_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match=r"openai\.auto_resolution: .smallest. is not one of"):
        create_app(EmulatorConfig(options={"openai.auto_resolution": "smallest"}))
    create_app(
        EmulatorConfig(options={"openai.auto_resolution": "upper_bound", "apiframe.polls_to_complete": 3})
    )
