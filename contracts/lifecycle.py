"""When each model stops being sold at each provider, read from where each fact lives.

Which rule applies to a provider is its registry entry's ``lifecycle`` (``contracts/data/providers.yaml``):

- ``owner`` (OpenAI): ``models.yaml`` ``lifecycle.openai_shutdown`` (OpenAI's deprecations page).
- ``contract`` (Cloudflare): the model's input schema in the provider's contract names, in
  ``x-upstream-shutdown``, the upstream date it follows (it proxies OpenAI's API), with that rule's own
  source (``Dialect.upstream_shutdown``).
- ``reseller`` (Apiframe, Runware, GMI Cloud): ``models.yaml`` ``lifecycle.resellers.<provider>`` (none
  publishes a date: each one follows its upstream's, inferred or reported; its emulator refuses the model
  from then unless the provider's option ``<provider>.after_upstream_shutdown`` is ``serve``).

Used by ``pixelmock cost`` (a quote on a day the model is shut down says so), the demo, and the README's
lifecycle table (``lifecycle_table()``, checked against the README by the tests).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from pixelmock.contracts.canonical import MODELS
from pixelmock.contracts.data import model_facts
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.providers import PROVIDERS
from pixelmock.contracts.providers import provider as registered

__all__ = ["Lifecycle", "lifecycle", "lifecycle_table"]


@dataclass(frozen=True)
class Lifecycle:
    """One model at one provider: ``released`` (the model's release date), ``shutdown`` (the first day
    it is no longer served there; ``None``: no date known), and the ``source`` and ``evidence`` rung of
    the shutdown fact."""

    provider: str
    model: str
    released: dt.date
    shutdown: dt.date | None
    source: str
    evidence: str

    def shut_down_on(self, day: dt.date) -> bool:
        """Whether the model is shut down at this provider on ``day``."""
        return self.shutdown is not None and day >= self.shutdown


def _date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(str(value))


@cache
def lifecycle(provider: str, model: str) -> Lifecycle | None:
    """The lifecycle of canonical ``model`` at ``provider`` (one of ``PROVIDERS``), or ``None`` when the
    provider does not sell it (read from the contracts and ``models.yaml`` once per pair: they do not
    change in a process). Raises ``UnknownProvider`` and ``KeyError`` (unknown model)."""
    dialect = get_dialect(provider)
    try:
        dialect.capabilities(model)
    except UnsupportedValue:
        return None
    facts = model_facts(model)["lifecycle"]
    released = dt.date.fromisoformat(str(model_facts(model)["released"]))
    rule_kind = registered(provider).lifecycle
    if rule_kind == "owner":
        shutdown, source, evidence = facts["openai_shutdown"], facts["source"], facts["evidence"]
    elif rule_kind == "contract":
        rule = dialect.upstream_shutdown(model)
        if rule is None:
            shutdown, source, evidence = (
                None,
                f"no x-upstream-shutdown in contracts/openapi/{registered(provider).document}.yaml",
                "inferred",
            )
        else:
            shutdown = facts[rule["lifecycle"]]
            source, evidence = rule["x-source"]["ref"], rule["x-source"]["evidence"]
    else:
        reseller = facts["resellers"][provider]
        shutdown = facts[reseller["follows"]] if "follows" in reseller else reseller["shutdown"]
        source, evidence = reseller["source"], reseller["evidence"]
    return Lifecycle(provider, model, released, _date(shutdown), str(source), str(evidence))


def lifecycle_table() -> str:
    """A Markdown table of every model at every provider: release, shutdown date (or "none published")
    and the evidence rung of that fact."""
    lines = [
        "| model | provider | released by OpenAI | shut down from | evidence |",
        "|---|---|---|---|---|",
    ]
    for model in MODELS:
        for provider in PROVIDERS:
            found = lifecycle(provider, model)
            if found is None:
                lines.append(f"| {model} | {provider} | not sold | - | - |")
                continue
            shutdown = found.shutdown.isoformat() if found.shutdown else "none published"
            lines.append(f"| {model} | {provider} | {found.released} | {shutdown} | {found.evidence} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m pixelmock.contracts.lifecycle [--write README.md]: the README's table
    import sys

    from pixelmock.contracts.generated import main

    sys.exit(main("lifecycle", lifecycle_table))
