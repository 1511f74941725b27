"""Bounded state and deferred work (issue 7): the store's ``max_records``, the ledger's ``ledger_limit``,
the journal's deferred scrubbing and the tokenizer loaded on the first count.

Oracles: the records, requests and keys the tests themselves put in; an evicted job or file must answer
exactly as one that never existed (the provider's own not-found).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from paths import ROOT
from runware_tasks import image_task

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.journal import LOG, JournalEntry
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.store import MemoryStore

APIFRAME = "/apiframe"
RUNWARE = "/runware/v1"
OPENAI = "/openai/v1"
SECRET = "rw-limits-secret-5d1e0c2b"


def _rt(app: Flask) -> Runtime:
    rt = app.extensions["pixelmock"]
    assert isinstance(rt, Runtime)
    return rt


# ------------------------------------------------------------------------------------------ the store


def test_memory_store_drops_the_oldest_record_of_a_full_namespace() -> None:
    store = MemoryStore(max_records=3)
    for i in range(5):
        store.put("a", f"k{i}", i)
    store.put("b", "only", "b")
    assert store.values("a") == [2, 3, 4]
    assert store.get("a", "k0") is None and store.get("a", "k1") is None
    assert store.values("b") == ["b"]  # namespaces are bounded separately


def test_replacing_or_updating_a_record_keeps_its_place_and_evicts_nothing() -> None:
    store = MemoryStore(max_records=2)
    store.put("a", "x", 1)
    store.put("a", "y", 2)
    store.put("a", "x", 10)
    assert store.update("a", "y", lambda old: old + 1) == 3
    assert store.values("a") == [10, 3]
    assert store.update("a", "z", lambda old: "new" if old is None else old) == "new"
    assert store.values("a") == [3, "new"]  # a new key through update evicts the oldest, x


def test_memory_store_bound_is_optional_and_positive() -> None:
    store = MemoryStore()
    for i in range(50):
        store.put("a", str(i), i)
    assert len(store.values("a")) == 50
    with pytest.raises(ValueError):
        MemoryStore(max_records=0)


def test_the_runtime_store_uses_the_configured_bound() -> None:
    assert EmulatorConfig().max_records == 10_000
    store = Runtime(EmulatorConfig(max_records=7)).store
    assert isinstance(store, MemoryStore) and store.max_records == 7


def _apiframe_job(client: Any, key: str) -> str:
    body = {"prompt": "a lighthouse at dusk", "model": "gpt-image-1.5"}
    response = client.post(f"{APIFRAME}/v2/images/generate", json=body, headers={"X-API-Key": key})
    assert response.status_code == 202, response.get_data(as_text=True)
    return str(response.get_json()["jobId"])


def test_an_evicted_apiframe_job_answers_apiframes_own_not_found() -> None:
    client = create_app(EmulatorConfig(max_records=2)).test_client()
    key = {"X-API-Key": "afk_limits"}
    first, second, third = (_apiframe_job(client, "afk_limits") for _ in range(3))
    evicted = client.get(f"{APIFRAME}/v2/jobs/{first}", headers=key)
    unknown = client.get(f"{APIFRAME}/v2/jobs/{uuid.uuid4()}", headers=key)
    assert evicted.status_code == unknown.status_code == 404
    assert evicted.get_json().keys() == unknown.get_json().keys()
    assert evicted.get_json()["error"] == unknown.get_json()["error"]
    for job in (second, third):
        assert client.get(f"{APIFRAME}/v2/jobs/{job}", headers=key).status_code == 200


def _runware_url(client: Any, prompt: str) -> str:
    task = image_task(positivePrompt=prompt, outputType="URL")
    response = client.post(RUNWARE, json=[task], headers={"Authorization": "Bearer rw_limits"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["data"][0]["imageURL"])


def test_an_evicted_image_url_answers_like_an_unknown_file() -> None:
    client = create_app(EmulatorConfig(max_records=1)).test_client()
    old, new = _runware_url(client, "first"), _runware_url(client, "second")
    path = old.split("://", 1)[1].partition("/")[2]
    evicted = client.get(f"/{path}")
    unknown = client.get(f"/{path.rsplit('/', 1)[0]}/nothing.jpg")
    assert evicted.status_code == unknown.status_code == 404
    assert evicted.get_data() == unknown.get_data()
    new_path = new.split("://", 1)[1].partition("/")[2]
    assert client.get(f"/{new_path}").status_code == 200


# ----------------------------------------------------------------------------------------- the ledger


def test_the_ledger_keeps_the_last_ledger_limit_lines_and_every_balance() -> None:
    assert EmulatorConfig().ledger_limit == 10_000
    accounts = Runtime(EmulatorConfig(ledger_limit=2)).accounts
    account = accounts.for_key("sk-ledger-limits")
    start = accounts.balance(account, "USD")
    for memo in ("one", "two", "three"):
        assert accounts.debit(account, "USD", Decimal("0.5"), memo)
    assert [line.memo for line in accounts.lines()] == ["two", "three"]
    assert accounts.balance(account, "USD") == start - Decimal("1.5")


# ---------------------------------------------------------------------------------------- the journal


def test_journal_scrubs_when_first_read_and_never_returns_a_credential() -> None:
    app = create_app(EmulatorConfig())
    client = app.test_client()
    task = {"taskType": "authentication", "apiKey": SECRET}
    response = client.post(
        f"{RUNWARE}?token={SECRET}", json=[task], headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 200
    journal = _rt(app).journal
    [(_, pending)] = journal.store.read_log(LOG)
    assert not isinstance(pending, JournalEntry)  # recorded, not yet scrubbed
    assert SECRET not in repr(pending) and SECRET not in repr(journal.store.read_log(LOG))

    [entry] = journal.entries()
    text = json.dumps(entry.to_json())
    assert SECRET not in text
    assert entry.request["headers"]["Authorization"] == "Bearer REDACTED"
    assert entry.request["query"]["token"] == "REDACTED"
    assert entry.request["body"] == [{"taskType": "authentication", "apiKey": "REDACTED"}]
    assert journal.entries()[0] is entry  # scrubbed once; the raw capture is gone
    assert getattr(pending, "_build") is None  # noqa: B009 - private slot, read on purpose

    served = client.get("/__admin/journal").get_json()["entries"]
    assert SECRET not in json.dumps(served)
    assert served[0]["request"] == json.loads(json.dumps(entry.request))


def test_journal_scrubs_large_answers_at_once() -> None:
    app = create_app(EmulatorConfig())
    body = {"model": "gpt-image-1.5", "prompt": "a red fox", "size": "1024x1024", "quality": "low"}
    response = app.test_client().post(
        f"{OPENAI}/images/generations", json=body, headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 200
    [(_, entry)] = _rt(app).journal.store.read_log(LOG)
    assert isinstance(entry, JournalEntry)  # the base64 image is not kept whole until a read
    assert entry.request["headers"]["Authorization"] == "Bearer REDACTED"
    assert entry.response["body"]["data"][0]["b64_json"].endswith("chars]")


# -------------------------------------------------------------------------------------- the tokenizer


def test_the_tokenizer_is_loaded_on_the_first_count_not_at_start() -> None:
    # A fresh interpreter: the compiled tokenizer is loaded by the first count, and bpe-openai's Python
    # wrapper (which builds three vocabularies as dictionaries when imported) is never imported.
    script = textwrap.dedent(
        """
        from pixelmock.emulators import EmulatorConfig, create_app
        from pixelmock.contracts import tokens
        import sys
        create_app(EmulatorConfig())
        before = tokens._tokenizer.cache_info().currsize
        count = tokens.prompt_tokens("a red fox in the snow")
        print(before, tokens._tokenizer.cache_info().currsize, "bpe_openai" in sys.modules, count)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out[:3] == ["0", "1", "False"]
    assert int(out[3]) > 0


# -------------------------------------------------------------------------------------------- minted ids


def test_minted_ids_are_version_4_uuids_and_unique() -> None:
    ids = [new_uuid() for _ in range(10_000)]
    assert {(u.version, u.variant) for u in ids} == {(4, uuid.RFC_4122)}
    assert len(set(ids)) == len(ids)


def test_a_forked_worker_does_not_repeat_its_parents_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a gunicorn worker would mint next
        os.write(write, new_uuid().bytes)
        os._exit(0)
    os.close(write)
    child = os.read(read, 16)
    os.close(read)
    os.waitpid(pid, 0)
    assert new_uuid().bytes != child
