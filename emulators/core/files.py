"""The file store: generated images kept in memory and served by the emulator at ``/files/<id>.<ext>``.

A file may expire (Runware ``ttl``, Apiframe retention): after its ``expires_at`` on the virtual clock it
answers 404.

A file's URL starts with the address the client reached: the request's ``Host``. A client that leaves the
port out of ``Host`` while talking to a loopback server on another port (``simple_websocket`` 1.1.0's
WebSocket client sends ``Host: 127.0.0.1``; RFC 9110 §7.2 wants the port) would otherwise get URLs on port
80 that nothing serves, so for a loopback host named without a port the connection's own port is used.
A non-loopback host is left as sent: behind a proxy, the port the client reached is not this socket's.

``put`` keeps the bytes it is given. ``put_image`` keeps only the ``ImageSpec`` and renders on read: the
renderer is deterministic, so the bytes served are the same, and a job whose image URL is never fetched
costs neither the rendering time nor the image's memory (about 50-70 kB per 1024x1024 JPEG kept by
``put``; see BENCHMARKS.md).

Files are records of the state store (namespace ``NAMESPACE``): bounded by ``EmulatorConfig.max_records``
and counted against the ``results`` byte budget (``results_max_bytes``, with Runware's tasks); an evicted
file answers 404 like an expired one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.exchange import LOCAL_ORIGIN, current
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.images import MIME_TYPES, ImageSpec, render
from pixelmock.emulators.core.store import Put, Store

NAMESPACE = "files"
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif", "svg": "svg"}


@dataclass(frozen=True)
class StoredFile:
    """A served image: ``id``, ``url`` (absolute, on this emulator), ``output_format``, ``mime``,
    ``content`` (the bytes, or the ``ImageSpec`` they are rendered from), ``expires_at`` (aware UTC
    datetime or ``None``)."""

    id: str
    url: str
    output_format: str
    mime: str
    content: bytes | ImageSpec
    expires_at: dt.datetime | None

    @property
    def data(self) -> bytes:
        """The file's bytes (rendered now when only the spec is kept; renders are cached)."""
        return self.content if isinstance(self.content, bytes) else render(self.content)


class FileStore:
    """Keeps generated files in the ``Store`` and builds their URLs from the current exchange's origin
    (``Exchange.origin``: the request's host, see the module docstring)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def put(self, data: bytes, output_format: str, ttl_seconds: int | None = None) -> StoredFile:
        """Store image bytes; inside an exchange the URL uses its origin (``http://host/files/..``)."""
        return self._put(data, output_format, ttl_seconds)

    def put_image(self, spec: ImageSpec, ttl_seconds: int | None = None) -> StoredFile:
        """Store the image ``spec`` describes without rendering it: it is rendered when read. Same URL
        and bytes as ``put(render(spec), spec.output_format, ttl_seconds)``."""
        return self._put(spec, spec.output_format, ttl_seconds)

    def _put(self, content: bytes | ImageSpec, output_format: str, ttl_seconds: int | None) -> StoredFile:
        file_id = str(new_uuid())
        ext = EXTENSIONS[output_format]
        exchange = current()
        root = exchange.origin if exchange is not None else LOCAL_ORIGIN
        expires = self._clock.now() + dt.timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None
        stored = StoredFile(
            id=file_id,
            url=f"{root}files/{file_id}.{ext}",
            output_format=output_format,
            mime=MIME_TYPES[output_format],
            content=content,
            expires_at=expires,
        )
        self._store.write_many([Put(NAMESPACE, file_id, stored)])  # held to the request's end on Redis
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file if it exists and has not expired on the virtual clock."""
        stored: StoredFile | None = self._store.get(NAMESPACE, file_id)
        if stored is None or (stored.expires_at is not None and stored.expires_at <= self._clock.now()):
            return None
        return stored
