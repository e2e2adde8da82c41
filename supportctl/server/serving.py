"""`supportctl serve`: the REST API's WSGI app on waitress, stopped with a drain.

Waitress does the HTTP/1.1 work (keep-alive, strict chunked parsing, header and body limits,
a pool of worker threads). What is ours: its own errors (a malformed chunk, a body or header
over the limit) answered as RFC 9457 problem+json and logged like every other request; a
request with both Content-Length and Transfer-Encoding refused; and a stop on SIGTERM or
SIGINT that lets the requests in flight finish before the process exits.

Imported only by `supportctl serve` and the tests; ``supportctl.server.wsgi:app`` hosts the
same app under any other WSGI server.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.receiver import ChunkedReceiver
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge, RequestHeaderFieldsTooLarge

from supportctl import __version__
from supportctl.errors import ExitStatus
from supportctl.server.app import MAX_BODY_BYTES, STATUS_TEXT

#: Request line and header fields together, at most (a longer head is refused with 431).
MAX_HEADER_BYTES = 64 * 1024
#: Header fields in one request, at most (more are refused with 431).
MAX_HEADER_FIELDS = 100
#: Seconds an idle keep-alive connection stays open.
IDLE_TIMEOUT = 60
#: Seconds a stop waits for requests in flight before hanging up on them.
DRAIN_TIMEOUT = 30.0


class _Chunks(ChunkedReceiver):
    """A chunk announced larger than the whole body may be is refused at its size line."""

    def received(self, s: bytes) -> int:
        consumed = super().received(s)
        if self.chunk_remainder > MAX_BODY_BYTES and self.error is None:
            self.error = RequestEntityTooLarge("chunk over the body limit")
            self.all_chunks_received = True
        return consumed


class _Parser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> None:
        if header_plus.count(b"\n") > MAX_HEADER_FIELDS:
            super().parse_header(b"GET / HTTP/1.1\r\n")  # as waitress does for a long head
            self.error = RequestHeaderFieldsTooLarge(
                f"a request may have at most {MAX_HEADER_FIELDS} header fields"
            )
            return
        super().parse_header(header_plus)
        # RFC 9112 §6.3: both framings at once is how requests are smuggled past a proxy;
        # refused (400), and the connection is closed after the answer.
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("a request may not have both Content-Length and Transfer-Encoding")
        if self.chunked:
            self.body_rcv = _Chunks(self.body_rcv.buf)

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.error is not None:
            # A refused request (e.g. Content-Length over the limit) gets its error now,
            # never "100 Continue" inviting the client to send the body first.
            self.expect_continue = False
        return consumed


class _ProblemTask(ErrorTask):
    """Waitress's own refusals (400, 413, 431, 501) as problem+json, logged once each."""

    def execute(self) -> None:
        error = self.request.error
        status = int(error.code)
        detail = str(error.body)
        if status == 413:
            detail = f"the request body is over {MAX_BODY_BYTES:,} bytes"
        elif status == 431 and detail.startswith("exceeds"):
            detail = f"the request head is over {MAX_HEADER_BYTES:,} bytes"
        exit_status = ExitStatus.UNAVAILABLE if status >= 500 else ExitStatus.USAGE
        body = json.dumps(
            {
                "type": f"https://supportctl.dev/problems/{status}",
                "title": STATUS_TEXT.get(status, error.reason),
                "status": status,
                "detail": detail,
                "exit_code": int(exit_status),
            }
        ).encode()
        self.status = f"{status} {error.reason}"
        self.response_headers.append(("Content-Type", "application/problem+json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        log = getattr(self.channel.server, "access_log", None)
        if log is not None:
            method = getattr(self.request, "command", None) or "-"
            target = getattr(self.request, "path", None) or "-"
            log(f'{self.channel.addr[0]} - "{method} {target}" {status} {len(body)} 0.0ms')


class _Channel(HTTPChannel):
    parser_class = _Parser
    error_task_class = _ProblemTask


class Server(TcpWSGIServer):
    """Waitress's TCP server with the interface the CLI and the tests use."""

    channel_class = _Channel

    def __init__(self, app: Any, **adjustments: Any) -> None:
        super().__init__(app, **adjustments)
        self.access_log = getattr(app, "log", None)
        self.connections = 0  # accepted over the server's life (keep-alive makes it small)
        self._stop = threading.Event()
        self._stopped = threading.Event()

    @property
    def server_address(self) -> tuple[str, int]:
        return self.effective_host, self.effective_port

    def handle_accept(self) -> None:
        before = len(self._map)
        super().handle_accept()
        if len(self._map) > before:
            self.connections += 1

    def _channels(self) -> list[_Channel]:
        return [c for c in list(self._map.values()) if isinstance(c, _Channel)]

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        """Serve until ``shutdown()``; then drain: stop accepting, let each request in
        flight finish and its answer go out, hang up idle keep-alive connections."""
        from waitress import wasyncore

        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=poll_interval, map=self._map, use_poll=True, count=1)
            if self.accepting:
                self.accepting = False
                self.del_channel()
                self.socket.close()
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while time.monotonic() < deadline:
                busy = False
                for channel in self._channels():
                    if channel.requests or channel.total_outbufs_len or channel.request:
                        busy = True
                    else:
                        channel.handle_close()
                if not busy:
                    break
                wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
        finally:
            # The drain above waited for the requests in flight; this only stops idle threads.
            self.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
            wasyncore.close_all(self._map)
            self._stopped.set()

    def request_stop(self) -> None:
        """Ask ``serve_forever`` to drain and return (safe in a signal handler)."""
        self._stop.set()

    def shutdown(self) -> None:
        """Ask ``serve_forever`` to drain and return; wait until it has."""
        self._stop.set()
        self._stopped.wait()

    def server_close(self) -> None:
        pass  # serve_forever closed everything on its way out


def make_server(
    host: str, port: int, app: Any, *, threads: int = 8, trusted_proxy: str | None = None
) -> Server:
    """``trusted_proxy``: the address of a reverse proxy whose X-Forwarded-For names the
    client (the last address it appended); from any other peer the header is dropped."""
    import logging

    # "Task queue depth is N" only says every thread is busy (requests wait, as they
    # should, for the store's lock): not a line for the access log. Waitress's other
    # warnings still reach stderr.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    proxy: dict[str, Any] = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for"},
            "clear_untrusted_proxy_headers": True,
        }
    return Server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident=f"supportctl/{__version__}",
        max_request_body_size=MAX_BODY_BYTES + 1,
        max_request_header_size=MAX_HEADER_BYTES,
        channel_timeout=IDLE_TIMEOUT,
        asyncore_use_poll=True,
        **proxy,
    )


def serve_until_signalled(server: Server, announce: Any = None) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight and return."""

    def on_signal(signum: int, frame: Any) -> None:
        server.request_stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    if announce:
        announce()
    try:
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
