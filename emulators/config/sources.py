"""Where ``pixelmock serve``'s settings come from: flags, ``PIXELMOCK_<NAME>`` environment variables and
a config file (``pixelmock.toml``, or ``[tool.pixelmock]`` in ``pyproject.toml``), by that precedence,
over the settings ``pixelmock.emulators.config.settings`` declares (``load``)."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.config.settings import (
    CONFIG_ENV,
    CONFIG_NAME,
    ENV_PREFIX,
    PYPROJECT,
    SERVE_DEFAULTS,
    ServerSettings,
    SettingError,
    by_name,
    parse_from,
    settings,
)

__all__ = ["config_file", "load", "misspelt", "read_config_file", "resolve"]


def config_file(cwd: Path) -> Path | None:
    """``pixelmock.toml`` in ``cwd``, else ``pyproject.toml`` there when it has ``[tool.pixelmock]``."""
    own = cwd / CONFIG_NAME
    if own.is_file():
        return own
    pyproject = cwd / PYPROJECT
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None  # not ours to judge: a user's broken pyproject without our table
        if isinstance(data.get("tool"), dict) and "pixelmock" in data["tool"]:
            return pyproject
    return None


def read_config_file(path: Path) -> dict[str, object]:
    """The settings in ``path``: the whole document, or ``[tool.pixelmock]`` of a ``pyproject.toml``.
    Raises ``SettingError`` for an unreadable file, bad TOML or an unknown key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingError(f"{path}: not TOML: {exc}") from None
    if path.name == PYPROJECT:
        tool = data.get("tool")
        table = tool.get("pixelmock") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise SettingError(f"{path}: no [tool.pixelmock] table")
        data = table
    unknown = sorted(set(data) - set(by_name()))
    if unknown:
        raise SettingError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(by_name())}")
    return dict(data)


def resolve(
    flags: Mapping[str, object],
    env: Mapping[str, str],
    file: Mapping[str, object],
    file_name: str = CONFIG_NAME,
) -> dict[str, object]:
    """The value of each setting that is set anywhere, by precedence: ``flags`` (already parsed; ``None``
    means not given), then the environment's ``PIXELMOCK_<NAME>`` (empty means unset), then ``file``; a
    map adds to the setting's default map (``Setting.over_default``).
    Raises ``SettingError`` naming the variable or the file key of a bad value."""
    values: dict[str, object] = {}
    for spec in settings():
        if flags.get(spec.name) is not None:
            values[spec.name] = spec.over_default(flags[spec.name])
        elif env.get(spec.env, "").strip():
            values[spec.name] = spec.over_default(parse_from(spec, env[spec.env], spec.env))
        elif spec.name in file:
            parsed = parse_from(spec, file[spec.name], f"{file_name}: {spec.name}")
            values[spec.name] = spec.over_default(parsed)
    return values


def misspelt(env: Mapping[str, str]) -> list[str]:
    """Warnings for ``PIXELMOCK_*`` variables that are no setting but nearly name one
    (``PIXELMOCK_OUTBOUND_HOST`` -> ``PIXELMOCK_OUTBOUND_HOSTS``): such a variable is otherwise ignored
    silently. Other ``PIXELMOCK_*`` variables (the pytest plugin's ``PIXELMOCK_URL``...) pass."""
    known = [s.env for s in settings()] + [CONFIG_ENV]
    found = []
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if close:
                found.append(f"{name} is not a setting (did you mean {close[0]}?); ignored")
    return found


def load(
    flags: Mapping[str, object],
    env: Mapping[str, str],
    cwd: Path,
    config: Path | None = None,
) -> tuple[ServerSettings, EmulatorConfig]:
    """What ``pixelmock serve`` runs with: ``resolve`` over the flags, the environment and the config file
    (``config``, else ``$PIXELMOCK_CONFIG``, else ``config_file(cwd)``), then ``SERVE_DEFAULTS``, then
    the dataclasses' defaults. Raises ``SettingError``."""
    named = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV, "").strip() else None)
    path = named or config_file(cwd)
    file = read_config_file(path) if path is not None else {}
    values = {**SERVE_DEFAULTS, **resolve(flags, env, file, str(path or CONFIG_NAME))}
    server = {s.name: values[s.name] for s in settings() if s.owner is ServerSettings and s.name in values}
    emulator = {s.name: values[s.name] for s in settings() if s.owner is EmulatorConfig and s.name in values}
    return ServerSettings(**server), EmulatorConfig(**emulator)  # type: ignore[arg-type]
