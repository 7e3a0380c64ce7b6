"""Local stand-ins for an LMS, on 127.0.0.1 and a random port, that check every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    requests: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


Route = Any  # (handler, received) -> (status, payload dict, content type)


@contextmanager
def serve(routes: Route, recorder: Recorder) -> Iterator[str]:
    """Run ``routes`` behind an HTTP server; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = Received(self.command, self.path, dict(self.headers.items()),
                                self.rfile.read(length))
            recorder.requests.append(received)
            try:
                status, payload, content_type = routes(received)
            except AssertionError as exc:  # a malformed request: fail it loudly
                recorder.problems.append(f"{self.command} {self.path}: {exc}")
                status, payload, content_type = 400, {"error": str(exc)}, "application/json"
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
