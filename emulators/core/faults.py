"""Fault injection: make a provider answer with its own rate limit, outage, refusal... on purpose.

A fault is chosen for a request under a provider's prefix in two ways:

- rules (``POST /__admin/faults``): matched by ``provider``, ``operation`` (an operationId of the
  provider's contract), ``model`` (native id, or canonical ``gpt-image-1.5`` / ``gpt-image-2``), and
  fired on the ``nth`` matching call (``times`` calls from there), on each matching call with a seeded
  ``probability``, or on every matching call (``times`` caps it). Every matching rule counts the call;
  the first that fires wins. Rules and their counts are shared by every worker on one store
  (``Faults``): the n-th call is the emulator's n-th, whichever worker answers it, and a ``probability``
  rule decides its n-th call by ``random.Random(f"{seed}:{n}")`` (``FaultRule.draw``), so a seed fires
  the same calls on one worker or many.
- one request: the header ``X-Pixelmock-Fault: <kind>`` (parameters after ``;``, e.g.
  ``rate_limit; retry_after=3``). A kind the provider cannot answer for that route is a 400 from
  pixelmock, never ignored.

Kinds the runtime answers the same way for every provider: ``slow`` (wait ``seconds`` real seconds,
then answer normally), ``drop`` (close the connection without an answer; ``after=true``: after the
request was processed) and ``malformed`` (the answer's body cut in half). Every other kind is answered
by the provider module through ``Target.faults``: a mapping kind -> ``FaultAnswer``, built from
the ``x-faults`` block of its contract (``contract_answers``). An answer either responds at once (a 429
with ``Retry-After``, a 503...) or is a flow fault: the provider's own flow reads it with ``active`` and
acts (an Apiframe job that fails with a refund, a GMI request left queued). A rule for a kind the
provider has no documented answer for is refused when it is added.

A request a fault fired on carries a journal note ``fault`` (kind, rule, parameters). WebSocket
upgrades are never faulted; the messages of a WebSocket are, by rules only (``message_fault``), each
noted on the message's own journal entry.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Protocol

from pixelmock.contracts.data import load
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import document
from pixelmock.emulators.core.control import Cached, Control
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.store import Store

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

__all__ = [
    "GENERIC_KINDS",
    "HEADER",
    "KINDS",
    "Fault",
    "FaultAnswer",
    "FaultError",
    "FaultRule",
    "Faults",
    "Target",
    "answer_of",
    "check_params",
    "contract_answers",
    "kinds_of",
    "model_matches",
    "operation_of",
    "parse_header",
]

#: The one-off request header.
HEADER = "X-Pixelmock-Fault"
#: Kinds answered by the runtime for every provider.
GENERIC_KINDS = ("slow", "drop", "malformed")
#: Every kind a provider may answer (its contract's ``x-faults`` says which it does).
KINDS = (
    "rate_limit",
    "server_error",
    "unavailable",
    "gateway_timeout",
    "insufficient_credits",
    "content_policy",
    "provider_timeout",
    "stuck",
    *GENERIC_KINDS,
)
#: Parameters a fault takes: name -> (kinds, type, lowest, highest); a ``str`` parameter's value must
#: match ``WORDS`` (its lowest and highest are unused).
PARAMS: dict[str, tuple[tuple[str, ...], type, float, float]] = {
    "retry_after": (("rate_limit",), int, 0, 86_400),
    "seconds": (("slow",), float, 0, 300),
    "after": (("drop",), bool, 0, 1),
    # OpenAI's moderation_details (the contract's x-openai-errors.moderation_blocked): the stage and the
    # flagged categories, several joined by "|" ("violence|self-harm").
    "stage": (("content_policy",), str, 0, 0),
    "category": (("content_policy",), str, 0, 0),
}
#: What a ``str`` parameter may hold: lower-case words, with ``-``, ``/`` and ``|`` between them.
WORDS = re.compile(r"[a-z][a-z/_|-]{0,63}")


class FaultError(ValueError):
    """A rule or header that cannot be honoured (unknown kind, a kind the provider has no answer for...)."""


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request: ``kind``, the ``provider``, the request's ``operation`` (None when
    it matches none of the contract's) and native ``model`` (when known), ``params`` (with the
    provider's defaults filled in) and the ``rule`` id (``None``: the request header)."""

    kind: str
    provider: str
    operation: str | None
    model: str | None
    params: Mapping[str, Any]
    rule: str | None

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter's value."""
        return self.params.get(name, default)

    def slow_seconds(self) -> float:
        """How long a ``slow`` fault waits: ``params.seconds`` real seconds, 1 by default."""
        return float(self.param("seconds", 1.0))

    def to_json(self) -> dict[str, Any]:
        """``{"kind", "rule", "params"}`` (the journal note)."""
        return {"kind": self.kind, "rule": self.rule, "params": dict(self.params)}


