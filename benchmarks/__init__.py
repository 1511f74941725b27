"""pixelmock benchmarks (``python -m benchmarks``): is the emulator ever the slow part of a test suite?

One command starts each target on 127.0.0.1 (``pixelmock serve``, Stoplight Prism mocking the same
provider's OpenAPI document, a bare Flask app on the same gunicorn settings), checks that it answers
correctly, loads it with ``wrk`` for a fixed, bounded time, stops it by its process id and prints one
table, together with in-process figures (``httpx.WSGITransport``, cost quotes, image encoding), start-up
time and resident memory after 10,000 jobs. Method and results: ``BENCHMARKS.md``.

Modules: ``mixes`` (the request mixes, one source for wrk and Python), ``targets`` (processes: start,
readiness, stop), ``load`` (wrk runs), ``inprocess`` (no socket), ``run`` (the command and its table),
``bare_app`` (the framework baseline).
"""
