"""``pixelmock verify``: the shipped cassettes agree with the contracts, and an edited one is caught with a
message naming provider, interaction, JSON path, expectation and finding.

The edits contradict facts the contracts take from the providers' documents: Runware's ``taskUUID`` is a
UUID (seeds/003), Apiframe's job statuses are QUEUED|PROCESSING|COMPLETED|FAILED|CANCELLED (its v2
spec), OpenAI's images answer carries ``usage`` (openai-python ``ImagesResponse``).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image

from pixelmock.contracts.verify import verify_paths
from pixelmock.emulators.cli import main

REPO = Path(__file__).resolve().parent.parent
DOCUMENTED = REPO / "cassettes" / "documented"


def _edit(src: Path, dst: Path, index: int, change: Any) -> Path:
    data = yaml.safe_load(src.read_text())
    response = data["interactions"][index]["response"]
    body = json.loads(response["body"]["string"])
    change(body)
    response["body"]["string"] = json.dumps(body)
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def test_the_shipped_cassettes_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(REPO / "cassettes")]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.endswith("acknowledged") and ": ok" in summary


@pytest.mark.parametrize(
    ("cassette", "index", "change", "expected_line"),
    [
        (
            "runware/openai-4-1-retro-futurist-metro-poster.yaml",
            0,
            lambda b: b["data"][0].update(taskUUID="2a99f619"),
            '#0 [runware runTasks] response $.data[0].taskUUID: expected format "uuid", found "2a99f619"',
        ),
        (
            "apiframe/gpt_image_1_5_generate_and_poll.yaml",
            1,
            lambda b: b.update(status="DONE"),
            '#1 [apiframe getJob] response $.status: expected one of ["QUEUED", "PROCESSING", "COMPLETED", '
            '"FAILED", "CANCELLED"], found "DONE"',
        ),
        (
            "openai/generations_response_example.yaml",
            0,
            lambda b: b.pop("usage"),
            "#0 [openai createImage] response $.usage: expected a value (required), found nothing",
        ),
    ],
)
def test_an_edited_cassette_fails_with_a_clear_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cassette: str,
    index: int,
    change: Any,
    expected_line: str,
) -> None:
    edited = _edit(DOCUMENTED / cassette, tmp_path / Path(cassette).name, index, change)
    assert main(["verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "expected" in line]
    assert line == f"{edited} {expected_line}"
    assert out.splitlines()[-1].endswith("1 disagreement(s)")


def test_undeclared_statuses_unknown_uris_and_stale_acknowledgements_fail(tmp_path: Path) -> None:
    source = yaml.safe_load((DOCUMENTED / "runware" / "ping.yaml").read_text())
    interaction = source["interactions"][0]
    teapot = {
        **interaction,
        "response": {**interaction["response"], "status": {"code": 418, "message": "I'm a teapot"}},
    }
    elsewhere = {**interaction, "request": {**interaction["request"], "uri": "https://api.example.com/v1"}}
    data = {
        "interactions": [teapot, elsewhere],
        "x-known-drift": [{"interaction": 0, "path": "$.nothing", "found": 1}],
    }
    (tmp_path / "odd.yaml").write_text(yaml.safe_dump(data))
    report = verify_paths([tmp_path])
    assert [(d.interaction, d.where) for d in report.disagreements] == [
        (0, "status"),
        (1, "uri"),
        (0, "x-known-drift"),
    ]


def test_a_request_the_provider_accepted_but_the_contract_refuses_is_drift(tmp_path: Path) -> None:
    shutil.copy(DOCUMENTED / "cloudflare" / "gpt-image-2-custom-size.yaml", tmp_path / "c.yaml")
    data = yaml.safe_load((tmp_path / "c.yaml").read_text())
    body = json.loads(data["interactions"][0]["request"]["body"])
    body["input"]["size"] = "2048x2048"  # Cloudflare's schema: three fixed sizes and auto
    data["interactions"][0]["request"]["body"] = json.dumps(body)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    [drift] = verify_paths([tmp_path]).disagreements
    assert (drift.provider, drift.where, drift.path, drift.found) == (
        "cloudflare",
        "request",
        "$.input.size",
        '"2048x2048"',
    )


def test_acknowledged_drift_is_listed_not_failed() -> None:
    report = verify_paths([DOCUMENTED / "apiframe" / "job_states_documented.yaml"])
    assert report.ok
    [drift] = report.acknowledged
    assert (drift.interaction, drift.path, drift.found) == (2, "$.webhookStatus", '"sent"')


def _edit_cassette(tmp_path: Path, fields: dict[str, str]) -> Path:
    """A successful OpenAI images.edit interaction with ``fields`` and one PNG, its multipart body built
    by httpx as a client sends it, its answer the recorded gpt-image-1.5 generation's (one schema)."""
    recorded = yaml.safe_load(
        (REPO / "cassettes" / "recorded" / "openai" / "generate-gpt-image-1.5.yaml").read_text()
    )
    answer = recorded["interactions"][0]["response"]
    image = {"image": ("in.png", _png(), "image/png")}
    request = httpx.Request("POST", "https://api.openai.com/v1/images/edits", data=fields, files=image)
    interaction = {
        "request": {
            "method": "POST",
            "uri": str(request.url),
            "body": request.read(),
            "headers": {"Content-Type": [request.headers["Content-Type"]]},
        },
        "response": answer,
    }
    path = tmp_path / "edit.yaml"
    path.write_text(yaml.safe_dump({"interactions": [interaction], "version": 1}))
    return path


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(out, "PNG")
    return out.getvalue()


def test_a_multipart_edit_request_is_checked_with_its_fields_typed(tmp_path: Path) -> None:
    fields = {"model": "gpt-image-1.5", "prompt": "Make the sky purple", "n": "2", "quality": "low"}
    assert verify_paths([_edit_cassette(tmp_path, fields)]).disagreements == []  # n="2" reads as 2
    [drift] = verify_paths([_edit_cassette(tmp_path, {**fields, "quality": "ultra"})]).disagreements
    assert (drift.provider, drift.where, drift.path, drift.found) == (
        "openai",
        "request",
        "$.quality",
        '"ultra"',
    )
