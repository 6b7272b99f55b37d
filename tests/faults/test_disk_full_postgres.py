"""PostgreSQL's disk filling up under live intake, then freed.

A private cluster lives on a small filesystem of its own (tmpfs) behind a real
`ticketing serve`; a validator posts batches the way firmware should (tests.faults.fleet).
Once some batches are stored, a file fills the filesystem to its last byte: PostgreSQL
can no longer extend a table or write its log. The server must answer 503 with
Retry-After (never 500) and store nothing half; once the file is gone, the validator's
retries go through and every tap it posted is stored exactly once.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.faults.fleet import Validator, register_devices, stored_taps
from tests.faults.postgres import private_cluster, shared_database_url, small_filesystem
from tests.processes import cli_env, serving
from tests.validators.devices import TestDevice
from validators.sealing import public_key_from_b64url

DISK_MB = 256  # a fresh cluster takes about 40 MB; the rest is for the filler
TEST_DEADLINE_S = 90


def fill(directory: Path) -> Path:
    """Write a file until the filesystem refuses another byte; returns it. Unbuffered:
    the last write must be the one refused, not a flush at close."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            while True:
                try:
                    os.write(descriptor, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_answers_503_and_every_tap_is_stored_once_after(tmp_path: Path) -> None:
    shared_database_url()  # the same gate as every PostgreSQL test
    deadline = time.monotonic() + TEST_DEADLINE_S
    device = TestDevice("tram-disk-1", "divia-tram", "tram", "T1", "GARE")
    full = threading.Event()
    with small_filesystem(DISK_MB) as disk, private_cluster(under=disk) as cluster:
        register_devices(cluster, [device])
        env = cli_env(cluster.url, tmp_path / "data")
        with serving(env, tmp_path / "serve.log") as base:
            key = httpx.get(f"{base}/v1/devices/card-keys").json()["keys"][0]
            card_key = (key["kid"], public_key_from_b64url(key["public_key"]).public_bytes_raw())
            validator = Validator(base, device, card_key, deadline, full)
            thread = threading.Thread(target=validator.run, daemon=True)
            thread.start()
            try:
                validator.wait_for(3)
                full.set()
                filler = fill(disk)
                while validator.unavailable_while_down < 3 and time.monotonic() < deadline:
                    time.sleep(0.1)
                stored_while_full = validator.batches_stored
                filler.unlink()
                full.clear()
                validator.wait_for(stored_while_full + 3)
            finally:
                validator.done.set()
                thread.join(timeout=max(deadline - time.monotonic(), 0) + 15)
            assert not thread.is_alive()
        stored = stored_taps(cluster)
        postgres_said = cluster.log.read_text(errors="replace")

    # The 503s were the full disk, as PostgreSQL saw it.
    assert "No space left on device" in postgres_said
    answers = Counter(validator.answers)
    assert validator.unexpected == []
    assert validator.unavailable_while_down >= 3  # the full disk was answered 503
    assert validator.without_retry_after == 0
    assert answers[500] == 0
    assert [count for _, count in stored if count != 1] == []
    assert {tap_id for tap_id, _ in stored} == set(validator.posted)  # nothing lost or extra
    print(
        f"\ndisk full: {len(validator.posted)} taps posted, {len(stored)} stored, lost 0; "
        f"answers {dict(answers)}, {validator.connection_errors} connection errors, "
        f"{validator.duplicates} re-sent taps answered duplicate"
    )
