"""The real `ticketing` command as separate processes: what a fault can kill or starve."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CLI = [sys.executable, "-c", "from ticketing.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """This environment without its TICKETING_ settings, pointed at one database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    env["TICKETING_DATABASE_URL"] = database_url
    env["TICKETING_DATA_DIR"] = str(data_dir)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run `ticketing ARGS` to completion; its stdout, or an assertion naming its stderr."""
    done = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"ticketing {' '.join(args)}: {done.stderr}"
    return done.stdout


def stop(process: subprocess.Popen[bytes], *, timeout: float = 20) -> None:
    """Interrupt a process we started (its whole group), killing it if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@contextmanager
def serving(
    env: dict[str, str], log: Path, *, cwd: Path | None = None, timeout: float = 60
) -> Iterator[str]:
    """`ticketing serve` on a free port until the block ends; yields its base URL."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve exited: {log.read_text()}")
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        stop(process)
