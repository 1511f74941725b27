"""pixelmock installed beside a user's own code: one import namespace, metadata, and commands that run where
gunicorn cannot.

These tests read the installed distribution (the README's install command puts it in the environment that
runs the suite, as a wheel or editable) and run the ``pixelmock`` command and ``python -m pytest`` in
subprocesses, in folders of their own.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.resources as resources
import json
import os
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from paths import ROOT

import pixelmock
from pixelmock.emulators.tools.server import free_port

#: The installed distribution, read from site-packages (not a ``pixelmock.egg-info`` a build left in the
#: repository, which ``python -m pytest`` would find first).
DISTRIBUTION = next(metadata.distributions(name="pixelmock", path=[sysconfig.get_paths()["purelib"]]))

#: Runs ``pixelmock.emulators.tools.cli.main`` with ``fcntl`` unimportable (as on Windows); fails if gunicorn
#: was imported, unless the command is ``serve``.
NO_FCNTL = textwrap.dedent(
    """
    import sys
    sys.modules["fcntl"] = None
    from pixelmock.emulators.tools.cli import main
    try:
        status = main(sys.argv[1:])
    except SystemExit as exc:
        status = exc.code
    if "gunicorn" in sys.modules and sys.argv[1] != "serve":
        sys.exit("gunicorn was imported")
    sys.exit(status)
    """
)


def _clean_env() -> dict[str, str]:
    """The environment without this repository on ``PYTHONPATH``: only the installed pixelmock counts."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def _installed_top_level_names() -> set[str]:
    """The names the distribution makes importable at the top level: its files in site-packages, or, for
    an editable install, what setuptools' import hook (``__editable___pixelmock_<version>_finder``) maps."""
    names: set[str] = set()
    for top in {Path(str(f)).parts[0] for f in DISTRIBUTION.files or [] if not str(f).startswith("..")}:
        if top.endswith((".dist-info", ".pth")) or top == "__pycache__":
            continue
        if top.startswith("__editable__"):
            finder = importlib.import_module(top.removesuffix(".py"))
            names |= {name.partition(".")[0] for name in finder.MAPPING}
        else:
            names.add(top.removesuffix(".py"))
    return names


def test_only_the_pixelmock_namespace_is_installed() -> None:
    assert _installed_top_level_names() == {"pixelmock"}
    assert (DISTRIBUTION.read_text("top_level.txt") or "pixelmock").split() == ["pixelmock"]


def test_the_old_top_level_names_are_not_importable(tmp_path: Path) -> None:
    names = ("contracts", "emulators", "client")
    code = f"import importlib.util as u; print([u.find_spec(n) is None for n in {names!r}])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[True, True, True]"


def test_version_typing_marker_and_license_are_shipped() -> None:
    assert pixelmock.__version__ == DISTRIBUTION.version
    assert resources.files("pixelmock").joinpath("py.typed").is_file()
    assert DISTRIBUTION.metadata["License-Expression"] == "MIT"
    assert any(Path(str(f)).name == "LICENSE" for f in DISTRIBUTION.files or [])
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{pixelmock.__version__}]" in changelog


