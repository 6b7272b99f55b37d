"""`ticketing devices ...`: the validators, docks and gates allowed to post taps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ticketing.cli.common import audited, fail, job
from validators import devices
from validators.schema import utc_now

app = typer.Typer(help="Devices (validators, bike docks, parking gates).", no_args_is_help=True)


@app.command("add")
def add(
    device_id: Annotated[str, typer.Option(help="Unique device id (the JWT `iss`).")],
    operator_id: Annotated[str, typer.Option(help="Operator running it (GTFS agency_id).")],
    kind: Annotated[devices.DeviceKind, typer.Option(help="What it is.")],
    public_key: Annotated[Path, typer.Option(help="Ed25519 public key, PEM file.")],
    route_id: Annotated[str | None, typer.Option(help="Default route of its taps.")] = None,
    stop_id: Annotated[str | None, typer.Option(help="Default stop of its taps.")] = None,
    facility_id: Annotated[str | None, typer.Option(help="Parking tariff id (gates).")] = None,
) -> None:
    """Register a device."""
    try:
        pem = public_key.read_text()
    except OSError as exc:
        fail("unreadable_key", f"Cannot read {public_key}: {exc.strerror}.")
    with job() as session:
        devices.register(
            session,
            devices.NewDevice(
                device_id=device_id,
                operator_id=operator_id,
                kind=kind,
                public_key_pem=pem,
                route_id=route_id,
                stop_id=stop_id,
                facility_id=facility_id,
            ),
            now=utc_now(),
        )
        audited(session, "register_device", device_id)
    typer.echo(f"device {device_id} ({kind.value}, {operator_id}) registered")


@app.command("revoke")
def revoke(device_id: Annotated[str, typer.Option(help="The device to shut out.")]) -> None:
    """Revoke a device: its tokens are refused from now on."""
    with job() as session:
        devices.revoke(session, device_id, now=utc_now())
        audited(session, "revoke_device", device_id)
    typer.echo(f"device {device_id} revoked")
