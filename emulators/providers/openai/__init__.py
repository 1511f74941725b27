"""OpenAI emulator (prefix ``/openai/v1``): ``PROVIDER``, the Images API and the Responses API's
``image_generation`` tool on one blueprint.

Contract: ``contracts/openapi/openai.yaml``; dialect: ``pixelmock.contracts.dialects.openai``. One job per
module:

- ``images``: authentication, OpenAI's error envelope, ``POST /images/generations`` and ``/images/edits``
  (validation, pricing, the ledger debit, rendering, streaming), the models endpoints and fault answers;
- ``responses``: ``POST /responses`` with the ``image_generation`` tool, ``GET`` and ``DELETE
  /responses/{id}``: each image call goes through the Images API's path above.
"""

from __future__ import annotations

from pixelmock.emulators.providers.openai import responses
from pixelmock.emulators.providers.openai.images import NAME, PREFIX, PROVIDER, REAL_PREFIX, bp

__all__ = ["NAME", "PREFIX", "PROVIDER", "REAL_PREFIX", "bp", "responses"]
