"""The ``pixelmock`` command.

- ``pixelmock serve``: every provider's emulator on one port, on gunicorn (one gevent worker: state is
  in memory, so one process; a held connection costs a greenlet), until Ctrl-C or SIGTERM. Exit status 2
  when the port is taken.
- ``pixelmock cost``: price one request at one provider or all of them, side by side.
- ``pixelmock demo``: start the emulators on their defaults on 127.0.0.1, send every provider a request
  for each model it sells, check the images that come back, print a table, stop.
- ``pixelmock verify PATH...``: check cassettes against the contracts (``pixelmock.contracts.verify``).

Only ``serve`` imports Flask and gunicorn; ``cost``, ``verify`` and ``demo`` run where gunicorn cannot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

from pixelmock.contracts.canonical import (
    BACKGROUNDS,
    MODELS,
    OUTPUT_FORMATS,
    QUALITIES,
    CanonicalRequest,
    ImageInput,
)
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.lifecycle import lifecycle
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.contracts.pricing import UPPER_BOUND, Quote
from pixelmock.emulators.config import today_from_env
from pixelmock.emulators.runtime.latency import PROFILES
from pixelmock.emulators.server import DEFAULT_CONNECTIONS, DEFAULT_READ_TIMEOUT

#: The model ``pixelmock cost`` prices when none is given: one every provider still sells.
DEFAULT_COST_MODEL = "gpt-image-2"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pixelmock`` console script; returns the exit status."""
    from pixelmock import __version__

    parser = argparse.ArgumentParser(prog="pixelmock", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pixelmock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the emulators until Ctrl-C / SIGTERM")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--port-file", help="write the port to this file once serving (removed on exit)")
    serve.add_argument("--provider", choices=PROVIDERS, action="append", help="serve only this provider")
    serve.add_argument(
        "--connections",
        type=int,
        default=DEFAULT_CONNECTIONS,
        help=f"connections served at once, WebSockets included (default {DEFAULT_CONNECTIONS})",
    )
    serve.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT,
        help="seconds a client has to send a request's head, and again its body, before its connection "
        f"is closed unanswered (default {DEFAULT_READ_TIMEOUT:g})",
    )
    serve.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        help="start the virtual clock on this date (default: $PIXELMOCK_TODAY, else today)",
    )
    serve.add_argument(
        "--latency",
        choices=PROFILES,
        default="instant",
        help="how long generations take: instant (default), realistic (documented latencies), manual "
        "(nothing moves until the clock is advanced through /__admin/)",
    )
    serve.add_argument(
        "--speed", type=float, default=1.0, help="divide realistic latencies by this (default 1)"
    )

    cost = commands.add_parser("cost", help="price a request at one or more providers")
    cost.add_argument("--provider", action="append", help="provider name, repeatable, or 'all' (default all)")
    cost.add_argument(
        "--model", choices=MODELS, default=DEFAULT_COST_MODEL, help=f"(default {DEFAULT_COST_MODEL})"
    )
    cost.add_argument("--prompt", required=True)
    cost.add_argument("--size", help="WxH in pixels, or auto")
    cost.add_argument("--quality", choices=QUALITIES)
    cost.add_argument("--n", type=int, help="number of images")
    cost.add_argument("--background", choices=BACKGROUNDS)
    cost.add_argument("--output-format", choices=OUTPUT_FORMATS)
    cost.add_argument("--input-image", action="append", default=[], help="input image file (repeatable)")
    cost.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        help="price as of this date (default: $PIXELMOCK_TODAY, else today)",
    )
    cost.add_argument("--json", action="store_true", help="print JSON instead of a table")

    commands.add_parser("demo", help="start the emulators, exercise every provider, print what came back")

    verify = commands.add_parser("verify", help="check cassettes against the contracts (exit 1 on drift)")
    verify.add_argument("paths", nargs="+", metavar="PATH", help="cassette files or folders of them")

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "cost":
        return _cost(args)
    if args.command == "verify":
        from pixelmock.contracts.verify import run

        return run(args.paths)
    from pixelmock.emulators.demo import run_demo

    return run_demo()


def _serve(args: argparse.Namespace) -> int:
    from functools import partial

    from pixelmock.emulators.app import create_app
    from pixelmock.emulators.config import EmulatorConfig
    from pixelmock.emulators.server import PortInUse, serve

    # The ticker moves due work (job progress, webhook retries) for clients that only wait for webhooks.
    config = EmulatorConfig(latency_profile=args.latency, speed_factor=args.speed, tick_seconds=1.0)
    if args.date is not None:
        config.today = args.date
    # The app is built where it is served: in gunicorn's worker, after gevent's patching.
    factory = partial(create_app, config, providers=args.provider)
    try:
        serve(factory, args.host, args.port, connections=args.connections, read_timeout=args.read_timeout,
              port_file=args.port_file)  # fmt: skip
    except PortInUse as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def _providers(names: list[str] | None) -> list[str]:
    if not names or "all" in names:
        return list(PROVIDERS)
    unknown = sorted(set(names) - set(PROVIDERS))
    if unknown:
        raise SystemExit(f"pixelmock cost: unknown provider(s) {', '.join(unknown)}; choose from {PROVIDERS}")
    return names


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
            rows.append({"provider": provider, "model": request.model, "error": str(exc)})
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


def _cost(args: argparse.Namespace) -> int:
    request = CanonicalRequest(
        model=args.model,
        prompt=args.prompt,
        n=args.n,
        size=args.size,
        quality=args.quality,
        background=args.background,
        output_format=args.output_format,
        input_images=tuple(ImageInput.from_path(path) for path in args.input_image),
    )
    on = args.date or today_from_env() or dt.date.today()
    rows = quote_rows(request, _providers(args.provider), on)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render_table(rows))
    return 0


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
