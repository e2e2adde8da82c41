"""`supportctl serve`: a small multi-threaded HTTP/1.1 server (keep-alive) for the WSGI app.

Production deployments can host ``supportctl.server.app.create_app(STORE)`` under any WSGI
server instead (see README).  This one exists so a team can share a store, and so the http
backend is tested against a real process over real sockets.
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from supportctl import __version__

MAX_CHUNKED_BYTES = 10 * 1024 * 1024  # the app's own limit (app.MAX_BODY_BYTES)


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}").fullmatch


class _Counted:
    """The request body stream, counting what the application read."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self.stream.readline(size)
        self.count += len(data)
        return data


class WSGIRequestHandler(BaseHTTPRequestHandler):
    """Runs one WSGI request per HTTP request; connections stay open (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every response on a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = f"supportctl/{__version__}"
    timeout = 60  # an idle keep-alive connection is closed after this

    def setup(self) -> None:
        super().setup()
        self.busy = False
        self.server.opened(self)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.closed(self)  # type: ignore[attr-defined]

    def handle_one_request(self) -> None:
        if self.server.stopping:  # type: ignore[attr-defined]
            self.close_connection = True
            return
        super().handle_one_request()

    def _run(self) -> None:
        self.busy = True
        try:
            self._serve_request()
        finally:
            self.busy = False
            if self.server.stopping:  # type: ignore[attr-defined]
                self.close_connection = True

    def _serve_request(self) -> None:
        raw_path, _, query = self.path.partition("?")
        path = unquote_to_bytes(raw_path).decode("latin-1")  # PEP 3333
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": self.headers.get("Content-Length", ""),
            "REMOTE_ADDR": self.client_address[0],
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": _Counted(self.rfile),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[name] = value
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None and (
            encoding.strip().lower() != "chunked" or "Content-Length" in self.headers
        ):
            # RFC 9112 §6.3: both framings at once (or an unknown coding) is how requests
            # are smuggled past a proxy: refused, and the connection is not reused.
            self.close_connection = True
            self.send_error(400, "Transfer-Encoding with Content-Length, or not chunked")
            return
        if encoding is not None:
            try:
                body = self._read_chunked(MAX_CHUNKED_BYTES)
            except ValueError:
                self.close_connection = True
                self.send_error(400, "malformed chunked body")
                return
            environ["wsgi.input"] = _Counted(io.BytesIO(body))
            environ["CONTENT_LENGTH"] = str(len(body))
            self.close_connection = True  # whatever was not read of it stays unread
        status_line: list[str] = []
        response_headers: list[tuple[str, str]] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            status_line[:] = [status]
            response_headers[:] = headers

        body = b"".join(self.server.app(environ, start_response))  # type: ignore[attr-defined]
        declared = environ.get("CONTENT_LENGTH") or "0"
        stream = environ["wsgi.input"]
        if isinstance(stream, _Counted) and declared.isdigit() and stream.count < int(declared):
            self.close_connection = (
                True  # an unread body (e.g. refused with 413) ends the connection
            )
        code, _, reason = status_line[0].partition(" ")
        self.send_response_only(int(code), reason)
        self.send_header("Server", self.version_string())
        self.send_header("Date", self.date_time_string())
        for key, value in response_headers:
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_chunked(self, limit: int) -> bytes:
        """A chunked body, but no more than ``limit`` + 1 bytes: the app refuses it (413)."""
        chunks = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\r\n"):
                raise ValueError("chunk size line not ended by CRLF")
            token = line[:-2].split(b";", 1)[0]
            # RFC 9112 §7.1: 1*HEXDIG and nothing else (int(x, 16) would take "1_0",
            # "+a" or "0x10": the loose parsing request smuggling feeds on).
            if not _CHUNK_SIZE(token):
                raise ValueError("malformed chunk size")
            size = int(token, 16)
            if size == 0:
                for _ in range(100):  # trailer fields, then the empty line
                    if self.rfile.readline(1024) in (b"\r\n", b""):
                        return b"".join(chunks)
                raise ValueError("too many trailer fields")
            if total + size > limit:
                chunks.append(self.rfile.read(limit + 1 - total))
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            total += size
            if self.rfile.readline(3) != b"\r\n":
                raise ValueError("chunk data not followed by CRLF")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _run

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the app writes one access-log line per request itself


class Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for requests in flight
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Any) -> None:
        super().__init__(address, WSGIRequestHandler)
        self.app = app
        self.connections = 0  # accepted over the server's life (keep-alive makes it small)
        self.stopping = False
        self._handlers: set[WSGIRequestHandler] = set()
        self._handlers_guard = threading.Lock()

    def opened(self, handler: WSGIRequestHandler) -> None:
        with self._handlers_guard:
            self.connections += 1
            self._handlers.add(handler)

    def closed(self, handler: WSGIRequestHandler) -> None:
        with self._handlers_guard:
            self._handlers.discard(handler)

    def shutdown(self) -> None:
        """Stop accepting, let requests in flight finish, and hang up idle keep-alives."""
        self.stopping = True
        super().shutdown()
        with self._handlers_guard:
            idle = [h for h in self._handlers if not h.busy]
        for handler in idle:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RD)


def make_server(host: str, port: int, app: Any) -> Server:
    return Server((host, port), app)


def serve_until_signalled(server: Server, announce: Any = None) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight and return."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    worker.start()
    if announce:
        announce()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        worker.join()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
