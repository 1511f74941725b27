"""The parsed-contract cache (``pixelmock.contracts.data.read_contract``, issue 28's start-up): what it
answers is what parsing the YAML answers, a changed file is parsed again, and a cache folder that is
missing, unwritable or holds torn files changes nothing but the time it takes.

Oracle: ``parse_yaml`` of the shipped contract files (the value the cache stands in for).
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from pixelmock.contracts import data
from pixelmock.contracts.data import cache_folder, parse_yaml, parsed, read_contract

CONTRACTS = resources.files("pixelmock.contracts")
FILES = sorted(
    (folder, Path(str(entry)).stem)
    for folder in ("data", "openapi")
    for entry in CONTRACTS.joinpath(folder).iterdir()
    if str(entry).endswith(".yaml")
)


def _text(folder: str, name: str) -> str:
    return CONTRACTS.joinpath(folder, f"{name}.yaml").read_text(encoding="utf-8")


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of this test's own, and nothing parsed in this process yet."""
    monkeypatch.setenv("PIXELMOCK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_parsed", {})
    folder = cache_folder()
    assert folder == tmp_path / "cache" / "contracts"
    return folder


@pytest.mark.parametrize(("folder", "name"), FILES)
def test_a_cached_contract_is_the_parsed_yaml(fresh_cache: Path, folder: str, name: str) -> None:
    expected = parse_yaml(_text(folder, name))
    assert read_contract(folder, name) == expected  # parsed, and written to the cache
    assert [p.name.split(".")[0] for p in fresh_cache.iterdir()] == [f"{folder}-{name}"]
    data._parsed.clear()
    assert read_contract(folder, name) == expected  # read back from the cache folder


def test_the_cache_folder_is_read_instead_of_parsing(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_contract("data", "models")
    data._parsed.clear()

    def no_parsing(text: str) -> None:
        raise AssertionError("parsed although the cache holds this version")

    monkeypatch.setattr(data, "parse_yaml", no_parsing)
    assert read_contract("data", "models")["models"]


def test_each_read_is_a_copy_of_its_own(fresh_cache: Path) -> None:
    first = read_contract("data", "models")
    first["models"].clear()
    assert read_contract("data", "models")["models"]


def parsed_value(name: str, text: str, where: Path) -> object:
    """``parsed``'s value, checked against its bytes (the copy ``read_contract`` keeps)."""
    blob, value = parsed(name, text, where)
    assert marshal.loads(blob) == value
    return value


def test_a_changed_file_is_parsed_again_and_the_newest_versions_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write(price: int, at_second: int) -> object:
        """Parse one version; its cache file gets its own modification time (as versions written apart
        in time do: several within one file-system tick would tie)."""
        before = set(tmp_path.glob("*.marshal"))
        value = parsed_value("data-sample", f"price: {price}\n", tmp_path)
        for written in set(tmp_path.glob("*.marshal")) - before:
            os.utime(written, ns=(at_second * 10**9, at_second * 10**9))
        return value

    assert write(1, 1) == {"price": 1} and write(2, 2) == {"price": 2}
    assert len(list(tmp_path.glob("data-sample.*.marshal"))) == 2  # two installs: each finds its own
    for price in (3, 4, 5):
        write(price, price)
    assert len(list(tmp_path.glob("*.marshal"))) == data.KEPT_VERSIONS  # price 1's, the oldest, removed

    def parse_never(text: str) -> None:
        raise AssertionError("parsed although the cache holds this version")

    monkeypatch.setattr(data, "parse_yaml", parse_never)
    for price in (2, 3, 4, 5):  # the most recent ones are read from the folder, not parsed
        assert parsed_value("data-sample", f"price: {price}\n", tmp_path) == {"price": price}


def test_a_torn_cache_file_is_parsed_again(tmp_path: Path) -> None:
    parsed_value("data-sample", "price: 1\n", tmp_path)
    (cached,) = tmp_path.glob("data-sample.*.marshal")
    cached.write_bytes(cached.read_bytes()[:3])
    assert parsed_value("data-sample", "price: 1\n", tmp_path) == {"price": 1}
    assert marshal.loads(cached.read_bytes()) == {"price": 1}  # and written whole again


def test_a_cache_folder_that_cannot_be_made_changes_nothing_but_the_time(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # a file where the folder would be: no cache can be read or written
    assert parsed_value("data-sample", "price: 1\n", blocker / "contracts") == {"price": 1}
    assert blocker.read_text() == ""


def test_a_process_with_no_home_parses_without_a_cache(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"HOME", "XDG_CACHE_HOME", "PIXELMOCK_CACHE_DIR"}}
    script = (
        "import pwd, pathlib\n"
        "pwd.getpwuid = lambda uid: (_ for _ in ()).throw(KeyError(uid))\n"  # no passwd entry either
        "from pixelmock.contracts.data import cache_folder, read_contract\n"
        "assert cache_folder() is None\n"
        "print(len(read_contract('data', 'models')['models']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(parse_yaml(_text("data", "models"))["models"])
