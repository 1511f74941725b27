"""Runware's WebSocket transport: connections, sessions, buffered delivery, resume, the idle timeout.

Protocol-free: what a frame means (authentication, ping, tasks) and what to answer is decided in
``emulators/providers/runware/websocket.py``; this module keeps the connection-level promises of the
contract's ``x-websocket`` block (https://runware.ai/docs/platform/authentication, WebSockets):

- a connection is closed after ``idle_timeout_seconds`` (120) without a message either way, measured on
  the virtual clock: advancing ``rt.clock`` past it closes an idle connection within ``POLL_SECONDS``;
- an authenticated connection belongs to a ``Session`` (its ``connectionSessionUUID``). Frames for a
  session that cannot be sent (the client went away) are buffered, and a connection that authenticates
  with that session's UUID within ``resume_buffer_seconds`` (120) of the drop receives them, in order,
  right after the authentication reply.

Sessions are records of the runtime store (namespace ``SESSIONS``: uuid, account, the id of the
connection holding it, ``detached_at``, the buffered frames), so a store reset drops them and a session
opened on one worker (or host) sharing the store resumes on another. Live connections stay in the
process that accepted them (``Sessions``, one per app). A frame produced for a session whose connection
is held by another worker, or by none, is appended to the record's buffer; the holding connection
sends what is buffered before its next frame and at least every ``POLL_SECONDS`` while it waits
(``Sessions.flush``), and a resume takes the buffer whole: each frame is sent once, in the order it was
buffered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.store import Store

SESSIONS = "runware.ws_sessions"
#: How often (real seconds) a connection waiting for a message checks the virtual clock for idleness.
POLL_SECONDS = 0.2
MAX_CLOSE_REASON_BYTES = 123

Frame = dict[str, Any]


def _closed() -> tuple[type[BaseException], ...]:
    """What using a closed connection raises: simple-websocket's ``ConnectionClosed`` (imported with the
    first connection: flask-sock and simple-websocket are not imported at start-up) and ``OSError``."""
    from simple_websocket import ConnectionClosed  # type: ignore[import-untyped]

    return (ConnectionClosed, OSError)


class Connection:
    """One WebSocket connection (a ``simple_websocket`` server socket, as flask-sock hands it over), its
    ``id`` (unique across workers) and the virtual time of its last exchanged message. ``send`` is
    thread-safe."""

    def __init__(self, ws: Any, clock: Clock) -> None:
        self.id = new_uuid().hex
        self._ws = ws
        self._clock = clock
        self._lock = threading.Lock()
        self.last_exchange = clock.now()
        self._cut_next = False
        self._log: list[Frame] | None = None

    def send(self, frame: Frame) -> bool:
        """Send ``frame`` as one JSON text frame; ``False`` when the connection is gone."""
        text = json.dumps(frame, separators=(",", ":"))
        with self._lock:
            if self._cut_next:  # a ``malformed`` fault: this frame's text is cut in half
                text, self._cut_next = text[: max(1, len(text) // 2)], False
            sent_at = self._clock.now()  # before sending: the client may act (and move the clock) at once
            try:
                self._ws.send(text)
            except _closed():
                return False
            self.last_exchange = max(self.last_exchange, sent_at)
            if self._log is not None:
                self._log.append(frame)
        return True

    @contextlib.contextmanager
    def logging_into(self, frames: list[Frame]) -> Iterator[None]:
        """Append every frame sent while the block runs to ``frames`` (for the journal)."""
        with self._lock:
            self._log = frames
        try:
            yield
        finally:
            with self._lock:
                self._log = None

    def receive(
        self,
        idle_seconds: float,
        close_code: int,
        close_reason: str,
        waiting: Callable[[], None] | None = None,
    ) -> str | bytes | None:
        """The next message, or ``None`` once the connection is closed: by the client, or here after
        ``idle_seconds`` of the virtual clock without a message either way (closing with
        ``close_code``/``close_reason``). ``waiting()`` runs every ``POLL_SECONDS`` without a message
        (it may send: what other workers buffered for the connection's session)."""
        while True:
            try:
                message: str | bytes | None = self._ws.receive(timeout=POLL_SECONDS)
            except _closed():
                return None
            if message is not None:
                with self._lock:
                    self.last_exchange = max(self.last_exchange, self._clock.now())
                return message
            if not self._ws.connected:
                return None
            if waiting is not None:
                waiting()
            if (self._clock.now() - self.last_exchange).total_seconds() >= idle_seconds:
                self.close(close_code, close_reason)
                return None

    def cut_next(self) -> None:
        """Cut the next frame sent in half (a ``malformed`` fault): the client receives invalid JSON."""
        with self._lock:
            self._cut_next = True

    def drop(self) -> None:
        """End the TCP connection without a close frame (a ``drop`` fault): the client sees an abnormal
        closure (1006). The session, if any, buffers what follows, as for any lost connection."""
        with self._lock, contextlib.suppress(OSError, AttributeError):
            self._ws.sock.shutdown(socket.SHUT_RDWR)

    def close(self, code: int, reason: str) -> None:
        """Close the connection (no error when it is already closed). A close reason has at most 123
        bytes (RFC 6455 §5.5); longer ones are cut.

        After the close frame the server's side of the TCP stream is shut down, as RFC 6455 §7.1.1 wants
        the server to end the TCP connection first: otherwise a client waiting for the end of the stream
        and a WSGI server still reading the socket (Werkzeug) would wait for each other.
        """
        short = reason.encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
        with self._lock:
            with contextlib.suppress(*_closed()):
                self._ws.close(reason=code, message=short)
            with contextlib.suppress(OSError, AttributeError):
                self._ws.sock.shutdown(socket.SHUT_WR)


#: ``Session.account_id`` of a record written back by a change that found the session gone (a reset, an
#: expiry): it is deleted at once and never resumed.
_GONE = ""
_GONE_AT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Locks (per process) ordering the sends of one session: a session uses ``hash(uuid) % _STRIPES``.
_STRIPES = 64


@dataclass(frozen=True)
class Session:
    """An authenticated WebSocket session, as the store keeps it: its ``uuid`` (the
    ``connectionSessionUUID``), the account it belongs to, the ``holder`` (``Connection.id`` of the
    connection it is attached to, on whichever worker; ``None`` while the client is away, since
    ``detached_at``) and the frames waiting to be sent (``buffer``, oldest first)."""

    uuid: str
    account_id: str
    holder: str | None = None
    detached_at: dt.datetime | None = None
    buffer: tuple[Frame, ...] = ()

    def expired(self, now: dt.datetime, keep_seconds: float) -> bool:
        """Detached for longer than ``keep_seconds`` at ``now`` (virtual clock): no longer resumable."""
        return (
            self.holder is None
            and self.detached_at is not None
            and (now - self.detached_at).total_seconds() > keep_seconds
        )


class Sessions:
    """One app's side of the WebSocket sessions: the records in ``store`` (every worker's), this process's
    live connections (``connect``/``disconnect``), and the clock ``detached_at`` and expiry are read on.
    A session is resumable for ``keep_seconds`` after its connection was lost."""

    def __init__(self, store: Store, clock: Clock, keep_seconds: float) -> None:
        self._store = store
        self._clock = clock
        self.keep_seconds = keep_seconds
        self._connections: dict[str, Connection] = {}
        self._locks = tuple(threading.RLock() for _ in range(_STRIPES))

    def _lock(self, uuid: str) -> threading.RLock:
        return self._locks[hash(uuid) % _STRIPES]

    def connect(self, connection: Connection) -> None:
        """A connection accepted by this process: frames for a session it holds are sent to it."""
        self._connections[connection.id] = connection

    def disconnect(self, connection: Connection, session: str | None) -> None:
        """The connection ended: its session (``session``: uuid, if authenticated) buffers from now on,
        unless another connection already took it over."""
        if session is not None:
            self.detach(session, connection)
        self._connections.pop(connection.id, None)

    def _change(self, uuid: str, fn: Callable[[Session], Session]) -> Session | None:
        """Atomically replace the record of ``uuid`` by ``fn(record)``; ``None`` (nothing changed) when it
        is gone: dropped by a reset or an expiry meanwhile."""

        def change(old: Session | None) -> Session:
            return fn(old) if old is not None and old.account_id != _GONE else _gone(uuid)

        new: Session = self._store.update(SESSIONS, uuid, change)
        if new.account_id == _GONE:
            self._store.delete(SESSIONS, uuid)
            return None
        return new

    def authenticate(
        self, connection: Connection, account_id: str, greeting: Callable[[str], Frame], resume: str | None
    ) -> str:
        """Attach ``connection`` to the session ``resume`` names when it exists, belongs to ``account_id``
        and has not expired (taking it over from any earlier connection, on any worker), else to a new
        one; send ``greeting(uuid)`` (the authentication reply), then every buffered frame in order.
        Returns the session's uuid. Expired sessions are dropped first."""
        now = self._clock.now()
        for stale in self._store.values(SESSIONS):
            if stale.expired(now, self.keep_seconds):
                self._store.delete(SESSIONS, stale.uuid)
        found: Session | None = self._store.get(SESSIONS, resume) if resume else None
        if resume and found is not None and found.account_id == account_id:
            taken: list[Frame] = []

            def take_over(old: Session) -> Session:
                taken[:] = old.buffer
                return replace(old, holder=connection.id, detached_at=None, buffer=())

            with self._lock(resume):
                if self._change(resume, take_over) is not None:
                    self._send_all(resume, connection, [greeting(resume), *taken], first_buffered=1)
                    return resume
        session = Session(str(new_uuid()), account_id, holder=connection.id)
        self._store.put(SESSIONS, session.uuid, session)
        self._send_all(session.uuid, connection, [greeting(session.uuid)], first_buffered=1)
        return session.uuid

    def deliver(self, uuid: str, frame: Frame, via: Connection) -> None:
        """Send ``frame`` for the session ``uuid``: to its connection when this process holds it (after
        what is buffered), else into the buffer (the holder on another worker, or a resume, sends it).
        A failed send detaches the session from now and buffers the frames not sent. ``via``: the
        connection that produced the frame, which answers when a reset dropped the session."""
        with self._lock(uuid):
            record: Session | None = self._store.get(SESSIONS, uuid)
            if record is None:
                via.send(frame)
                return
            connection = self._connections.get(record.holder) if record.holder is not None else None
            if connection is None:
                self._change(uuid, lambda old: replace(old, buffer=(*old.buffer, frame)))
                return
            pending = self._take(uuid, connection) if record.buffer else []
            self._send_all(uuid, connection, [*pending, frame])

    def flush(self, uuid: str, connection: Connection) -> None:
        """Send ``connection`` what was buffered for the session ``uuid`` while it holds it (frames that
        other workers produced); cheap when nothing is buffered."""
        record: Session | None = self._store.get(SESSIONS, uuid)
        if record is None or not record.buffer or record.holder != connection.id:
            return
        with self._lock(uuid):
            self._send_all(uuid, connection, self._take(uuid, connection))

    def detach(self, uuid: str, connection: Connection) -> None:
        """``connection`` no longer serves the session ``uuid``: it buffers from now on (unless another
        connection already took over)."""
        self._lose(uuid, connection, ())

    def _take(self, uuid: str, connection: Connection) -> list[Frame]:
        """Empty the buffer of the session ``uuid`` if ``connection`` holds it; the frames it held."""
        taken: list[Frame] = []

        def take(old: Session) -> Session:
            held = old.holder == connection.id
            taken[:] = old.buffer if held else ()
            return replace(old, buffer=()) if held else old

        self._change(uuid, take)
        return taken

    def _send_all(
        self, uuid: str, connection: Connection, frames: Sequence[Frame], first_buffered: int = 0
    ) -> None:
        """Send ``frames`` in order; at the first that fails the connection is taken as gone, from now: the
        session is detached (if it still holds it) and the frames not sent, from ``first_buffered`` on,
        go back to the front of the buffer (they are older than what is there)."""
        for index, frame in enumerate(frames):
            if not connection.send(frame):
                self._lose(uuid, connection, tuple(frames[max(index, first_buffered) :]))
                return

    def _lose(self, uuid: str, connection: Connection, unsent: tuple[Frame, ...]) -> None:
        """``connection`` no longer serves the session ``uuid``: detached from now if it still held it, and
        ``unsent`` put at the front of the buffer."""
        now = self._clock.now()

        def lost(old: Session) -> Session:
            if old.holder != connection.id:
                return replace(old, buffer=(*unsent, *old.buffer)) if unsent else old
            return replace(old, holder=None, detached_at=now, buffer=(*unsent, *old.buffer))

        with self._lock(uuid):
            self._change(uuid, lost)


def _gone(uuid: str) -> Session:
    return Session(uuid, _GONE, None, _GONE_AT)
