"""The ``pixelmock`` command (click).

- ``pixelmock serve``: every provider's emulator on one port, on gunicorn (gevent workers: a held
  connection costs a greenlet; one worker, or ``--workers N`` sharing ``--store redis://...``), until
  Ctrl-C or SIGTERM; exit status 2 when the port is taken or N > 1 workers have no shared store. Every
  setting (``pixelmock.emulators.config.settings``) comes from a flag, a ``PIXELMOCK_<NAME>`` variable or a
  config file, in that order.
- ``pixelmock cost``: price one request at one provider or all of them, side by side.
- ``pixelmock demo``: start the emulators on their defaults on 127.0.0.1, send every provider a request
  for each model it sells, check the images that come back, print a table, stop.
- ``pixelmock proxy``: forward every provider prefix to the real provider, validating and recording
  (``pixelmock.emulators.tools.proxy``), on the server ``serve`` uses: HTTPS with the same ``--tls``
  flags, and the same stop on Ctrl-C / SIGTERM.
- ``pixelmock verify PATH...``: check cassettes against the contracts (``pixelmock.contracts.verify``);
  ``--format text|json|junit``; exit 0 when all is fine, 1 for drift, 2 for unreadable input or nothing
  checked.

Exit status 2 for every usage error (unknown flag, bad value, missing file), with a one-line message and
no traceback. Only ``serve`` imports Flask and gunicorn; ``cost``, ``verify`` and ``demo`` run where
gunicorn cannot.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from pixelmock.contracts.canonical import (
    BACKGROUNDS,
    MODELS,
    OUTPUT_FORMATS,
    QUALITIES,
    Background,
    CanonicalRequest,
    ImageInput,
    OutputFormat,
    Quality,
)
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.lifecycle import lifecycle
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.contracts.pricing import UPPER_BOUND, Quote
from pixelmock.emulators.config import TODAY_ENV, today_from_env
from pixelmock.emulators.config.settings import (
    CONFIG_ENV,
    SERVER_KEY,
    Setting,
    SettingError,
    check_workers,
    parse_date,
    settings,
)
from pixelmock.emulators.config.sources import load, misspelt
from pixelmock.emulators.tools.verify import FORMATS

if TYPE_CHECKING:
    from flask import Flask

    from pixelmock.emulators.tools.tls import TlsFiles

#: The model ``pixelmock cost`` prices when none is given: one every provider still sells.
DEFAULT_COST_MODEL = "gpt-image-2"

F = TypeVar("F", bound=Callable[..., Any])


def _parser(spec: Setting) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback reading a setting's flag with the setting's own parser: ``None`` when not given,
    a repeated flag's values combined (lists joined, maps merged)."""

    def parse(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        raw = [] if value is None else list(value) if spec.repeatable else [value]
        try:
            parsed = [spec.parse(item) for item in raw]
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
        if not parsed:
            return None
        return spec.combine(parsed) if spec.repeatable else parsed[0]

    return parse


def setting_options(command: F) -> F:
    """Add one option per setting (``pixelmock.emulators.config.settings.settings()``) to ``command``:
    its flag and aliases, its parser, its help with default and variable. A repeatable one (lists, maps) may
    be given several times; the values add up."""
    return _setting_flags(command, settings(), Setting.help)


#: The settings of HTTPS (``tools/tls.py``), which ``proxy`` takes as ``serve`` does.
TLS_SETTINGS = ("tls", "tls_cert", "tls_key", "tls_ca_out")


def tls_options(command: F) -> F:
    """Add ``serve``'s HTTPS flags (``TLS_SETTINGS``: ``--tls``, ``--tls-cert``, ``--tls-key``,
    ``--tls-ca-out``), with their parsers and help, to ``command`` (``proxy``: flags only, no variables)."""
    chosen = [spec for spec in settings() if spec.name in TLS_SETTINGS]
    return _setting_flags(command, chosen, lambda spec: f"{spec.meta.help} [default: {spec.default_text()}]")


def _setting_flags(command: F, specs: Sequence[Setting], describe: Callable[[Setting], str]) -> F:
    for spec in reversed(specs):
        command = click.option(
            *spec.flags,
            spec.name,
            callback=_parser(spec),
            multiple=spec.repeatable,
            default=None,
            metavar=spec.metavar,
            help=describe(spec),
            is_flag=False,
            flag_value="true" if spec.switch else None,  # ``--tls`` alone means ``--tls true``
        )(command)
    return command


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    try:
        return None if value is None else parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 110}
)
@click.version_option(package_name="pixelmock", prog_name="pixelmock", message="%(prog)s %(version)s")
def cli() -> None:
    """Contract tests and local emulators for OpenAI's GPT Image models at OpenAI, Cloudflare Workers AI,
    Apiframe, Runware and GMI Cloud."""


