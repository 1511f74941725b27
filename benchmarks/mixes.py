"""The request mixes: one definition, sent by ``wrk`` (through ``mix.lua``) and by Python alike.

A mix is a request template (method, path under the provider's base, headers, body) with placeholders,
and optionally a follow-up request built from the first answer (Apiframe: submit, then poll the job):

- ``%N%``: a counter, unique per request within one run (every generation gets its own prompt, so every
  image is really rendered: the emulator caches renders of identical requests);
- ``%UUID%``: a UUID unique per run and request (``<run:08x>-0000-4000-8000-<n:012x>``);
- ``%KEY%``: the API key, a new one every ``key_every`` requests (each key is a fresh account with the
  emulator's starting balance, so a long run never exhausts it); ``key_every=0``: one key per run, which
  a mix with a follow-up needs (the follow-up must use the key of the job's account, and wrk's script
  cannot tell which request an answer belongs to);
- ``%JOB%``: in the follow-up only, the job id matched in the first answer by ``job_pattern``.

``mix.lua`` implements the same substitution; ``tests/benchmarks/test_benchmarks_smoke.py`` runs the
Python side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).resolve().parent / "mix.lua"


@dataclass(frozen=True)
class Step:
    """One HTTP request template: ``path`` is relative to the provider's base (``/openai/v1`` under
    pixelmock, the document's own paths under Prism)."""

    method: str
    path: str
    body: str = ""


@dataclass(frozen=True)
class Mix:
    """A request mix. ``expect`` holds the statuses the emulator must answer (per step, in order);
    ``prism_expect`` those Prism answers (it validates requests but returns documented examples)."""

    name: str
    title: str
    provider: str
    first: Step
    headers: dict[str, str]
    expect: tuple[frozenset[int], ...]
    prism_expect: tuple[frozenset[int], ...]
    follow: Step | None = None
    #: Lua pattern (also used as a regular expression: keep to ``"`` ``:`` ``%s*`` ``([^"]+)``).
    job_pattern: str = ""
    key_every: int = 50

    @property
    def statuses(self) -> frozenset[int]:
        """Every status the emulator may answer in this mix."""
        return frozenset().union(*self.expect)

    @property
    def prism_statuses(self) -> frozenset[int]:
        """Every status Prism may answer in this mix."""
        return frozenset().union(*self.prism_expect)


def _json_headers(auth: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **dict([auth.split(": ", 1)])}


OK = frozenset({200})
MIXES: tuple[Mix, ...] = (
    Mix(
        name="runware_url",
        title="Runware imageInference, sync, URL output (1024x1024 JPG)",
        provider="runware",
        first=Step(
            "POST",
            "/",
            '[{"taskType":"imageInference","taskUUID":"%UUID%","model":"openai:gpt-image@2",'
            '"positivePrompt":"pixelmock benchmark %N%","width":1024,"height":1024,"outputType":"URL"}]',
        ),
        headers=_json_headers("Authorization: Bearer bench-%KEY%"),
        expect=(OK,),
        prism_expect=(OK,),
    ),
    Mix(
        name="apiframe_poll",
        title="Apiframe submit (202) then poll the job (200, COMPLETED, 1024x1024 WebP)",
        provider="apiframe",
        first=Step(
            "POST",
            "/v2/images/generate",
            '{"prompt":"pixelmock benchmark %N%","model":"gpt-image-2","gptImage2Params":{"quality":"low"}}',
        ),
        headers=_json_headers("X-API-Key: bench-%KEY%"),
        follow=Step("GET", "/v2/jobs/%JOB%"),
        job_pattern='"jobId"%s*:%s*"([^"]+)"',
        key_every=0,  # 4 credits a job: 2,500 jobs per key, far more than one run sends
        expect=(frozenset({202}), OK),
        prism_expect=(frozenset({202}), OK),
    ),
    Mix(
        name="openai_png_b64",
        title="OpenAI generation, 1024x1024 PNG as b64_json",
        provider="openai",
        first=Step(
            "POST",
            "/images/generations",
            '{"model":"gpt-image-2","prompt":"pixelmock benchmark %N%","size":"1024x1024",'
            '"quality":"low","output_format":"png"}',
        ),
        headers=_json_headers("Authorization: Bearer sk-bench-%KEY%"),
        expect=(OK,),
        prism_expect=(OK,),
    ),
    Mix(
        name="invalid",
        title="Invalid request (OpenAI, quality 'ultra'): the validation path",
        provider="openai",
        first=Step(
            "POST",
            "/images/generations",
            '{"model":"gpt-image-2","prompt":"pixelmock benchmark %N%","size":"1024x1024","quality":"ultra"}',
        ),
        headers=_json_headers("Authorization: Bearer sk-bench-%KEY%"),
        expect=(frozenset({400}),),
        prism_expect=(frozenset({400, 422}),),
    ),
)
BY_NAME = {mix.name: mix for mix in MIXES}


def uuid_for(run: int, n: int) -> str:
    """The ``%UUID%`` of request ``n`` in run ``run`` (a valid version-4 UUID string)."""
    return f"{run & 0xFFFFFFFF:08x}-0000-4000-8000-{n & 0xFFFFFFFFFFFF:012x}"


def fill(
    template: str,
    run: int,
    n: int,
    key_every: int,
    *,
    job: str = "",
    key: str | None = None,
    unique: bool = True,
) -> str:
    """Substitute the placeholders of ``template`` for request ``n`` (``key``: the key of the request
    this one follows up, else the one request ``n`` gets; ``unique=False``: ``%N%`` is always 0, so
    every request asks for the same image)."""
    if key is None:
        key = f"{run:x}" if key_every == 0 else f"{run:x}-{n // key_every}"
    return (
        template.replace("%N%", str(n) if unique else "0")
        .replace("%UUID%", uuid_for(run, n))
        .replace("%KEY%", key)
        .replace("%JOB%", job)
    )


def job_regex(mix: Mix) -> re.Pattern[str]:
    """``mix.job_pattern`` (a Lua pattern) as a Python regular expression."""
    return re.compile(mix.job_pattern.replace("%s", r"\s"))


def lua_args(mix: Mix, base: str, run: int, unique: bool = True) -> list[str]:
    """The arguments ``mix.lua`` takes after ``--``: base path, first method/path/body, headers, follow-up
    method/path, job pattern, key_every, run id, and ``unique`` (``0``: one fixed prompt)."""
    follow = mix.follow or Step("", "")
    headers = "\n".join(f"{k}: {v}" for k, v in mix.headers.items())
    return [
        base,
        mix.first.method,
        mix.first.path,
        mix.first.body,
        headers,
        follow.method,
        follow.path,
        mix.job_pattern,
        str(mix.key_every),
        str(run),
        "1" if unique else "0",
    ]
