"""``python -m pixelmock.emulators.tools.health``: exit 0 when the local ``pixelmock serve`` answers
``GET /__health`` with status ok, else 1 (the container image's ``HEALTHCHECK``). The port is
``$PIXELMOCK_PORT`` (default 8080); with ``$PIXELMOCK_TLS`` true it asks over HTTPS without verifying
the certificate (it only asks whether this machine's own server answers). Standard library only."""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.request


def healthy(port: int, tls: bool, timeout: float = 2.0) -> bool:
    """Whether ``http(s)://127.0.0.1:<port>/__health`` answers ``{"status": "ok", ...}``."""
    scheme = "https" if tls else "http"
    context = ssl._create_unverified_context() if tls else None  # our own server, on loopback
    try:
        with urllib.request.urlopen(
            f"{scheme}://127.0.0.1:{port}/__health", timeout=timeout, context=context
        ) as r:
            return bool(json.load(r).get("status") == "ok")
    except (OSError, ValueError):
        return False


def main() -> int:
    """The exit status of the check."""
    port = int(os.environ.get("PIXELMOCK_PORT", "").strip() or 8080)
    tls = os.environ.get("PIXELMOCK_TLS", "").strip().lower() in ("1", "true", "yes", "on")
    return 0 if healthy(port, tls) else 1


if __name__ == "__main__":
    sys.exit(main())
