"""PostgreSQL for the fault tests: scratch databases on the shared server, and private
clusters a test may stop and start at will.

The fault tests need a real PostgreSQL. In CI (`CI=true`) a missing one fails them;
elsewhere they skip unless TICKETING_TEST_DATABASE_URL names one.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.processes import free_port

IN_CI = os.environ.get("CI") == "true"


def shared_database_url() -> str:
    """The shared server's test database URL (psycopg 3 driver): skip or fail without it."""
    url = os.environ.get("TICKETING_TEST_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if IN_CI:
        pytest.fail("CI must set TICKETING_TEST_DATABASE_URL to a PostgreSQL URL.")
    pytest.skip("fault tests need PostgreSQL: set TICKETING_TEST_DATABASE_URL")


def plain(url: str) -> str:
    """A SQLAlchemy URL as psycopg (libpq) takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the shared server, dropped afterwards; yields its URL.

    Created through the server's `postgres` database, never the shared test one."""
    test_url = make_url(shared_database_url())
    admin = plain(test_url.set(database="postgres").render_as_string(hide_password=False))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield test_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries; fails in CI, skips elsewhere."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    message = (
        "a private PostgreSQL cluster needs initdb and pg_ctl "
        "(/usr/lib/postgresql/*/bin/ or on PATH); install the postgresql package"
    )
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of the test's own: a free port on 127.0.0.1, trust auth, its
    socket in its data directory (never the shared server's)."""

    bin_dir: Path
    data_dir: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise AssertionError(f"{args[0]} failed: {done.stderr}{done.stdout}\n{log}")

    def start(self) -> None:
        # fsync off: an immediate stop loses nothing the OS has (only a machine crash would).
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} -c fsync=off"
        data = str(self.data_dir)
        self._run(
            "pg_ctl", "start", "-w", "-t", "30", "-D", data, "-l", str(self.log), "-o", options
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-t", "30", "-m", mode, "-D", str(self.data_dir))

    def is_running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()


@contextmanager
def private_cluster(under: Path | None = None) -> Iterator[PrivateCluster]:
    """initdb, start, yield; always stopped (immediately) and removed afterwards. `under`:
    the directory (a filesystem of its own, say) that holds it; /tmp by default."""
    bin_dir = postgres_bin()
    # Under /tmp itself: pytest's tmp_path sits below a directory only its owner may enter.
    root = Path(tempfile.mkdtemp(prefix="ticketing-pg-", dir=under))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivateCluster(bin_dir, root / "data", free_port(), root / "postgres.log")
    try:
        data = str(cluster.data_dir)
        cluster._run(
            "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"
        )
        cluster.start()
        yield cluster
    finally:
        deadline = time.monotonic() + 30
        while cluster.is_running() and time.monotonic() < deadline:
            try:
                cluster.stop("immediate")
            except AssertionError:
                time.sleep(0.5)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def small_filesystem(size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` MiB mounted for the test, so that filling it fills nothing
    else. Mounting needs root: in CI (root on this machine kind) its absence fails the
    test; elsewhere it skips."""
    mount_point = Path(tempfile.mkdtemp(prefix="ticketing-disk-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        mount_point.rmdir()
        message = f"mounting a small filesystem needs root: {done.stderr.strip()}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)
        mount_point.rmdir()
