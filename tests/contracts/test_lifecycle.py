"""Model lifecycle per provider (``pixelmock.contracts.lifecycle``), with OpenAI's deprecations page as the
oracle (gpt-image-1.5 and its snapshot shut down on 2026-12-01; gpt-image-2 has no date), and the README's
table kept in step with the data."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from paths import README
from runware_tasks import image_task

from pixelmock.contracts.canonical import MODELS
from pixelmock.contracts.generated import section
from pixelmock.contracts.lifecycle import lifecycle, lifecycle_table
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin

SHUTDOWN = dt.date(2026, 12, 1)  # developers.openai.com/api/docs/deprecations (notice 2026-06-02)


@pytest.mark.parametrize("provider", ["openai", "cloudflare"])
def test_gpt_image_15_is_shut_down_from_openais_date_at_openai_and_its_proxy(provider: str) -> None:
    found = lifecycle(provider, "gpt-image-1.5")
    assert found is not None and found.shutdown == SHUTDOWN
    assert not found.shut_down_on(SHUTDOWN - dt.timedelta(days=1))
    assert found.shut_down_on(SHUTDOWN) and found.shut_down_on(dt.date(2030, 1, 1))


def test_resellers_follow_their_upstreams_date_with_its_evidence() -> None:
    # Apiframe and Runware pass requests to OpenAI (inferred); GMI serves gpt-image-1.5 through Azure,
    # whose deployment retires 2026-12-16 (MicrosoftDocs/azure-ai-docs PR #833, reported)
    expected = {
        "apiframe": (SHUTDOWN, "inferred"),
        "runware": (SHUTDOWN, "inferred"),
        "gmicloud": (dt.date(2026, 12, 16), "reported"),
    }
    for provider, (day, evidence) in expected.items():
        found = lifecycle(provider, "gpt-image-1.5")
        assert found is not None and (found.shutdown, found.evidence) == (day, evidence)
    # Azure retires its gpt-image-2 deployments on its own calendar (tests/providers/azure checks it).
    others = [p for p in PROVIDERS if p != "azure"]
    assert all(lifecycle(p, "gpt-image-2").shutdown is None for p in others)  # type: ignore[union-attr]


def test_the_readme_table_is_generated_from_the_data() -> None:
    text = README.read_text(encoding="utf-8")
    assert section(text, "lifecycle") == lifecycle_table()
    assert lifecycle_table().count("\n") == 1 + len(MODELS) * len(PROVIDERS)


def _after_shutdown(options: dict[str, object]) -> tuple[httpx.Client, PixelmockAdmin]:
    app = create_app(EmulatorConfig(today=dt.date(2026, 12, 16), options=options))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
    return client, PixelmockAdmin.for_app(app)


def test_resellers_refuse_the_model_after_their_upstreams_shutdown_and_journal_the_choice() -> None:
    http, admin = _after_shutdown({})
    body = {"model": "gpt-image-1.5", "prompt": "a fox", "gptImageParams": {"quality": "low"}}
    job_id = http.post("/apiframe/v2/images/generate", json=body, headers={"X-API-Key": "k"}).json()["jobId"]
    job = http.get(f"/apiframe/v2/jobs/{job_id}", headers={"X-API-Key": "k"}).json()
    assert job["status"] == "FAILED"
    assert job["error"] == "Provider returned an error: The model 'gpt-image-1.5' does not exist."
    assert admin.balance("k", "credits") == 10_000  # refunded
    task = {**image_task(), "model": "openai:4@1"}
    errors = http.post("/runware/v1", json=[task], headers={"Authorization": "Bearer k"}).json()["errors"]
    assert errors[0]["code"] == "invalidModel"
    gmi = {"model": "gpt-image-1.5", "payload": {"prompt": "a fox"}}
    answer = http.post(
        "/gmicloud/api/v1/ie/requestqueue/apikey/requests", json=gmi, headers={"Authorization": "Bearer k"}
    )
    assert answer.status_code == 404
    for provider in ("apiframe", "runware", "gmicloud"):
        choices = [n["choice"] for e in admin.journal(provider=provider) for n in e["notes"] if "choice" in n]
        assert {
            "option": f"{provider}.after_upstream_shutdown",
            "value": "refuse",
            "evidence": "inferred",
        } in choices


def test_the_serve_option_keeps_a_reseller_serving_the_model() -> None:
    http, _ = _after_shutdown({"runware.after_upstream_shutdown": "serve"})
    task = {**image_task(), "model": "openai:4@1"}
    answer = http.post("/runware/v1", json=[task], headers={"Authorization": "Bearer k"})
    assert answer.status_code == 200 and "data" in answer.json()
