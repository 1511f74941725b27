"""Every citation names a source a user can open: a public page (URL and date read), a repository file at
a commit, a package release, or a file shipped here. The project's working notes (its research folder)
and the provider documents it started from (its seeds folder) are not shipped, so no shipped file may cite
them by path.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from paths import ROOT

#: Folders and files users get or read: the package, its data, its cassettes, its tests and its documents.
FOLDERS = ("contracts", "emulators", "client", "cassettes", "tests", "docs")
FILES = ("README.md", "FIDELITY.md", "BENCHMARKS.md", "ARCHITECTURE.md")
PRIVATE_PATH = re.compile(r"\b(?:research|seeds)/[\w.-]+")


def _shipped_files() -> list[Path]:
    """The files of ``FOLDERS`` and ``FILES`` that git tracks (every file there outside a git checkout)."""
    this = Path(__file__).resolve()
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", *FOLDERS, *FILES],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [path for folder in FOLDERS for path in (ROOT / folder).rglob("*") if path.is_file()]
        paths += [ROOT / name for name in FILES]
    return sorted(path for path in paths if path.is_file() and path.resolve() != this)


def test_no_shipped_file_cites_the_private_notes_or_seeds() -> None:
    hits = []
    for path in _shipped_files():
        text = path.read_bytes().decode("utf-8", errors="replace")
        if not PRIVATE_PATH.search(text):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in PRIVATE_PATH.finditer(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not hits, "cite the public source instead of a research note or seed:\n" + "\n".join(hits)