#: ``fn(fault) -> Response``: the provider's own answer to a fault.
Responder = Callable[[Fault], "Response"]


@dataclass(frozen=True)
class FaultAnswer:
    """How one provider answers one kind: ``respond`` builds the answer at once, or (``flow``) the
    provider's flow applies it (``active(kind)``). ``operations``: the operationIds it applies to
    (``None``: every route); ``headers``: header templates added to the answer (``{retry_after}``);
    ``defaults``: parameter defaults."""

    respond: Responder | None = None
    flow: bool = False
    operations: frozenset[str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)


class Target(Protocol):
    """What faults are chosen for: a provider's ``name`` and its ``faults`` (kind -> ``FaultAnswer``), as a
    ``Target`` has them."""

    @property
    def name(self) -> str: ...

    @property
    def faults(self) -> Mapping[str, FaultAnswer]: ...


def contract_answers(
    provider: str, build: Callable[[dict[str, Any], Fault], Response]
) -> dict[str, FaultAnswer]:
    """The ``FaultAnswer`` of every kind in the provider contract's ``x-faults`` block.

    Each entry may carry ``flow: true`` (applied by the provider's flow), ``operations`` (operationIds),
    ``headers`` (templates) and ``defaults``; the rest of the entry is handed to ``build(entry, fault)``,
    the provider's own way of answering (e.g. the name of one of its error bodies). Raises ``KeyError``
    for a kind outside ``KINDS``.
    """
    block = document(provider).get("x-faults", {})
    answers: dict[str, FaultAnswer] = {}
    for kind, entry in block.items():
        if kind.startswith("x-"):
            continue
        if kind not in KINDS or kind in GENERIC_KINDS:
            raise KeyError(f"{provider} x-faults: unknown or generic kind {kind!r}")
        flow = bool(entry.get("flow", False))
        operations = entry.get("operations")

        def respond(fault: Fault, entry: dict[str, Any] = entry) -> Response:
            return build(entry, fault)

        answers[kind] = FaultAnswer(
            respond=None if flow else respond,
            flow=flow,
            operations=frozenset(operations) if operations else None,
            headers=dict(entry.get("headers", {})),
            defaults=dict(entry.get("defaults", {})),
        )
    return answers


# --------------------------------------------------------------------------------------------------------
# Contract operations and models of a request


