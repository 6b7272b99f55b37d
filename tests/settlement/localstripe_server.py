"""Test helpers around a real localstripe process (payments.md §9).

localstripe is GPL: we run it as a separate process, never import its code. It ignores
`Idempotency-Key`, so `IdempotencyProxy` sits in front of it when a test needs Stripe's
idempotency semantics (replay the stored answer for the same key and body; refuse the
same key with another body), and can lose a response after the upstream handled the
request, the failure that makes idempotency keys necessary.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

API_KEY = "sk_test_settlement"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited early with code {process.returncode}")
        try:
            httpx.get(f"{url}/v1/balance", auth=(API_KEY, ""), timeout=0.5)
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"localstripe did not answer on {url} within {timeout} s")


@contextmanager
def running_localstripe(timeout: float = 20.0) -> Iterator[str]:
    """Start localstripe on a free port; yield its base URL; stop it afterwards.

    `--from-scratch` keeps it from loading state another run pickled to
    /tmp/localstripe.pickle (it still writes there after each request).
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url, process, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def flush(url: str) -> None:
    httpx.delete(f"{url}/_config/data", timeout=5).raise_for_status()


def get(url: str, path: str) -> Any:
    response = httpx.get(f"{url}{path}", auth=(API_KEY, ""), timeout=5)
    response.raise_for_status()
    return response.json()


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """A `Stripe-Signature` header as Stripe (and localstripe) compute it."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class IdempotencyProxy:
    """An HTTP proxy adding Stripe's idempotency to localstripe, for POST requests."""

    upstream: str
    lose_responses: int = 0
    forwarded: list[str] = field(default_factory=list)
    _stored: dict[str, tuple[bytes, int, bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        key = headers.get("idempotency-key")
        if method != "POST" or key is None:
            return self._forward(method, path, headers, body)
        with self._lock:
            stored = self._stored.get(key)
            if stored is not None:
                stored_body, status, content = stored
                if stored_body != body:
                    error = {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used "
                            "with the same parameters they were first used with.",
                        }
                    }
                    return 400, json.dumps(error).encode()
                return status, content
            status, content = self._forward(method, path, headers, body)
            if status < 500:
                self._stored[key] = (body, status, content)
            if self.lose_responses > 0:
                self.lose_responses -= 1
                return None
            return status, content

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        self.forwarded.append(f"{method} {path}")
        keep = {k: v for k, v in headers.items() if k in ("authorization", "content-type")}
        response = httpx.request(
            method, f"{self.upstream}{path}", headers=keep, content=body, timeout=10
        )
        return response.status_code, response.content


@contextmanager
def running_proxy(proxy: IdempotencyProxy) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = proxy.handle(self.command, self.path, headers, body)
            if answer is None:
                # The request was applied upstream; the client never hears back.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, content = answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_DELETE = _serve

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
        thread.join(timeout=5)


@dataclass
class WebhookReceiver:
    """Collects webhook deliveries (raw body and signature header) from localstripe."""

    deliveries: list[tuple[bytes, str]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@contextmanager
def running_receiver(receiver: WebhookReceiver) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.deliveries.append((body, self.headers.get("Stripe-Signature", "")))
            receiver.arrived.set()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
