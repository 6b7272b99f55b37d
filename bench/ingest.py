"""Tap intake throughput against PostgreSQL, beside the irreducible work of the same taps.

Starts `ticketing serve --workers 2` on a scratch database, then measures:
- batched: taps/s through POST /v1/devices/taps in batches of 500 (envelopes sealed
  beforehand, several connections at once);
- single: one tap per request under concurrency, with p50/p99 latency;
- irreducible: the same number of envelopes opened (HPKE), tokenized (HMAC) and the same
  rows COPYed into PostgreSQL in a plain loop, in this process.
Prints one JSON object. Usage: uv run python bench/ingest.py [--taps 20000] [--single 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/fare.py would shadow the `fare` package: the project root must come first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from validators.card import open_card
from validators.sealing import build_card_tlv, public_key_from_b64url, seal
from validators.simulation import luhn_complete
from validators.tokens import TokenKey

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Several people may bench one server at once: each can name their own scratch database.
DB_NAME = os.environ.get("BENCH_DB_NAME", "ticketing_bench")


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DB_NAME}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def device_token(device_id: str, key: Ed25519PrivateKey) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": device_id,
        "aud": "ticketing-devices",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=4)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="EdDSA")


def make_taps(count: int, kid: str, public_key: bytes, offset: int) -> list[dict[str, Any]]:
    moment = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    taps = []
    for i in range(count):
        pan = luhn_complete(f"4970{offset + i:011d}")
        taps.append(
            {
                "tap_id": str(uuid.uuid4()),
                "occurred_at": (moment + timedelta(milliseconds=i)).isoformat(),
                "kind": "tap_in",
                "card": {
                    "kid": kid,
                    "sealed": seal(build_card_tlv(pan, "3012", atc=1), public_key),
                },
            }
        )
    return taps


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Served:
    """A `ticketing serve --workers 2` on a scratch database, with one registered device."""

    url: str
    env: dict[str, str]
    server: subprocess.Popen[bytes]
    base: str
    device_id: str
    device: Ed25519PrivateKey
    card_kid: str
    card_public_key: bytes


@contextmanager
def served(device_id: str) -> Iterator[Served]:
    url = fresh_database()
    work = Path(tempfile.mkdtemp())
    env = {
        **os.environ,
        "TICKETING_DATABASE_URL": url,
        "TICKETING_DATA_DIR": str(work / "data"),
        "TICKETING_LOG_LEVEL": "WARNING",
        # One device posts every tap here, far past a real validator's budget: the limit
        # is still counted on each request (its cost is measured), never reached.
        "TICKETING_INTAKE_REQUESTS_PER_WINDOW": str(10**9),
        "TICKETING_INTAKE_TAPS_PER_WINDOW": str(10**9),
    }
    cli_run = [sys.executable, "-c", "from ticketing.cli import main; main()"]
    subprocess.run([*cli_run, "db", "upgrade"], env=env, cwd=work, check=True, capture_output=True)
    device = Ed25519PrivateKey.generate()
    pem = device.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (work / "device.pem").write_bytes(pem)
    subprocess.run(
        [
            *cli_run,
            "devices",
            "add",
            "--device-id",
            device_id,
            "--operator-id",
            "divia-tram",
            "--kind",
            "tram",
            "--public-key",
            str(work / "device.pem"),
            "--route-id",
            "T1",
            "--stop-id",
            "GARE",
        ],
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [*cli_run, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        key = httpx.get(f"{base}/v1/devices/card-keys").json()["keys"][0]
        public_key = public_key_from_b64url(key["public_key"]).public_bytes_raw()
        yield Served(url, env, server, base, device_id, device, key["kid"], public_key)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, default=20000)
    parser.add_argument("--single", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--single-concurrency", type=int, default=16)
    args = parser.parse_args()

    with served("bench-1") as run:
        url, env, base, device = run.url, run.env, run.base, run.device
        key = {"kid": run.card_kid}
        public_key = run.card_public_key
        batched = make_taps(args.taps, key["kid"], public_key, 0)
        batches = [batched[i : i + 500] for i in range(0, len(batched), 500)]
        clients = [httpx.Client(base_url=base, timeout=120) for _ in range(args.connections)]

        def post_batch(item: tuple[int, list[dict[str, Any]]]) -> int:
            n, taps = item
            client = clients[n % len(clients)]
            r = client.post(
                "/v1/devices/taps",
                json={"taps": taps},
                headers={"Authorization": f"Bearer {device_token('bench-1', device)}"},
            )
            assert r.status_code == 200, r.text
            return sum(1 for x in r.json()["results"] if x["status"] == "accepted")

        started = time.perf_counter()
        with ThreadPoolExecutor(args.connections) as pool:
            accepted = sum(pool.map(post_batch, enumerate(batches)))
        batched_s = time.perf_counter() - started

        singles = make_taps(args.single, key["kid"], public_key, 10**7)
        single_clients = [
            httpx.Client(base_url=base, timeout=60) for _ in range(args.single_concurrency)
        ]
        latencies: list[float] = []

        def post_one(item: tuple[int, dict[str, Any]]) -> None:
            n, one = item
            client = single_clients[n % len(single_clients)]
            token = device_token("bench-1", device)
            t0 = time.perf_counter()
            r = client.post(
                "/v1/devices/taps",
                json={"taps": [one]},
                headers={"Authorization": f"Bearer {token}"},
            )
            latencies.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text

        started = time.perf_counter()
        with ThreadPoolExecutor(args.single_concurrency) as pool:
            list(pool.map(post_one, enumerate(singles)))
        single_s = time.perf_counter() - started

    # The irreducible work of the batched taps, in a plain loop in this process.
    from sqlalchemy.engine import make_url

    card_keys = _server_card_keys(url, env)
    token_key = TokenKey("bench", b"b" * 32)
    fresh = make_taps(args.taps, key["kid"], public_key, 2 * 10**7)
    started = time.perf_counter()
    rows = []
    for t in fresh:
        card = open_card(
            t["card"]["sealed"],
            kid=t["card"]["kid"],
            keys=card_keys,
            occurred_at=datetime.fromisoformat(t["occurred_at"]),
            token_key=token_key,
        )
        rows.append(
            (
                t["tap_id"],
                "bench-1",
                "divia-tram",
                "tap_in",
                t["occurred_at"],
                datetime.now(UTC),
                "2026-11-26",
                "T1",
                "GARE",
                card.token,
                card.atc,
                "accepted",
                "allow",
                False,
            )
        )
    plain_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain_url) as conn:
        conn.execute("CREATE TEMP TABLE taps_copy (LIKE taps INCLUDING DEFAULTS)")
        with conn.cursor().copy(
            "COPY taps_copy (tap_id, device_id, operator_id, kind, occurred_at, received_at, "
            "service_day, route_id, stop_id, card_token, atc, status, decision, late) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
    irreducible_s = time.perf_counter() - started

    batched_rate = args.taps / batched_s
    irreducible_rate = args.taps / irreducible_s
    print(
        json.dumps(
            {
                "database": "postgresql",
                "server_workers": 2,
                "batched": {
                    "taps": args.taps,
                    "batch_size": 500,
                    "connections": args.connections,
                    "seconds": round(batched_s, 3),
                    "taps_per_s": round(batched_rate),
                    "accepted": accepted,
                },
                "single": {
                    "requests": args.single,
                    "concurrency": args.single_concurrency,
                    "seconds": round(single_s, 3),
                    "taps_per_s": round(args.single / single_s),
                    "p50_ms": round(1000 * statistics.median(latencies), 2),
                    "p99_ms": round(1000 * percentile(latencies, 0.99), 2),
                },
                "irreducible": {
                    "taps": args.taps,
                    "seconds": round(irreducible_s, 3),
                    "taps_per_s": round(irreducible_rate),
                    "work": "HPKE open + TLV + Luhn + HMAC token + COPY, one core",
                },
                "batched_vs_irreducible": round(batched_rate / irreducible_rate, 3),
                "note": "the client (JSON, JWTs) and the server share the machine's cores",
            },
            indent=2,
        )
    )


def _server_card_keys(url: str, env: dict[str, str]) -> dict[str, Any]:
    """The server's own private card keys, unwrapped the way the server does."""
    from sqlmodel import Session

    from ticketing.app import validators_context
    from ticketing.db import make_engine
    from ticketing.settings import Settings, resolve_secrets

    settings = resolve_secrets(Settings(database_url=url, data_dir=Path(env["TICKETING_DATA_DIR"])))
    ctx = validators_context(settings)
    with Session(make_engine(settings.database_url)) as session:
        return dict(ctx.opening_keys.get(session))


if __name__ == "__main__":
    main()
