"""`ticketing simulate`: post a synthetic Dijon day over HTTP, as real validators would."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import httpx
import jwt
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ticketing.cli.common import fail, job, settings_or_exit
from validators import devices
from validators.errors import Conflict
from validators.schema import utc_now
from validators.sealing import public_key_from_b64url
from validators.simulation import DayPlan, SimDevice, SimTap, seal_tap

BATCH = 200
POST_ATTEMPTS = 5


def device_key(seed: int, device_id: str) -> Ed25519PrivateKey:
    # Derived, not random: a second run finds its devices registered with the same keys.
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"ticketing-sim:{seed}:{device_id}".encode()).digest()
    )


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def device_token(device_id: str, key: Ed25519PrivateKey) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": device_id,
        "aud": "ticketing-devices",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=2)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="EdDSA")


def provision_in_database(sims: list[SimDevice], seed: int) -> None:
    with job() as session:
        for sim in sims:
            try:
                with session.begin_nested():
                    devices.register(
                        session,
                        devices.NewDevice(
                            device_id=sim.device_id,
                            operator_id=sim.operator_id,
                            kind=devices.DeviceKind(sim.kind),
                            public_key_pem=public_pem(device_key(seed, sim.device_id)),
                            route_id=sim.route_id,
                            stop_id=sim.stop_id,
                            facility_id=sim.facility_id,
                        ),
                        now=utc_now(),
                    )
            except Conflict:
                pass  # registered by an earlier run, with the same derived key


def provision_over_http(
    client: httpx.Client, sims: list[SimDevice], seed: int, email: str, password: str
) -> None:
    login = client.post("/v1/auth/token", data={"username": email, "password": password})
    if login.status_code != 200:
        fail("admin_login_failed", f"Logging in as {email} failed: {login.text}")
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for sim in sims:
        body = {
            "device_id": sim.device_id,
            "operator_id": sim.operator_id,
            "kind": sim.kind,
            "public_key": public_pem(device_key(seed, sim.device_id)),
            "route_id": sim.route_id,
            "stop_id": sim.stop_id,
            "facility_id": sim.facility_id,
        }
        response = client.post("/v1/admin/devices", json=body, headers=headers)
        if response.status_code not in (201, 409):
            fail("provisioning_failed", f"{sim.device_id}: {response.text}")


@contextmanager
def embedded_server() -> Iterator[str]:
    """The app on the embedded default, served on a free local port for this run."""
    import uvicorn

    from ticketing.app import app_from_env
    from ticketing.cli.common import engine_for, migrate

    migrate(engine_for(settings_or_exit()))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app_from_env(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def batches(plan: DayPlan) -> list[tuple[str, list[SimTap]]]:
    """Each device's taps in the order it uploads them, cut into batches."""
    per_device: dict[str, list[SimTap]] = {}
    for _, sim_tap in plan.taps():
        per_device.setdefault(sim_tap.device_id, []).append(sim_tap)
    out: list[tuple[str, list[SimTap]]] = []
    for device_id, taps in per_device.items():
        taps.sort(key=lambda t: t.upload_at)
        out.extend((device_id, taps[i : i + BATCH]) for i in range(0, len(taps), BATCH))
    # Offline devices come last, as they would in the day.
    out.sort(key=lambda item: item[1][0].upload_at)
    return out


def simulate(
    service_day: Annotated[str, typer.Option(help="Service day to generate (YYYY-MM-DD).")],
    riders: Annotated[int, typer.Option(min=1, help="Number of riders (cards).")] = 1000,
    url: Annotated[
        str | None, typer.Option(help="API to post to; default: start one in-process.")
    ] = None,
    admin_email: Annotated[
        str | None, typer.Option(help="Admin account that registers devices (with --url).")
    ] = None,
    admin_password: Annotated[str | None, typer.Option(help="Its password.")] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same day.")
    ] = 2026,
    workers: Annotated[int, typer.Option(min=1, help="Concurrent HTTP connections.")] = 4,
) -> None:
    """Generate a realistic day of taps on the demo tariff and post it like validators."""
    try:
        day = date.fromisoformat(service_day)
    except ValueError:
        fail("invalid_date", f"--service-day {service_day!r} is not YYYY-MM-DD.")
    plan = DayPlan(day, riders, seed)
    with (
        embedded_server() if url is None else _given(url) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        if url is None:
            provision_in_database(plan.devices, seed)
        else:
            if not (admin_email and admin_password):
                fail("admin_required", "--url needs --admin-email and --admin-password.")
            provision_over_http(client, plan.devices, seed, admin_email, admin_password)
        key = client.get("/v1/devices/card-keys").json()["keys"][0]
        public_key = public_key_from_b64url(key["public_key"]).public_bytes_raw()
        work = batches(plan)
        counts: Counter[str] = Counter()
        started = time.perf_counter()

        def post(item: tuple[str, list[SimTap]]) -> list[dict[str, Any]]:
            device_id, taps = item
            body = {"taps": [seal_tap(t, key["kid"], public_key) for t in taps]}
            for attempt in range(POST_ATTEMPTS):
                # A fresh token each time: a device token is accepted once.
                token = device_token(device_id, device_key(seed, device_id))
                response = client.post(
                    "/v1/devices/taps", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                if response.status_code not in (429, 503) or attempt == POST_ATTEMPTS - 1:
                    break
                # What a validator does: keep the batch, wait as told, post it again (the
                # tap ids make the retry change nothing that was stored).
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))
            if response.status_code != 200:
                fail("post_failed", f"{device_id}: {response.status_code} {response.text}")
            results: list[dict[str, Any]] = response.json()["results"]
            return results

        total = sum(len(taps) for _, taps in work)
        with (
            typer.progressbar(length=total, label="posting taps") as bar,
            ThreadPoolExecutor(workers) as pool,
        ):
            for (_, taps), results in zip(work, pool.map(post, work), strict=True):
                for result in results:
                    counts[result["status"]] += 1
                    if result["decision"] == "deny":
                        counts[f"deny:{result.get('reason')}"] += 1
                bar.update(len(taps))
    elapsed = time.perf_counter() - started
    summary = {
        "service_day": day.isoformat(),
        "riders": riders,
        "devices": len(plan.devices),
        "batches": len(work),
        "taps": total,
        "seconds": round(elapsed, 2),
        "taps_per_s": round(total / elapsed, 1) if elapsed else None,
        "results": dict(sorted(counts.items())),
    }
    typer.echo(json.dumps(summary, indent=2))


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url.rstrip("/")
