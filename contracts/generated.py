"""Generated sections of the README: text between ``<!-- NAME table: generated -->`` and
``<!-- end of NAME table -->`` that a module prints with ``python -m <module>`` (``--write FILE`` puts it
in place) and a test compares with what the module generates. Used by the providers table
(``pixelmock.contracts.providers``, printed by ``python -m pixelmock.contracts.generated providers``), the
lifecycle table (``pixelmock.contracts.lifecycle``) and the settings table
(``pixelmock.emulators.config.settings``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    """The opening and closing marker lines of the section ``name`` (without newlines)."""
    return f"<!-- {name} table: generated -->", f"<!-- end of {name} table -->"


def _bounds(text: str, name: str) -> tuple[int, int]:
    start_marker, end_marker = markers(name)
    try:
        start = text.index(start_marker + "\n") + len(start_marker) + 1
        end = text.index(end_marker, start)
    except ValueError:
        raise ValueError(f"no section {start_marker} ... {end_marker}") from None
    return start, end


def section(text: str, name: str) -> str:
    """The text between the markers of ``name`` in ``text``. Raises ``ValueError`` when they are missing."""
    start, end = _bounds(text, name)
    return text[start:end].removesuffix("\n")


def replace(text: str, name: str, body: str) -> str:
    """``text`` with the section ``name`` replaced by ``body``. Raises ``ValueError`` (see ``section``)."""
    start, end = _bounds(text, name)
    return text[:start] + body + "\n" + text[end:]


def main(name: str, generate: Callable[[], str], argv: Sequence[str] | None = None) -> int:
    """``python -m <module> [--write FILE]``: print the section ``name``, or write it between its markers
    in ``FILE`` (e.g. ``README.md``). Returns the exit status (2 for a bad command line or file)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(generate())
        return 0
    if len(args) != 2 or args[0] != "--write":
        print("usage: python -m <module> [--write FILE]", file=sys.stderr)
        return 2
    path = Path(args[1])
    try:
        path.write_text(replace(path.read_text(encoding="utf-8"), name, generate()), encoding="utf-8")
    except (OSError, ValueError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # python -m pixelmock.contracts.generated providers [--write README.md]
    from pixelmock.contracts.providers import providers_table

    if sys.argv[1:2] != ["providers"]:
        print("usage: python -m pixelmock.contracts.generated providers [--write FILE]", file=sys.stderr)
        sys.exit(2)
    sys.exit(main("providers", providers_table, sys.argv[2:]))
