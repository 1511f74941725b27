"""``pixelmock verify``: the shipped cassettes agree with the contracts, and an edited one is caught with a
message naming provider, interaction, JSON path, expectation and finding.

The edits contradict facts the contracts take from the providers' documents: Runware's ``taskUUID`` is a
UUID (runware.ai/docs/models/openai-gpt-image-1-5), Apiframe's job statuses are
QUEUED|PROCESSING|COMPLETED|FAILED|CANCELLED (its v2
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
from paths import ROOT as REPO
from PIL import Image

from pixelmock.contracts.verify import verify_paths
from pixelmock.emulators.tools.cli import main

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


# -- formats and exit statuses (for CI) ------------------------------------------------------------------


def _drifted(tmp_path: Path) -> Path:
    """A folder with the Apiframe generate-and-poll cassette, its poll answer's status edited to DONE."""
    folder = tmp_path / "cassettes"
    folder.mkdir()
    _edit(
        DOCUMENTED / "apiframe" / "gpt_image_1_5_generate_and_poll.yaml",
        folder / "poll.yaml",
        1,
        lambda b: b.update(status="DONE"),
    )
    return folder


def test_json_report_lists_the_drift_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _drifted(tmp_path)
    assert main(["verify", "--format", "json", str(folder)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["cassettes"], report["exit_status"], report["ok"], report["unreadable"]) == (
        1,
        1,
        False,
        [],
    )
    [drift] = report["disagreements"]
    assert (drift["interaction"], drift["provider"], drift["operation"]) == (1, "apiframe", "getJob")
    assert (drift["where"], drift["path"], drift["found"]) == ("response", "$.status", '"DONE"')


def test_junit_report_has_one_test_case_per_interaction(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    folder = _drifted(tmp_path)
    out = tmp_path / "verify.xml"
    assert main(["verify", "--format", "junit", "--output", str(out), str(folder)]) == 1
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    interactions = len(yaml.safe_load((folder / "poll.yaml").read_text())["interactions"])
    cases = suite.findall("testcase")
    assert len(cases) == interactions == int(suite.get("tests", "0"))
    assert (suite.get("failures"), suite.get("errors")) == ("1", "0")
    [failed] = [c for c in cases if c.find("failure") is not None]
    assert failed.get("classname") == str(folder / "poll.yaml") and failed.get("name", "").startswith(
        "#1 GET "
    )
    failure = failed.find("failure")
    assert failure is not None and "$.status" in (failure.text or "")


def test_the_shipped_cassettes_pass_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import xml.etree.ElementTree as ET

    assert main(["verify", "--format", "json", str(DOCUMENTED / "openai")]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["verify", "--format", "junit", str(DOCUMENTED / "openai")]) == 0
    suite = ET.fromstring(capsys.readouterr().out.split("\n", 1)[1]).find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and len(suite.findall("testcase")) >= 7


@pytest.mark.parametrize("form", ["text", "json", "junit"])
def test_unreadable_input_or_nothing_checked_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["verify", "--format", form, str(empty)]) == 2  # nothing checked
    assert main(["verify", "--format", form, str(tmp_path / "missing.yaml")]) == 2
    (tmp_path / "broken.yaml").write_text("interactions: [unclosed\n")
    drifted = _drifted(tmp_path)
    assert main(["verify", "--format", form, str(tmp_path / "broken.yaml"), str(drifted)]) == 2
    out = capsys.readouterr().out
    if form == "json":
        last = json.loads(out[out.rindex('{\n  "cassettes"') :])
        assert [u["cassette"] for u in last["unreadable"]] == [str(tmp_path / "broken.yaml")]
        assert len(last["disagreements"]) == 1  # the drift is still reported
    if form == "text":
        assert "0 cassette(s), 0 interaction(s): nothing checked" in out


def test_the_script_exits_with_the_verdict(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = _drifted(tmp_path)
    for args, status in (
        ([str(folder)], 1),
        ([str(tmp_path / "nope")], 2),
        ([str(DOCUMENTED / "gmicloud")], 0),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "pixelmock.emulators.tools.cli", "verify", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == status, done.stdout + done.stderr
