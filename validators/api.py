"""Device-facing routes (taps, card keys, deny list) and the admin routes for devices."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from validators import audit, cardkeys, denylist, devices
from validators.context import ValidatorsContext
from validators.intake import TapBatch, ingest
from validators.schema import utc_now
from validators.store import Device
from validators.web import Admin, Db, bearer_token, request_session

router = APIRouter()


def context(request: Request) -> ValidatorsContext:
    ctx: ValidatorsContext = request.app.state.validators
    return ctx


def current_device(request: Request, db: Annotated[Session, Depends(request_session)]) -> Device:
    return devices.authenticate(db, bearer_token(request), now=utc_now())


Context = Annotated[ValidatorsContext, Depends(context)]
CurrentDevice = Annotated[Device, Depends(current_device)]


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    operator_id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: devices.DeviceKind
    public_key: Annotated[str, Field(min_length=1, max_length=400, description="Ed25519 PEM")]
    route_id: Annotated[str | None, Field(max_length=64)] = None
    stop_id: Annotated[str | None, Field(max_length=64)] = None
    facility_id: Annotated[str | None, Field(max_length=64)] = None


class DeviceOut(BaseModel):
    device_id: str
    operator_id: str
    kind: str
    route_id: str | None
    stop_id: str | None
    facility_id: str | None
    status: str


class CardKeyOut(BaseModel):
    kid: str
    public_key: str
    suite: str


class CardKeys(BaseModel):
    keys: list[CardKeyOut]


class TapResultOut(BaseModel):
    tap_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    decision: Literal["allow", "deny"]
    reason: str | None = None
    detail: str | None = None


class TapResults(BaseModel):
    results: list[TapResultOut]


class DenyDelta(BaseModel):
    version: int
    action: Literal["add", "remove"]
    device_hash: str
    reason: str


class DenyList(BaseModel):
    version: int
    hash_key_id: str
    hash_key: str = Field(description="base64url key of HMAC-SHA256(key, PAN digits)")
    changes: list[DenyDelta]
    more: bool


def device_out(device: Device) -> DeviceOut:
    return DeviceOut.model_validate(device, from_attributes=True)


@router.post(
    "/v1/admin/devices",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceOut,
    tags=["admin"],
    operation_id="register_device",
)
def register_device(body: DeviceIn, db: Db, admin: Admin) -> DeviceOut:
    new = devices.NewDevice(
        device_id=body.device_id,
        operator_id=body.operator_id,
        kind=body.kind,
        public_key_pem=body.public_key,
        route_id=body.route_id,
        stop_id=body.stop_id,
        facility_id=body.facility_id,
    )
    device = devices.register(db, new, now=utc_now())
    audit.record(
        db, actor=admin.email, action="register_device", subject=device.device_id, now=utc_now()
    )
    return device_out(device)


@router.post(
    "/v1/admin/devices/{device_id}/revoke",
    response_model=DeviceOut,
    tags=["admin"],
    operation_id="revoke_device",
)
def revoke_device(device_id: str, db: Db, admin: Admin) -> DeviceOut:
    device = devices.revoke(db, device_id, now=utc_now())
    audit.record(db, actor=admin.email, action="revoke_device", subject=device_id, now=utc_now())
    return device_out(device)


@router.get(
    "/v1/devices/card-keys", response_model=CardKeys, tags=["devices"], operation_id="card_keys"
)
def card_keys(db: Db) -> CardKeys:
    """The keys devices seal card data to (HPKE, RFC 9180)."""
    return CardKeys(
        keys=[
            CardKeyOut(kid=key.kid, public_key=key.public_key, suite=cardkeys.SUITE)
            for key in cardkeys.published(db)
        ]
    )


@router.post(
    "/v1/devices/taps", response_model=TapResults, tags=["devices"], operation_id="post_taps"
)
def post_taps(batch: TapBatch, db: Db, device: CurrentDevice, ctx: Context) -> TapResults:
    """Record 1 to 1000 taps; one result per tap, in order.

    Limited per device (requests and taps per window): past the limit the answer is 429
    with `Retry-After`, and none of the batch's taps is stored; the device keeps them and
    posts the batch again (taps are idempotent by `tap_id`)."""
    now = utc_now()
    ctx.intake_limits.refuse_known(device_id=device.device_id, taps=len(batch.taps), now=now)
    results = ingest(
        db,
        device=device,
        raw_taps=batch.taps,
        keys=ctx.intake_keys(db),
        service_day_of=ctx.service_day_of(db, now),
        now=now,
        keep_envelopes=ctx.keep_envelopes_for_enrolment,
    )
    # Counted last, just before the request commits: the counter row stays locked until
    # then, and taken first it would queue a device's concurrent posts behind each other.
    # Refused, the request rolls back, its taps and its count with it.
    ctx.intake_limits.spend(db, device_id=device.device_id, taps=len(batch.taps), now=now)
    return TapResults(
        results=[TapResultOut.model_validate(r, from_attributes=True) for r in results]
    )


@router.get(
    "/v1/devices/deny-list", response_model=DenyList, tags=["devices"], operation_id="deny_list"
)
def deny_list(
    db: Db,
    _: CurrentDevice,
    ctx: Context,
    since: Annotated[int, Query(ge=0, description="The last version the device holds")] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 10000,
) -> DenyList:
    """Changes after `since`, oldest first; `more` says another page follows."""
    changes = denylist.deltas_since(db, since, limit=limit + 1)
    page = changes[:limit]
    return DenyList(
        version=page[-1].version if page else since,
        hash_key_id=ctx.device_key.kid,
        hash_key=urlsafe_b64encode(ctx.device_key.secret).rstrip(b"=").decode("ascii"),
        changes=[DenyDelta.model_validate(c, from_attributes=True) for c in page],
        more=len(changes) > limit,
    )
