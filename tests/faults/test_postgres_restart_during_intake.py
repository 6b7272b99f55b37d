"""PostgreSQL stopped (immediate shutdown, as a crash) and restarted under live intake.

A private cluster (never the shared server) backs a real `ticketing serve`. Three
validators post batches in a loop the way device firmware should: a batch is sent again
until it is answered 200, waiting `Retry-After` on 503 and a moment on a connection
error. While they post, the cluster is stopped for a few seconds, then started again.

While the database is down the server must answer 503 with Retry-After (never 500), and
once the device has caught up every tap it posted must be stored exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.faults.fleet import Validator, register_devices, stored_taps
from tests.faults.postgres import private_cluster, shared_database_url
from tests.processes import cli_env, serving
from tests.validators.devices import TestDevice
from validators.sealing import public_key_from_b64url

DEVICES = 3
OUTAGE_S = 4.0
TEST_DEADLINE_S = 60  # bounds every wait below; a device that has not caught up by then fails


def test_intake_answers_503_while_postgres_is_down_and_stores_every_tap_once(
    tmp_path: Path,
) -> None:
    shared_database_url()  # the same gate as every PostgreSQL test
    deadline = time.monotonic() + TEST_DEADLINE_S
    fleet = [
        TestDevice(f"tram-fault-{n}", "divia-tram", "tram", "T1", "GARE") for n in range(DEVICES)
    ]
    down = threading.Event()
    with private_cluster() as cluster:
        register_devices(cluster, fleet)
        env = cli_env(cluster.url, tmp_path / "data")
        with serving(env, tmp_path / "serve.log") as base:
            key = httpx.get(f"{base}/v1/devices/card-keys").json()["keys"][0]
            card_key = (key["kid"], public_key_from_b64url(key["public_key"]).public_bytes_raw())
            validators = [
                Validator(base, device, card_key, deadline, down, atc=10_000 * n)
                for n, device in enumerate(fleet)
            ]
            threads = [threading.Thread(target=v.run, daemon=True) for v in validators]
            for thread in threads:
                thread.start()
            try:
                for validator in validators:
                    validator.wait_for(3)
                down.set()
                cluster.stop("immediate")
                stopped_at = [validator.batches_stored for validator in validators]
                time.sleep(OUTAGE_S)
                cluster.start()
                down.clear()
                for validator, before in zip(validators, stopped_at, strict=True):
                    validator.wait_for(before + 3)
            finally:
                for validator in validators:
                    validator.done.set()
                for thread in threads:
                    thread.join(timeout=max(deadline - time.monotonic(), 0) + 15)
            assert not any(thread.is_alive() for thread in threads)
        stored = stored_taps(cluster)

    posted = [tap_id for validator in validators for tap_id in validator.posted]
    answers: Counter[int] = Counter()
    for validator in validators:
        answers.update(validator.answers)
        assert validator.unexpected == []
        assert validator.unavailable_while_down > 0  # each saw the outage, answered 503
        assert validator.without_retry_after == 0
    assert answers[500] == 0
    assert len(posted) == len(set(posted))
    assert [count for _, count in stored if count != 1] == []
    assert {tap_id for tap_id, _ in stored} == set(posted)  # nothing lost, nothing extra
    print(
        f"\npostgres restart: {len(posted)} taps posted by {DEVICES} devices, {len(stored)} "
        f"stored, lost 0; answers {dict(answers)}, "
        f"{sum(v.connection_errors for v in validators)} connection errors, "
        f"{sum(v.duplicates for v in validators)} re-sent taps answered duplicate"
    )
