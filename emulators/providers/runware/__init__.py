"""Runware emulator (prefix ``/runware/v1``): ``PROVIDER``, the REST API and the WebSocket API on one path.

Contract: ``contracts/openapi/runware.yaml`` (request schemas per task type and per model, the error
catalogue ``x-errors``, size rules, the WebSocket protocol ``x-websocket``); dialect:
``pixelmock.contracts.dialects.runware``. One job per module:

- ``errors``: the error catalogue, error items (``RunwareError``, ``error``), framework and fault answers;
- ``validation``: a task against the contract, violations as Runware's error items (``check_task``);
- ``tasks``: the task engine shared by both transports: authentication, imageInference (price, debit,
  render, store, webhooks, uploads, refunds), getResponse, ping;
- ``rest``: the blueprint and ``POST /runware/v1`` (a task array in, ``{"data", "errors"}`` out);
- ``websocket``: WebSocket messages to tasks and frames (``mount`` adds its routes to the blueprint);
- ``sessions``: WebSocket connections and sessions (buffered delivery, resume, idle timeout).
"""

from __future__ import annotations

from pixelmock.contracts.dialects.runware import PROVIDER as NAME
from pixelmock.contracts.providers import provider
from pixelmock.emulators.core.faults import contract_answers
from pixelmock.emulators.providers.runware import websocket
from pixelmock.emulators.providers.runware.errors import error_response, fault_response
from pixelmock.emulators.providers.runware.rest import bp
from pixelmock.emulators.providers.runware.tasks import TASKS
from pixelmock.emulators.web.provider import ProviderEmulator

#: Where the app mounts it (the provider registry, ``contracts/data/providers.yaml``).
PREFIX = provider(NAME).prefix

PROVIDER = ProviderEmulator(
    name=NAME,
    prefix=PREFIX,
    blueprint=bp,
    error_response=error_response,
    faults=contract_answers(NAME, fault_response),
    budgets={TASKS: "results"},  # EmulatorConfig.results_max_bytes
)
websocket.mount(PROVIDER)
