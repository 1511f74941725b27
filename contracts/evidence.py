"""The evidence ladder: how far each contract fact can be trusted.

Every fact in ``contracts/`` (an ``x-source`` block in an OpenAPI document, or a ``source`` with its
``evidence`` in a data file) names its source and one rung, highest first:

- ``documented``: the provider's own documentation or machine-readable API document;
- ``sdk``: the provider's official SDK code and types;
- ``recorded``: a recording of a real response (anyone's: a cassette, a transcript);
- ``reported``: a third party's report (an issue, a blog, another client's code);
- ``inferred``: pixelmock's reasoning from the sources above;
- ``choice``: pixelmock chose where the sources are silent or conflict.

The newest source of the highest rung wins. When two sources of the top rungs (``documented``, ``sdk``)
disagree, for example a copy of a docs page and a newer official SDK schema, the newer one is the default
and the older one stays a named option; where the provider evidently accepts both, the emulator accepts
both (the default then says so). Each such option names its sources with their dates, so the reader can
see which is newer (``CONFLICT_RULE`` is the sentence FIDELITY.md prints).

Where a behaviour rests on a rung below ``recorded``, it is a named option in the provider's contract
(``x-options``: its default, the alternatives and the evidence for each), the journal says when an
answer depended on it, and ``FIDELITY.md`` lists it.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CONFLICT_RULE", "RUNGS", "TRUSTED", "Rung"]

Rung = Literal["documented", "sdk", "recorded", "reported", "inferred", "choice"]

#: The rungs, highest first.
RUNGS: tuple[Rung, ...] = ("documented", "sdk", "recorded", "reported", "inferred", "choice")

#: Rungs at which a behaviour is the provider's own answer; below them it is a named option.
TRUSTED: frozenset[Rung] = frozenset({"documented", "sdk", "recorded"})

#: How a conflict between two first-party sources is settled (printed in FIDELITY.md).
CONFLICT_RULE = (
    "When two first-party sources (documented, sdk) disagree, the newer one is the default and the older "
    "one a named option; where the provider evidently accepts both, both are accepted."
)
