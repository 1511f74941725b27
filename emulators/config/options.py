"""Provider options as users write them (``EmulatorConfig.options``): ``<provider>.<option>=value,...``
from a flag, a variable or a config table, read into the values the contracts' options take
(``pixelmock.contracts.options``). The contracts are imported when first used: the pytest plugin
imports the configuration at every session start."""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = ["parse_options", "read_pairs"]


def read_pairs(value: object, what: str) -> dict[str, object]:
    """``name=value,...`` or a table (nested tables flattened with dots: TOML's dotted keys)."""
    if isinstance(value, Mapping):
        flat: dict[str, object] = {}
        for key, item in value.items():
            if isinstance(item, Mapping):
                flat.update({f"{key}.{k}": v for k, v in read_pairs(item, what).items()})
            else:
                flat[str(key)] = item
        return flat
    if not isinstance(value, str):
        raise ValueError(f"expected {what}, got {value!r}")
    pairs: dict[str, object] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected {what}, got {item!r}")
        pairs[name.strip()] = raw.strip()
    return pairs


def _option_value(name: str, raw: object) -> object:
    """A string from a flag or variable read as the option's alternative it names (``true`` -> True for a
    boolean option); for an option no contract declares, a JSON scalar (``3``, ``true``) or the string."""
    if not isinstance(raw, str):
        return raw
    from pixelmock.contracts.options import options as contract_options  # contracts load when used

    spec = contract_options().get(name)
    if spec is not None:
        word = raw.lower()
        return next((alt for alt in spec.alternatives if word in (str(alt).lower(), json.dumps(alt))), raw)
    try:
        scalar = json.loads(raw)
    except ValueError:
        return raw
    return scalar if isinstance(scalar, int | float | bool) else raw


def parse_options(value: object) -> dict[str, object]:
    """``EmulatorConfig.options`` from ``<provider>.<option>=value,...`` or a table: each name must start
    with a provider's name, and a contract option's value must be one of its alternatives
    (``pixelmock.contracts.options.check_values``). Raises ``ValueError``."""
    from pixelmock.contracts.openapi import PROVIDERS  # contracts load when used
    from pixelmock.contracts.options import check_values

    pairs = read_pairs(value, "<provider>.<option>=value pairs, comma-separated")
    parsed: dict[str, object] = {}
    for name, raw in pairs.items():
        provider, dot, rest = name.partition(".")
        if not dot or not rest or provider not in PROVIDERS:
            raise ValueError(
                f"option {name!r}: expected <provider>.<option> with one of {', '.join(PROVIDERS)}"
            )
        parsed[name] = _option_value(name, raw)
    check_values(parsed)
    return parsed
