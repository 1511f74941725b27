"""Loading of the contract files (``contracts/data``: pricing, model facts; ``contracts/openapi``: the
providers' documents), cached per process and, parsed, on disk.

The contracts are YAML; parsing them is most of what building an app costs (about 0.12 s of a 0.3 s
``create_app`` with libyaml). ``read_contract`` keeps each file's parsed value as ``marshal`` bytes, in
memory and in a cache folder (``cache_folder``: ``~/.cache/pixelmock/contracts`` by default), under a
name with the SHA-256 of the file's text and the parser's version: a changed contract or PyYAML is parsed
again, a cache that cannot be written is done without. Like Python's own bytecode cache, the folder is
trusted as the user's own files are (``marshal`` is not for untrusted bytes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import marshal
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import yaml

#: PyYAML's safe loader on libyaml where PyYAML has it (about 10x faster: the contracts load in a tenth of
#: the time at start-up), else the pure-Python one; the same documents either way.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """The value of a YAML document, read safely (``SAFE_LOADER``: no tags that build objects). Raises
    ``yaml.YAMLError``."""
    return yaml.load(text, Loader=SAFE_LOADER)


#: What a cached value depends on besides the file's text: the parser and the cache's format.
_PARSER = f"pyyaml-{yaml.__version__}-{SAFE_LOADER.__name__}-marshal-{marshal.version}".encode()
#: ``(folder, name)`` -> the parsed value as ``marshal`` bytes (a fresh copy is one ``marshal.loads``).
_parsed: dict[tuple[str, str], bytes] = {}


def cache_root() -> Path | None:
    """pixelmock's cache folder on this machine: ``$PIXELMOCK_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/pixelmock``, else ``~/.cache/pixelmock``; ``None`` when there is no home to put it
    in. What is there can be deleted at any time."""
    if os.environ.get("PIXELMOCK_CACHE_DIR"):
        return Path(os.environ["PIXELMOCK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        return (Path(base) if base else Path.home() / ".cache") / "pixelmock"
    except RuntimeError:  # no home directory known
        return None


def cache_folder() -> Path | None:
    """Where parsed contracts are kept: ``contracts`` in ``cache_root()``."""
    root = cache_root()
    return None if root is None else root / "contracts"


def read_contract(folder: str, name: str) -> Any:
    """The value of ``contracts/<folder>/<name>.yaml``, a copy of its own (the caller may change it).
    Parsed once per process, and once per file version on this machine (``cache_folder``). Raises
    ``FileNotFoundError`` for an unknown file, ``yaml.YAMLError`` for one that is not YAML."""
    blob = _parsed.get((folder, name))
    if blob is not None:
        return marshal.loads(blob)
    path = resources.files("pixelmock.contracts").joinpath(folder, f"{name}.yaml")
    blob, value = parsed(f"{folder}-{name}", path.read_text(encoding="utf-8"))
    _parsed[(folder, name)] = blob
    return value


def parsed(name: str, text: str, where: Path | None = None) -> tuple[bytes, Any]:
    """``parse_yaml(text)`` as ``marshal`` bytes and as a value (the value shares nothing with the
    bytes): read from the cache folder (``where``, default ``cache_folder()``) when a file of ``name``
    with this text's digest is there, else parsed and put there (the other versions of ``name``
    removed). A cache file that cannot be read or written is ignored. Raises ``yaml.YAMLError``;
    ``ValueError`` when the value holds what ``marshal`` cannot (a date: the contracts have none)."""
    folder = where if where is not None else cache_folder()
    digest = hashlib.sha256(_PARSER + text.encode()).hexdigest()[:32]
    cached = None if folder is None else folder / f"{name}.{digest}.marshal"
    if cached is not None:
        try:
            blob = cached.read_bytes()
            return blob, marshal.loads(blob)  # a torn or foreign file is parsed again
        except (OSError, EOFError, ValueError, TypeError):
            pass
    value = parse_yaml(text)
    blob = marshal.dumps(value)
    if cached is not None:
        _keep(cached, blob)
    return blob, value


#: Versions of one file kept in the cache folder: two pixelmock installs on one machine (or a branch
#: switch) each find theirs; older ones are removed.
KEPT_VERSIONS = 4


def _keep(path: Path, blob: bytes) -> None:
    """Write ``blob`` at ``path`` atomically (another process may read it at once) and remove the versions
    of its name beyond the ``KEPT_VERSIONS`` most recently written; nothing when the folder cannot be
    written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", delete=False) as out:
            out.write(blob)
        os.replace(out.name, path)
        versions = [
            (old.stat().st_mtime_ns, old)
            for old in path.parent.glob(f"{path.name.split('.', 1)[0]}.*.marshal")
            if old != path
        ]
        for _, old in sorted(versions, reverse=True)[KEPT_VERSIONS - 1 :]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


@cache
def load(name: str) -> dict[str, Any]:
    """Parse ``contracts/data/<name>.yaml`` (shared; do not mutate). Raises ``FileNotFoundError`` for an
    unknown name."""
    return cast(dict[str, Any], read_contract("data", name))


@cache
def model_facts(model: str) -> dict[str, Any]:
    """The ``models.yaml`` block of one canonical model (shared; do not mutate). A block with ``like:
    <model>`` is that model's facts with its own keys over them, nested blocks merged key by key (a list
    or a value replaces). Raises ``KeyError`` for an unknown model, ``ValueError`` for a ``like`` circle."""
    return _facts(model, ())


def _facts(model: str, seen: tuple[str, ...]) -> dict[str, Any]:
    if model in seen:
        raise ValueError(f"models.yaml: like circle {' -> '.join((*seen, model))}")
    block = cast(dict[str, Any], load("models")["models"][model])
    like = block.get("like")
    if like is None:
        return block
    return _merged(_facts(str(like), (*seen, model)), {k: v for k, v in block.items() if k != "like"})


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merged(base[key], value) if both else value
    return out


def catalogue() -> tuple[str, ...]:
    """Every canonical model of ``models.yaml``, in its order."""
    return tuple(load("models")["models"])


def effective(entries: list[dict[str, Any]], on: dt.date) -> dict[str, Any]:
    """The entry of a dated list in force on ``on``: the last one whose ``effective_from`` is not later.

    Entries are in date order; ``effective_from: null`` means "since before the next entry".
    Raises ``LookupError`` when none is in force.
    """
    chosen: dict[str, Any] | None = None
    for entry in entries:
        start = entry.get("effective_from")
        if start is None or dt.date.fromisoformat(str(start)) <= on:
            chosen = entry
    if chosen is None:
        raise LookupError(f"no entry in force on {on.isoformat()}")
    return chosen