def test_pixelmock_version_prints_the_version() -> None:
    done = subprocess.run(["pixelmock", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"pixelmock {pixelmock.__version__}"


def test_a_users_project_with_its_own_client_contracts_and_emulators_keeps_both(tmp_path: Path) -> None:
    """A project whose own modules share pixelmock's old top-level names, run with ``python -m pytest``
    (its folder first on ``sys.path``): its modules and pixelmock's fixtures both work."""
    (tmp_path / "client.py").write_text("NAME = 'the user client'\n")
    for package in ("contracts", "emulators"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(f"NAME = 'the user {package}'\n")
    (tmp_path / "contracts" / "openapi.py").write_text("PROVIDERS = ('the user provider',)\n")
    (tmp_path / "test_users_project.py").write_text(
        textwrap.dedent(
            """
            import httpx

            import client
            import contracts
            import emulators
            from contracts.openapi import PROVIDERS
            from pixelmock.contracts.providers import names


            def test_the_users_own_modules():
                assert client.NAME == "the user client"
                assert (contracts.NAME, emulators.NAME) == ("the user contracts", "the user emulators")
                assert PROVIDERS == ("the user provider",)


            def test_pixelmocks_fixtures(pixelmock_server, pixelmock_admin):
                health = httpx.get(pixelmock_server.url + "/__health").json()
                assert list(health["providers"]) == list(names())
                assert pixelmock_admin.advance(60) is not None
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["cost", "--provider", "all", "--prompt", "a lighthouse", "--json"],
        ["verify", str(ROOT / "cassettes" / "documented" / "openai")],
        ["demo", "--help"],
    ],
    ids=["cost", "verify", "demo-help"],
)
def test_commands_run_where_gunicorn_cannot_and_never_import_it(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_FCNTL, *args], env=_clean_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_serve_falls_back_to_werkzeug_where_gunicorn_cannot_run() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", NO_FCNTL, "serve", "--port", str(port), "--provider", "openai"],
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 30
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/__health").json()
            except httpx.TransportError:
                time.sleep(0.1)
        assert health == {
            "status": "ok",
            "version": pixelmock.__version__,
            "providers": {"openai": "/openai/v1"},
        }
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, out + err
    assert "serving with Werkzeug's threaded server" in err
    assert f"listening on http://127.0.0.1:{port}" in out


def _declared_closure() -> set[str]:
    """Normalized names of the distributions ``pip install pixelmock`` (no extras) brings: pixelmock's
    requirements and theirs (with the extras asked for), markers evaluated here, transitively."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(DISTRIBUTION.metadata["Name"], frozenset())]
    while todo:
        name, extras = todo.pop()
        if (canonicalize_name(name), extras) in seen:
            continue
        seen.add((canonicalize_name(name), extras))
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # required but not installed here: the import check below says what is missing
        environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
        for line in requires:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                todo.append((req.name, frozenset(req.extras)))
    return {name for name, _ in seen}


#: Imports only modules of the distributions in ``CLOSURE`` (plus the standard library and whatever no
#: distribution provides, such as setuptools' editable-install hook), then imports what ``pixelmock
#: serve`` runs: gunicorn's gevent worker, gevent's patching, the app.
ONLY_DECLARED = textwrap.dedent(
    """
    import importlib.abc, importlib.metadata, json, sys
    allowed = set(json.loads(sys.argv[1]))
    owners = importlib.metadata.packages_distributions()
    class OnlyDeclared(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            dists = {d.lower().replace("_", "-").replace(".", "-") for d in owners.get(top, [])}
            if dists and not dists & allowed:
                raise ImportError(f"{name} comes from {sorted(dists)}, which pixelmock does not require")
            return None
    sys.meta_path.insert(0, OnlyDeclared())
    import gunicorn.app.base, gunicorn.workers.ggevent, gevent.monkey
    from pixelmock.emulators.app import create_app
    from pixelmock.emulators.tools.server import serve
    create_app()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn and gevent are not installed on Windows")
def test_what_serve_imports_is_all_declared() -> None:
    """``pip install pixelmock`` alone must bring every module ``pixelmock serve`` imports: gunicorn 27's
    gevent worker imports ``packaging``, which only its ``gevent`` extra declares (a plain install then
    fell back to Werkzeug, seen in the README's demo). The test environment has more installed (pytest
    brings ``packaging``), so the check refuses the modules of every distribution outside the closure."""
    closure = sorted(_declared_closure())
    assert "gunicorn" in closure and "gevent" in closure
    done = subprocess.run(
        [sys.executable, "-c", ONLY_DECLARED, json.dumps(closure)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_package_folder_is_listed_for_setuptools() -> None:
    """``pip install .`` (a wheel, as the README and the container image install) ships only the packages
    ``[tool.setuptools] packages`` lists: a package folder left out is missing from every non-editable
    install (``pixelmock.emulators.providers.openai`` was, found by building the container image)."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    )
    found = {"pixelmock"} | {
        "pixelmock." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("client", "contracts", "emulators")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