@cache
def _operations(provider: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """``(method, path regex, operationId)`` of every operation in the provider's contract."""
    found = []
    for path, item in document(provider).get("paths", {}).items():
        pattern = re.escape(path.rstrip("/") or "/")
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                found.append((method.upper(), re.compile(f"^{pattern}/?$"), str(op["operationId"])))
    # literal paths before templated ones (Cloudflare's classic routes next to /ai/run/{model})
    found.sort(key=lambda t: "[^/]+" in t[1].pattern)
    return tuple(found)


def operation_ids(provider: str) -> set[str]:
    """Every operationId of the provider's contract."""
    return {op for _, _, op in _operations(provider)}


def operation_of(provider: str, method: str, path: str) -> str | None:
    """The operationId serving ``method path`` (path relative to the provider's prefix), or ``None``."""
    path = path.rstrip("/") or "/"
    return next((op for m, rx, op in _operations(provider) if m == method and rx.match(path)), None)


@cache
def canonical_models() -> tuple[str, ...]:
    """The canonical model ids (``contracts/data/models.yaml``)."""
    return tuple(load("models")["models"])


@cache
def _native_ids(provider: str, model: str) -> str | None:
    try:
        return get_dialect(provider).capabilities(model).native_model
    except (UnsupportedValue, KeyError, ValueError):
        return None


def model_matches(provider: str, wanted: str, native: str | None) -> bool:
    """Whether a request's native model id is ``wanted``: the same id, or ``wanted`` is a canonical model
    whose native id at this provider it is (or a variant of it: a snapshot, GMI's ``-generate``)."""
    if native is None:
        return False
    if native == wanted:
        return True
    if wanted not in canonical_models():
        return False
    base = _native_ids(provider, wanted)
    return base is not None and (native == base or native.startswith(base + "-"))


# --------------------------------------------------------------------------------------------------------
# Rules

#: Store namespaces: the rules (records), their matching calls and fired faults (counters by rule id).
RULES, CALLS, FIRED = "faults.rules", "faults.calls", "faults.fired"
#: The counter numbering rules in the order they are added (namespace, key).
COUNTERS, ORDER = "faults", "order"


@dataclass(frozen=True)
class FaultRule:
    """A stored rule (see the module docstring): a record of the store, the same for every worker.
    ``order``: rules are tried in the order they were added. Its counts (matching calls, faults fired)
    are counters of the store (``Faults.rules``)."""

    id: str
    kind: str
    provider: str | None = None
    operation: str | None = None
    model: str | None = None
    nth: int | None = None
    times: int | None = None
    probability: float | None = None
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    order: int = 0

    def draw(self, call: int) -> float:
        """The random draw of the ``call``-th matching call (1, 2, ...) of a ``probability`` rule, in
        [0, 1): ``random.Random(f"{seed}:{call}").random()``, a function of the seed and the call's number
        alone, so the same calls fire whichever worker answers them."""
        return random.Random(f"{self.seed}:{call}").random()

    def fires(self, call: int, claim: Callable[[], int]) -> bool:
        """Whether the rule fires on its ``call``-th matching call. ``claim()`` counts one fault fired and
        returns how many have been, this one included; it is asked only when the rule would fire but for
        a ``times`` cap, so that the cap holds however many workers count at once."""
        if self.nth is not None:
            candidate = self.nth <= call < self.nth + (self.times or 1)
        else:
            candidate = self.probability is None or self.draw(call) < self.probability
        if not candidate:
            return False
        fired = claim()
        return self.nth is not None or self.times is None or fired <= self.times

    def to_json(self, calls: int = 0, fired: int = 0) -> dict[str, Any]:
        """The rule as the control plane shows it, with its counts: ``calls`` (matching calls seen) and
        ``fired`` (faults produced)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "provider": self.provider,
            "operation": self.operation,
            "model": self.model,
            "nth": self.nth,
            "times": self.times,
            "probability": self.probability,
            "seed": self.seed,
            "params": dict(self.params),
            "calls": calls,
            "fired": fired,
        }


def answer_of(provider: Target, kind: str) -> FaultAnswer | None:
    if kind in GENERIC_KINDS:
        return FaultAnswer()
    return provider.faults.get(kind)


def check_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validated parameters of a fault of ``kind``. Raises ``FaultError``."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        spec = PARAMS.get(name)
        if spec is None or kind not in spec[0]:
            takes = [n for n, s in PARAMS.items() if kind in s[0]]
            raise FaultError(f"{kind} takes no parameter {name!r} (it takes: {', '.join(takes) or 'none'})")
        _, kind_type, low, high = spec
        if kind_type is str:
            if not isinstance(value, str) or not WORDS.fullmatch(value):
                raise FaultError(f"{name}: expected lower-case words joined by '|', got {value!r}")
            out[name] = value
            continue
        if kind_type is bool:
            if not isinstance(value, bool):
                raise FaultError(f"{name}: expected true or false, got {value!r}")
            out[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FaultError(f"{name}: expected a number, got {value!r}")
        if not low <= value <= high or (kind_type is int and value != int(value)):
            raise FaultError(f"{name}: expected {kind_type.__name__} {low:g}-{high:g}, got {value!r}")
        out[name] = kind_type(value)
    return out


class Faults:
    """The fault rules of one emulator, shared by every app on ``store`` (thread-safe).

    Rules are records of the store (``RULES``); each app keeps a copy, loaded again when the control
    plane's generation (``control``) is not the one it was loaded at: adding, removing or clearing rules
    publishes a change (``Control.changed``), so every worker tries the same rules from its next request.
    A rule's matching calls and fired faults are counters of the store (``CALLS``, ``FIRED``), counted
    atomically whichever worker answers: its ``nth`` call and ``times`` cap are the emulator's, and a
    ``probability`` rule draws from its seed and the call's number (``FaultRule.draw``), so the same calls
    fire on one worker or many.
    """

    def __init__(self, store: Store, control: Control) -> None:
        self._store = store
        self._control = control
        #: The rules in the order they were added, loaded again when the control generation changed.
        self._rules: Cached[tuple[FaultRule, ...]] = Cached(control, self._load)

    def _load(self) -> tuple[FaultRule, ...]:
        loaded: list[FaultRule] = self._store.values(RULES)
        return tuple(sorted(loaded, key=lambda r: r.order))

    def _publish(self) -> None:
        self._control.changed()

    def add(self, providers: Iterable[Target], **fields: Any) -> FaultRule:
        """Store a rule built from ``fields`` (``kind``, ``provider``, ``operation``, ``model``, ``nth``,
        ``times``, ``probability``, ``seed``, ``params``) and publish it to every worker. ``providers``: the
        mounted ones. Raises ``FaultError`` for a kind a provider has no answer for, an operation its
        contract lacks or the kind does not apply to, and bad parameters."""
        mounted = {p.name: p for p in providers}
        kind = str(fields.get("kind"))
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; kinds are {', '.join(KINDS)}")
        name = fields.get("provider")
        operation = fields.get("operation")
        if name is not None and name not in mounted:
            raise FaultError(f"provider {name!r} is not mounted here (mounted: {', '.join(mounted)})")
        if operation is not None and name is None:
            raise FaultError("operation needs provider (operationIds are per provider contract)")
        targets = [mounted[name]] if name is not None else list(mounted.values())
        lacking = [p.name for p in targets if answer_of(p, kind) is None]
        if lacking:
            raise FaultError(
                f"{', '.join(lacking)} has no documented answer for {kind!r} "
                f"(it answers: {', '.join(sorted(kinds_of(mounted[lacking[0]])))})"
            )
        if operation is not None:
            assert name is not None
            if operation not in operation_ids(name):
                known = ", ".join(sorted(operation_ids(name)))
                raise FaultError(f"{name} has no operation {operation!r} (it has: {known})")
            answer = answer_of(mounted[name], kind)
            if answer is not None and answer.operations is not None and operation not in answer.operations:
                raise FaultError(f"{kind} at {name} applies to {', '.join(sorted(answer.operations))} only")
        if fields.get("nth") is not None and fields.get("probability") is not None:
            raise FaultError("give nth or probability, not both")
        rule = FaultRule(
            id="flt_" + new_uuid().hex[:12],
            kind=kind,
            provider=name,
            operation=operation,
            model=fields.get("model"),
            nth=fields.get("nth"),
            times=fields.get("times"),
            probability=fields.get("probability"),
            seed=int(fields.get("seed") or 0),
            params=check_params(kind, fields.get("params") or {}),
            order=self._store.incr(COUNTERS, ORDER),
        )
        self._store.put(RULES, rule.id, rule)
        self._publish()
        return rule

    def __len__(self) -> int:
        """The number of rules (the per-request check: no store access unless the generation changed)."""
        return len(self._rules.get())

    def _counts(self, rule: FaultRule) -> tuple[int, int]:
        """``(calls, fired)`` of ``rule``: matching calls seen and faults produced (a ``times`` cap counts
        no more than it lets fire)."""
        calls = self._store.incr(CALLS, rule.id, 0)
        fired = self._store.incr(FIRED, rule.id, 0)
        return calls, fired if rule.times is None else min(fired, rule.times)

    def rules(self) -> list[dict[str, Any]]:
        """Every rule's JSON view (``FaultRule.to_json`` with its counts), in the order they are tried."""
        return [rule.to_json(*self._counts(rule)) for rule in self._rules.get()]

    def remove(self, rule_id: str) -> bool:
        """Drop a rule, for every worker; whether it existed."""
        if self._store.get(RULES, rule_id) is None:
            return False
        self._store.delete(RULES, rule_id)
        self._publish()
        return True

    def clear(self) -> None:
        """Drop every rule, for every worker."""
        for rule in self._store.values(RULES):
            self._store.delete(RULES, rule.id)
        self._publish()

    def choose(
        self,
        provider: Target,
        operation: str | None,
        model_of: Callable[[], str | None],
    ) -> Fault | None:
        """The fault a rule fires for a request (or message) to ``provider`` of ``operation``, counting the
        call on every matching rule (store counters, shared by every worker). ``model_of()`` gives the
        native model id a rule's ``model`` is matched against (the one the request names), called at
        most once."""
        rules = self._rules.get()
        if not rules:
            return None
        model: list[str | None] = []

        def request_model() -> str | None:
            if not model:
                model.append(model_of())
            return model[0]

        chosen: Fault | None = None
        for rule in rules:
            answer = answer_of(provider, rule.kind)
            if answer is None or (rule.provider is not None and rule.provider != provider.name):
                continue
            if rule.operation is not None and rule.operation != operation:
                continue
            if answer.operations is not None and operation not in answer.operations:
                continue
            if rule.model is not None and not model_matches(provider.name, rule.model, request_model()):
                continue
            call = self._store.incr(CALLS, rule.id)
            if rule.fires(call, partial(self._store.incr, FIRED, rule.id)) and chosen is None:
                params = {**answer.defaults, **rule.params}
                native = model[0] if model else None
                chosen = Fault(rule.kind, provider.name, operation, native, params, rule.id)
        return chosen


def kinds_of(provider: Target) -> set[str]:
    """Every kind ``provider`` answers (its own and the generic ones)."""
    return {*provider.faults, *GENERIC_KINDS}


def parse_header(value: str) -> tuple[str, dict[str, Any]]:
    """``"rate_limit; retry_after=3"`` -> ``("rate_limit", {"retry_after": 3})``. Raises ``FaultError``."""
    kind, *pieces = [p.strip() for p in re.split(r"[;,]", value)]
    params: dict[str, Any] = {}
    for piece in pieces:
        if not piece:
            continue
        name, sep, raw = piece.partition("=")
        if not sep:
            raise FaultError(f"{HEADER}: expected name=value, got {piece!r}")
        text = raw.strip().lower()
        value_: Any
        spec = PARAMS.get(name.strip())
        if text in ("true", "false"):
            value_ = text == "true"
        elif spec is not None and spec[1] is str:
            value_ = text  # checked by check_params
        else:
            try:
                value_ = float(text) if any(c in text for c in ".e") else int(text)
            except ValueError as exc:
                raise FaultError(f"{HEADER}: {name.strip()}: not a number: {raw.strip()!r}") from exc
        params[name.strip()] = value_
    return kind, params