class CannotServe(click.ClickException):
    """``pixelmock serve`` (or ``proxy``) cannot start: its port is taken, or its workers cannot serve as
    one emulator. One line, exit status 2."""

    exit_code = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pixelmock`` console script; returns the exit status (2 for usage errors)."""
    try:
        status = cli.main(
            args=list(sys.argv[1:] if argv is None else argv), prog_name="pixelmock", standalone_mode=False
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return status if isinstance(status, int) else 0


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"config file (pixelmock.toml, or a pyproject.toml's [tool.pixelmock]) [default: ./pixelmock.toml, "
    f"else ./pyproject.toml's [tool.pixelmock]; env: {CONFIG_ENV}]",
)
@setting_options
def serve(config_path: Path | None, **flags: Any) -> int:
    """Run the emulators until Ctrl-C / SIGTERM. Settings: flag > PIXELMOCK_<NAME> > config file >
    default."""
    from pixelmock.emulators.app import create_app
    from pixelmock.emulators.tools.server import PortInUse, WorkersUnsupported
    from pixelmock.emulators.tools.server import serve as run_server

    for warning in misspelt(os.environ):
        click.echo(f"pixelmock: warning: {warning}", err=True)
    try:
        server, config = load(flags, os.environ, Path.cwd(), config_path)
    except (SettingError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    try:
        check_workers(server, config)
    except SettingError as exc:
        raise CannotServe(str(exc)) from None

    def factory() -> Flask:
        app = create_app(config, providers=server.provider or None)
        app.extensions[SERVER_KEY] = server
        if server.replay is not None:
            from pixelmock.emulators.tools.replay import replaying

            replaying(app, server.replay, server.record_mode)
        return app

    try:
        # Built once here so a bad setting (or a store that does not answer) is a usage error before
        # serving, then dropped; each served app is built by the factory where it is served (in each
        # gunicorn worker, after its fork and gevent's patching), with store connections of its own.
        factory()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        with https(server.host, server.tls, server.tls_cert, server.tls_key, server.tls_ca_out) as tls:
            run_server(
                factory,
                server.host,
                server.port,
                connections=server.connections,
                read_timeout=server.read_timeout,
                port_file=server.port_file,
                workers=server.workers,
                tls=tls,
            )
    except (PortInUse, WorkersUnsupported) as exc:
        raise CannotServe(str(exc)) from None
    return 0


@contextmanager
def https(
    host: str, tls: bool | None, cert: Path | None, key: Path | None, ca_out: Path | None
) -> Iterator[TlsFiles | None]:
    """What ``serve`` and ``proxy`` serve HTTPS with for the ``with`` block (``tools/tls.tls_files``), or
    None for plain HTTP: HTTPS with ``tls`` or a ``cert``. With a local CA, says on stderr which file
    clients trust. Raises :class:`CannotServe` (exit status 2) for a missing trustme or a ``cert``
    without its ``key``."""
    from pixelmock.emulators.tools.tls import TlsUnavailable, tls_files

    if not tls and cert is None:
        yield None
        return
    with ExitStack() as stack:
        try:
            secured = stack.enter_context(tls_files(host, cert, key, ca_out))
        except TlsUnavailable as exc:
            raise CannotServe(str(exc)) from None
        if secured.ca is not None:
            click.echo(f"pixelmock: HTTPS with a local CA; clients trust {secured.ca}", err=True)
        yield secured


@cli.command()
@click.option(
    "--provider",
    "providers",
    multiple=True,
    type=click.Choice([*PROVIDERS, "all"]),
    help="provider, repeatable, or all  [default: all]",
)
@click.option("--model", type=click.Choice(MODELS), default=DEFAULT_COST_MODEL)
@click.option("--prompt", required=True)
@click.option("--size", help="WxH in pixels, or auto")
@click.option("--quality", type=click.Choice(QUALITIES))
@click.option("--n", type=int, help="number of images")
@click.option("--background", type=click.Choice(BACKGROUNDS))
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS))
@click.option(
    "--input-image",
    "input_images",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="input image file (repeatable)",
)
@click.option(
    "--date",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="price as of this date  [default: $PIXELMOCK_TODAY, else today]",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def cost(
    providers: tuple[str, ...],
    model: str,
    prompt: str,
    size: str | None,
    quality: str | None,
    n: int | None,
    background: str | None,
    output_format: str | None,
    input_images: tuple[str, ...],
    date: dt.date | None,
    as_json: bool,
) -> int:
    """Price a request at one or more providers."""
    try:
        on = date or today_from_env() or dt.date.today()
    except ValueError:  # a malformed $PIXELMOCK_TODAY
        raise click.UsageError(
            f"{TODAY_ENV}: expected a date YYYY-MM-DD, got {os.environ[TODAY_ENV]!r}"
        ) from None
    try:
        images = tuple(ImageInput.from_path(path) for path in input_images)
        request = CanonicalRequest(
            model=model,
            prompt=prompt,
            n=n,
            size=size,
            quality=cast("Quality | None", quality),
            background=cast("Background | None", background),
            output_format=cast("OutputFormat | None", output_format),
            input_images=images,
        )
    except (OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    chosen = list(PROVIDERS) if not providers or "all" in providers else list(providers)
    rows = quote_rows(request, chosen, on)
    click.echo(json.dumps(rows, indent=2) if as_json else render_table(rows))
    return 0


@cli.command()
def demo() -> int:
    """Start the emulators, exercise every provider, print what came back."""
    from pixelmock.emulators.tools.demo import run_demo

    return run_demo()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0 picks one")
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path), help="write the port here")
@click.option(
    "--provider",
    "providers",
    multiple=True,
    type=click.Choice(PROVIDERS),
    help="forward only this provider (repeatable)  [default: all]",
)
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    metavar="PROVIDER=URL",
    help="forward this provider to URL instead of its real base URL (repeatable)",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="write every exchange as a scrubbed cassette under this folder (<dir>/<provider>/...)",
)
@click.option(
    "--errors", is_flag=True, help="answer a request the contract refuses with the provider's 4xx, unsent"
)
@click.option(
    "--fetch-images", is_flag=True, help="with --record, also record the images answers name by URL"
)
@tls_options
def proxy(
    host: str,
    port: int,
    port_file: Path | None,
    providers: tuple[str, ...],
    upstreams: tuple[str, ...],
    record_dir: Path | None,
    errors: bool,
    fetch_images: bool,
    tls: bool | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca_out: Path | None,
) -> int:
    """Forward every provider prefix to the real provider (your own credentials, passed through, never
    stored), check both directions against the contracts (X-Pixelmock-Violations) and record cassettes."""
    from pixelmock.emulators.tools.proxy import parse_upstreams, run_proxy
    from pixelmock.emulators.tools.server import PortInUse

    try:
        table = parse_upstreams(upstreams)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        with https(host, tls, tls_cert, tls_key, tls_ca_out) as files:
            run_proxy(
                table, host, port, record_dir, errors, fetch_images, providers or None, port_file, files
            )
    except PortInUse as exc:
        raise CannotServe(str(exc)) from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    return 0


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "form", type=click.Choice(FORMATS), default="text", help="report format")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="write the report to this file  [default: stdout]",
)
@click.option(
    "--drift",
    is_flag=True,
    help="also send each recorded request to a fresh emulator and name each difference from the recorded "
    "answer (status, body shape, cost)",
)
def verify(paths: tuple[Path, ...], form: str, output: Path | None, drift: bool) -> int:
    """Check cassettes (files or folders) against the contracts: exit 0 when all are fine, 1 for drift, 2
    for unreadable input or nothing checked."""
    if drift:  # the drift report runs the emulators: only then is Flask imported
        from pixelmock.emulators.tools.drift import run
    else:
        from pixelmock.emulators.tools.verify import run  # type: ignore[assignment]

    if output is None:
        return run(paths, sys.stdout, form)
    try:
        with output.open("w", encoding="utf-8") as out:
            return run(paths, out, form)
    except OSError as exc:
        raise click.FileError(str(output), exc.strerror) from None


def quote_rows(request: CanonicalRequest, providers: Sequence[str], on: dt.date) -> list[dict[str, Any]]:
    """One JSON-ready row per provider, priced on day ``on``: ``provider``, ``model``, ``usd`` (decimal
    string or null), ``credits`` (int or null), ``tokens``, ``resolved``, ``billed``, ``notes``,
    ``shut_down`` (the model's shutdown date at that provider when it has passed on ``on``, else null;
    the provider would refuse the request), ``upper_bound`` (``{"usd", "credits", "billed"}`` when what the
    request leaves to the model, ``auto``, could cost more than the likely answer priced in ``usd`` and
    ``credits``; else null) — or ``error`` when the provider cannot express the request."""
    rows: list[dict[str, Any]] = []
    for provider in providers:
        dialect = get_dialect(provider)
        try:
            quote = dialect.quote(request, on)
        except UnsupportedValue as exc:
            rows.append({"provider": provider, "model": request.model, "error": unsupported_text(exc)})
            continue
        row = _row(quote, on)
        upper = dialect.quote(request, on, UPPER_BOUND)
        if (upper.usd, upper.credits) != (quote.usd, quote.credits):
            row["upper_bound"] = {
                "usd": None if upper.usd is None else str(upper.usd),
                "credits": upper.credits,
                "billed": {"quality": upper.billed_quality, "size": upper.billed_size},
            }
        rows.append(row)
    return rows


def unsupported_text(exc: UnsupportedValue) -> str:
    """One line for a value a provider refuses, in the user's terms: ``size auto is not supported:
    openai/gpt-image-1.5 accepts 256x256, ...`` (the field and value as the flags name them, no Python
    quoting)."""
    return f"{exc.field} {exc.value} is not supported: {exc.reason}"


def _row(quote: Quote, on: dt.date) -> dict[str, Any]:
    resolved = quote.resolved
    found = lifecycle(quote.provider, quote.model)
    gone = found if found is not None and found.shut_down_on(on) else None
    shut_down = None if gone is None else gone.shutdown
    notes = list(quote.notes)
    if gone is not None:
        notes.insert(
            0,
            f"{quote.model} is shut down at {quote.provider} since {shut_down} ({gone.evidence}): "
            "it refuses this request",
        )
    return {
        "provider": quote.provider,
        "model": quote.model,
        "usd": None if quote.usd is None else str(quote.usd),
        "credits": quote.credits,
        "tokens": quote.tokens.as_dict(),
        "resolved": {
            "model": resolved.model,
            "n": resolved.n,
            "size": resolved.size,
            "quality": resolved.quality,
            "background": resolved.background,
            "output_format": resolved.output_format,
            "output_compression": resolved.output_compression,
            "moderation": resolved.moderation,
            "input_fidelity": resolved.input_fidelity,
            "input_images": len(resolved.input_images),
        },
        "billed": {"quality": quote.billed_quality, "size": quote.billed_size},
        "notes": notes,
        "shut_down": None if shut_down is None else shut_down.isoformat(),
        "upper_bound": None,
    }


def _amount(priced: dict[str, Any]) -> str:
    """``$0.12345`` or ``24 credits`` (or ``-``) of a row or its upper bound."""
    if priced["usd"] is not None:
        return f"${float(priced['usd']):.5f}"
    return "-" if priced["credits"] is None else f"{priced['credits']} credits"


def render_table(rows: list[dict[str, Any]]) -> str:
    """The side-by-side table ``pixelmock cost`` prints for people."""
    header = ("provider", "model", "billed", "USD", "credits", "upper bound", "tokens in/img/out", "notes")
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        if "error" in row:
            lines.append((row["provider"], row["model"], "-", "-", "-", "-", "-", row["error"]))
            continue
        tokens = row["tokens"]
        billed = f"{row['resolved']['n']} x {row['billed']['size']} {row['billed']['quality']}"
        upper = row["upper_bound"]
        lines.append(
            (
                row["provider"],
                row["model"],
                billed,
                "-" if row["usd"] is None else f"${float(row['usd']):.5f}",
                "-" if row["credits"] is None else str(row["credits"]),
                "-"
                if upper is None
                else f"{_amount(upper)} ({upper['billed']['size']} {upper['billed']['quality']})",
                f"{tokens['text_input']}/{tokens['image_input']}/{tokens['image_output']}",
                "; ".join(row["notes"]),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
