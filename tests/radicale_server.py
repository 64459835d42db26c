"""A real, throwaway Radicale server for the CalDAV tests, plus a counting HTTP proxy.

Use from any test module::

    from tests.radicale_server import radicale_fixture
    radicale = radicale_fixture()            # module-scoped; radicale_fixture("session") too

    def test_x(radicale):
        radicale.url          # http://127.0.0.1:PORT/   (Radicale itself)
        radicale.proxy_url    # http://127.0.0.1:PORT2/  (same server, every request counted)
        radicale.proxy.count  # requests seen so far; radicale.proxy.reset()
        radicale.stop(); radicale.start(); radicale.restart()

The server runs ``sys.executable -m radicale`` on 127.0.0.1 with a free port, a temp storage
folder, htpasswd auth (plain) for ``alice`` / ``s3cret`` and ``owner_only`` rights.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

USER = "alice"
PASSWORD = "s3cret"
HOST = "127.0.0.1"

# hop-by-hop headers a proxy must not forward
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class CountingProxy:
    """A tiny HTTP/1.1 reverse proxy in a thread; counts every request it forwards.

    The count is incremented before the response is sent, so it is exact as soon as the
    client has its answer."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.bodies: list[bytes] = []  # request bodies, in the same order
        self._faults: list[tuple[str, int, int]] = []  # (method or "*", status, times left)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def __getattr__(self, name: str) -> Callable[[], None]:
                if name.startswith("do_"):
                    return self._forward
                raise AttributeError(name)

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                resp_headers: list[tuple[str, str]]
                fault = proxy._take_fault(self.command)
                if fault is not None:
                    status, payload = fault, f"injected {fault}".encode()
                    resp_headers = [("Content-Type", "text/plain")]
                else:
                    status, payload, resp_headers = self._upstream(body)
                with proxy._lock:
                    proxy.requests.append((self.command, self.path, status))
                    proxy.bodies.append(body)
                self.send_response(status)
                for k, v in resp_headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _upstream(self, body: bytes) -> tuple[int, bytes, list[tuple[str, str]]]:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                try:
                    conn = http.client.HTTPConnection(HOST, proxy.upstream_port, timeout=30)
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    status = resp.status
                    payload = resp.read()
                    resp_headers = [
                        (k, v)
                        for k, v in resp.getheaders()
                        if k.lower() not in _HOP and k.lower() != "content-length"
                    ]
                    conn.close()
                except OSError:
                    return 502, b"upstream down", []
                return status, payload, resp_headers

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def fail(self, method: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``method`` ("*": any) with ``status``."""
        with self._lock:
            self._faults.append((method.upper(), status, times))

    def _take_fault(self, method: str) -> int | None:
        with self._lock:
            for i, (m, status, left) in enumerate(self._faults):
                if m in ("*", method):
                    if left <= 1:
                        del self._faults[i]
                    else:
                        self._faults[i] = (m, status, left - 1)
                    return status
        return None

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bodies.clear()
            self._faults.clear()

    def since(self, mark: int) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self.requests[mark:])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RadicaleServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.storage = root / "collections"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.htpasswd = root / "users"
        self.htpasswd.write_text(f"{USER}:{PASSWORD}\n")
        self.log_path = root / "radicale.log"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.proxy = CountingProxy(self.port)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def proxy_url(self) -> str:
        return f"http://{HOST}:{self.proxy.port}/"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "radicale",
            "--config", "",
            "--server-hosts", f"{HOST}:{self.port}",
            "--auth-type", "htpasswd",
            "--auth-htpasswd-filename", str(self.htpasswd),
            "--auth-htpasswd-encryption", "plain",
            "--auth-delay", "0",
            "--rights-type", "owner_only",
            "--storage-filesystem-folder", str(self.storage),
            "--web-type", "none",
            "--logging-level", "warning",
        ]  # fmt: skip

    def start(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"radicale exited with {self.proc.returncode}:\n{self.log_path.read_text()}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=1)
                conn.request("OPTIONS", "/")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"radicale did not answer within {timeout} s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self.proxy.close()


def radicale_fixture(scope: str = "module") -> Any:
    """A pytest fixture (assign it to a name in a test module) yielding a running server."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
        server = RadicaleServer(tmp_path_factory.mktemp("radicale"))
        server.start()
        try:
            yield server
        finally:
            server.close()

    return radicale
