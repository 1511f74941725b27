"""Runware's WebSocket transport: connections, sessions, buffered delivery, resume, the idle timeout.

Protocol-free: what a frame means (authentication, ping, tasks) and what to answer is decided in
``emulators/runware.py``; this module keeps the connection-level promises of the contract's
``x-websocket`` block (research/runware.md §2):

- a connection is closed after ``idle_timeout_seconds`` (120) without a message either way, measured on
  the virtual clock: advancing ``rt.clock`` past it closes an idle connection within ``POLL_SECONDS``;
- an authenticated connection belongs to a ``Session`` (its ``connectionSessionUUID``). Frames for a
  session that cannot be sent (the client went away) are buffered, and a connection that authenticates
  with that session's UUID within ``resume_buffer_seconds`` (120) of the drop receives them, in order,
  right after the authentication reply.

Sessions are records of the runtime store (namespace ``SESSIONS``), so a store reset drops them. A session
holds its live connection, so sessions are process-local like the sockets themselves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from simple_websocket import ConnectionClosed  # type: ignore[import-untyped]

from pixelmock.emulators.runtime.clock import Clock
from pixelmock.emulators.runtime.ids import new_uuid
from pixelmock.emulators.runtime.store import Store

SESSIONS = "runware.ws_sessions"
#: How often (real seconds) a connection waiting for a message checks the virtual clock for idleness.
POLL_SECONDS = 0.2
MAX_CLOSE_REASON_BYTES = 123

Frame = dict[str, Any]


class Connection:
    """One WebSocket connection (a ``simple_websocket`` server socket, as flask-sock hands it over) and
    the virtual time of its last exchanged message. ``send`` is thread-safe."""

    def __init__(self, ws: Any, clock: Clock) -> None:
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
            except (ConnectionClosed, OSError):
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

    def receive(self, idle_seconds: float, close_code: int, close_reason: str) -> str | bytes | None:
        """The next message, or ``None`` once the connection is closed: by the client, or here after
        ``idle_seconds`` of the virtual clock without a message either way (closing with
        ``close_code``/``close_reason``)."""
        while True:
            try:
                message: str | bytes | None = self._ws.receive(timeout=POLL_SECONDS)
            except (ConnectionClosed, OSError):
                return None
            if message is not None:
                with self._lock:
                    self.last_exchange = max(self.last_exchange, self._clock.now())
                return message
            if not self._ws.connected:
                return None
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
            with contextlib.suppress(ConnectionClosed, OSError):
                self._ws.close(reason=code, message=short)
            with contextlib.suppress(OSError, AttributeError):
                self._ws.sock.shutdown(socket.SHUT_WR)


@dataclass(eq=False)
class Session:
    """An authenticated WebSocket session: its ``uuid`` (the ``connectionSessionUUID``), the account it
    belongs to, its current connection (``None`` while the client is away, since ``detached_at``) and the
    frames waiting for a resume."""

    uuid: str
    account_id: str
    connection: Connection | None = None
    detached_at: dt.datetime | None = None
    buffer: list[Frame] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def deliver(self, frame: Frame, clock: Clock) -> None:
        """Send ``frame`` to the session's connection, or buffer it when there is none or the send
        fails (the connection is then taken as gone, from now)."""
        with self.lock:
            if self.connection is not None and self.connection.send(frame):
                return
            if self.connection is not None:
                self.connection, self.detached_at = None, clock.now()
            self.buffer.append(frame)

    def attach(self, connection: Connection, greeting: Frame, clock: Clock) -> None:
        """Make ``connection`` the session's (taking it over from any earlier one), send ``greeting``
        (the authentication reply), then every buffered frame in order."""
        with self.lock:
            self.connection, self.detached_at = connection, None
            pending, self.buffer = [greeting, *self.buffer], []
            for index, frame in enumerate(pending):
                if not connection.send(frame):
                    self.connection, self.detached_at = None, clock.now()
                    self.buffer = [f for f in pending[index:] if f is not greeting]
                    return

    def detach(self, connection: Connection, clock: Clock) -> None:
        """The connection ended: buffer from now on (unless another connection already took over)."""
        with self.lock:
            if self.connection is connection:
                self.connection, self.detached_at = None, clock.now()

    def expired(self, clock: Clock, keep_seconds: float) -> bool:
        """Detached for longer than ``keep_seconds`` (virtual clock): no longer resumable."""
        with self.lock:
            return (
                self.connection is None
                and self.detached_at is not None
                and (clock.now() - self.detached_at).total_seconds() > keep_seconds
            )


def open_session(
    store: Store,
    clock: Clock,
    account_id: str,
    keep_seconds: float,
    resume: str | None = None,
) -> tuple[Session, bool]:
    """The session for a successful authentication and whether it is a resume: the session ``resume``
    names when it exists, belongs to ``account_id`` and has not expired; otherwise a new one. Expired
    sessions are dropped first."""
    for stale in store.values(SESSIONS):
        if stale.expired(clock, keep_seconds):
            store.delete(SESSIONS, stale.uuid)
    if resume:
        found: Session | None = store.get(SESSIONS, resume)
        if found is not None and found.account_id == account_id:
            return found, True
    session = Session(str(new_uuid()), account_id)
    store.put(SESSIONS, session.uuid, session)
    return session, False
