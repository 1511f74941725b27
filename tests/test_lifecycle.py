"""Model lifecycle per provider (``pixelmock.contracts.lifecycle``), with OpenAI's deprecations page as the
oracle (gpt-image-1.5 and its snapshot shut down on 2026-12-01; gpt-image-2 has no date), and the README's
table kept in step with the data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pixelmock.contracts.canonical import MODELS
from pixelmock.contracts.lifecycle import lifecycle, lifecycle_table
from pixelmock.contracts.openapi import PROVIDERS

README = Path(__file__).resolve().parent.parent / "README.md"
SHUTDOWN = dt.date(2026, 12, 1)  # developers.openai.com/api/docs/deprecations (notice 2026-06-02)


@pytest.mark.parametrize("provider", ["openai", "cloudflare"])
def test_gpt_image_15_is_shut_down_from_openais_date_at_openai_and_its_proxy(provider: str) -> None:
    found = lifecycle(provider, "gpt-image-1.5")
    assert found is not None and found.shutdown == SHUTDOWN
    assert not found.shut_down_on(SHUTDOWN - dt.timedelta(days=1))
    assert found.shut_down_on(SHUTDOWN) and found.shut_down_on(dt.date(2030, 1, 1))


def test_resellers_without_a_published_date_say_it_is_inferred() -> None:
    for provider in ("apiframe", "runware", "gmicloud"):
        found = lifecycle(provider, "gpt-image-1.5")
        assert found is not None and found.shutdown is None and found.evidence == "inferred"
    assert all(lifecycle(p, "gpt-image-2").shutdown is None for p in PROVIDERS)  # type: ignore[union-attr]


def test_the_readme_table_is_generated_from_the_data() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- lifecycle table: generated -->\n") + len("<!-- lifecycle table: generated -->\n")
    end = text.index("\n<!-- end of lifecycle table -->")
    assert text[start:end] == lifecycle_table()
    assert lifecycle_table().count("\n") == 1 + len(MODELS) * len(PROVIDERS)
