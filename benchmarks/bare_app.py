"""The framework baseline: a bare Flask app on the same server as ``pixelmock serve``.

Every POST reads and parses its JSON body (as any JSON handler must) and every request gets one fixed
JSON answer; nothing is validated, priced or rendered. Served by ``pixelmock.emulators.tools.server.serve``
(gunicorn, gevent workers: one unless ``--workers`` says more), so it follows ``pixelmock serve``'s
production settings exactly.

``python -m benchmarks.bare_app --port 8090 [--workers 2]``
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, Response, jsonify, request

#: The fixed answer; ``jobId`` lets the Apiframe mix's follow-up find something to poll.
BODY: dict[str, Any] = {"id": "bare", "jobId": "bare", "status": "ok"}


def create_bare_app() -> Flask:
    """A Flask app answering ``BODY`` (HTTP 200) to any GET or POST on any path."""
    app = Flask("pixelmock-bare")
    app.extensions["pixelmock.providers"] = []  # what emulators.tools.server.serve lists when ready

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path: str) -> Response:
        if request.method == "POST":
            request.get_json(force=True, silent=True)
        return jsonify(BODY)

    return app


def main() -> None:
    """Serve the bare app on 127.0.0.1 until SIGTERM."""
    from pixelmock.emulators.tools.server import serve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (stateless: any number)")
    args = parser.parse_args()
    serve(create_bare_app, "127.0.0.1", args.port, workers=args.workers)


if __name__ == "__main__":
    main()
