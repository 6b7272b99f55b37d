"""Tables of the validators package: devices, card keys, cards, taps, the deny list.

No table holds a card number: a card is its token (keyed HMAC) plus what PCI DSS lets us
keep in the clear (BIN, last 4, expiry month, scheme, PAR).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from validators.schema import UTCDateTime


class Device(SQLModel, table=True):
    __tablename__ = "devices"

    device_id: str = Field(primary_key=True, max_length=64)
    operator_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    route_id: str | None = Field(default=None, max_length=64)
    stop_id: str | None = Field(default=None, max_length=64)
    facility_id: str | None = Field(default=None, max_length=64)
    public_key_pem: str = Field(max_length=400)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeviceTokenUse(SQLModel, table=True):
    """JWT ids already accepted: a replayed device token is refused by every worker."""

    __tablename__ = "device_token_uses"

    jti: str = Field(primary_key=True, max_length=128)
    device_id: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class CardKey(SQLModel, table=True):
    """X25519 keys that open card envelopes. `active` keys are published; `decrypt_only`
    keys still open envelopes sealed before a rotation; `retired` keys open nothing."""

    __tablename__ = "card_keys"

    kid: str = Field(primary_key=True, max_length=64)
    public_key: str = Field(max_length=64)
    # The private key, AES-GCM-wrapped under TICKETING_CARD_KEY_ENCRYPTION_KEY.
    wrapped_private_key: bytes = Field(sa_type=sa.LargeBinary)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Card(SQLModel, table=True):
    __tablename__ = "cards"

    token: str = Field(primary_key=True, max_length=80)
    token_kid: str = Field(max_length=32)
    bin6: str = Field(max_length=6)
    last4: str = Field(max_length=4)
    expiry_month: date
    scheme: str = Field(max_length=16)
    par: str | None = Field(default=None, max_length=32)
    # Keyed hash the offline validators can compute themselves (see validators.denylist).
    device_hash: str = Field(max_length=64, index=True)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)


class PendingEnrolment(SQLModel, table=True):
    """A card envelope kept, still sealed as the device sent it, until the card is
    registered with a processor that needs the number (Stripe): intake writes it for a
    card without a processor reference, `settlement.enrolment` opens it, enrols the card
    and deletes it. One per card: later taps of the card add nothing."""

    __tablename__ = "pending_enrolments"

    card_token: str = Field(primary_key=True, max_length=80)
    kid: str = Field(max_length=64)
    sealed: str = Field(max_length=8192)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Tap(SQLModel, table=True):
    """Every tap a device posted, accepted or rejected, exactly once per `tap_id`.

    On PostgreSQL the table is partitioned by `service_day` (see `validators.partitions`),
    so every unique key carries the day: the primary key there is (id, service_day) and
    `tap_id` is unique per day. A validator's retry repeats the tap's `occurred_at`, hence
    its day, so the unique key still catches it; intake also looks a batch's ids up on its
    days and the day either side (`ix_taps_tap_id`) before it inserts. A tap id reused
    with a clock days apart is not a retry: it is stored as the new tap it claims to be."""

    __tablename__ = "taps"
    __table_args__ = (
        sa.UniqueConstraint("service_day", "tap_id"),
        sa.Index("ix_taps_tap_id", "tap_id"),
        sa.Index("ix_taps_service_day_card_token", "service_day", "card_token"),
        sa.Index("ix_taps_card_token_occurred_at", "card_token", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tap_id: str = Field(max_length=36)
    device_id: str = Field(max_length=64)
    operator_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime)
    # A rejected tap has one too (of its `occurred_at`, or of its arrival when that is
    # unreadable): it is the partition key, and retention counts from it.
    service_day: date
    route_id: str | None = Field(default=None, max_length=64)
    stop_id: str | None = Field(default=None, max_length=64)
    vehicle_id: str | None = Field(default=None, max_length=64)
    bike_id: str | None = Field(default=None, max_length=64)
    plan_id: str | None = Field(default=None, max_length=64)
    facility_id: str | None = Field(default=None, max_length=64)
    card_token: str | None = Field(default=None, max_length=80)
    atc: int | None = None
    # accepted | rejected | double_tap (a card's repeat of the same tap within seconds)
    status: str = Field(max_length=16)
    decision: str = Field(max_length=8)
    reason: str | None = Field(default=None, max_length=64)
    # The tap's service day was already closed when it arrived: settled as an adjustment.
    late: bool = False


class DenyListEntry(SQLModel, table=True):
    """Cards refused now. Each change also appends a DenyListChange (versioned deltas)."""

    __tablename__ = "deny_list"

    card_token: str = Field(primary_key=True, max_length=80)
    reason: str = Field(max_length=32)
    version: int
    added_at: datetime = Field(sa_type=UTCDateTime)


class DenyListChange(SQLModel, table=True):
    __tablename__ = "deny_list_changes"

    version: int | None = Field(default=None, primary_key=True)
    card_token: str = Field(max_length=80)
    device_hash: str = Field(max_length=64)
    action: str = Field(max_length=8)  # add | remove
    reason: str = Field(max_length=32)
    changed_at: datetime = Field(sa_type=UTCDateTime)


class ServiceDay(SQLModel, table=True):
    """The life of a service day: open while taps come in, closed once settled."""

    __tablename__ = "service_days"

    day: date = Field(primary_key=True)
    status: str = Field(default="open", max_length=16)  # open | closing | closed
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=320)


class TariffVersion(SQLModel, table=True):
    """A published tariff directory, active from `effective_from` until a later version."""

    __tablename__ = "tariff_versions"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    effective_from: date = Field(index=True)
    # The directory's files as {relative path: base64 content}, exactly as published.
    files: dict[str, str] = Field(sa_type=sa.JSON)
    loaded_at: datetime = Field(sa_type=UTCDateTime)


class RiderCard(SQLModel, table=True):
    """A card linked to a rider's account: at most one account per card."""

    __tablename__ = "rider_cards"

    card_token: str = Field(primary_key=True, max_length=80)
    # What the rider sees and names in URLs: never the token itself.
    card_id: str = Field(max_length=36, unique=True)
    user_id: int = Field(index=True)
    linked_at: datetime = Field(sa_type=UTCDateTime)


class RateLimitCounter(SQLModel, table=True):
    """Requests per key and fixed window, shared by every worker and machine."""

    __tablename__ = "rate_limit_counters"

    key: str = Field(primary_key=True, max_length=200)
    window_start: int = Field(primary_key=True)  # Unix seconds
    count: int = 0


class CardTokenLink(SQLModel, table=True):
    """One card's tokens under successive token keys, joined into one card.

    Each token of a linked card has a row naming the card's `first_token`: the oldest
    token we know the card under, its stable identity. Every token of one card shares
    it, so "all tokens of this card" is one self-join on `first_token` however many
    rotations the card has lived through (a chain of `previous_token`s would need a
    recursive walk in every reader). The first token has a row of its own (its
    `first_token` is itself, `previous_token` empty) so readers need no special case.
    Rows are written at intake (see `validators.tokenlinks`) and never changed: the
    charges, legs and debts already stored under an old token stay as they are.
    """

    __tablename__ = "card_token_links"

    token: str = Field(primary_key=True, max_length=80)
    first_token: str = Field(max_length=80, index=True)
    # The token it was linked from (the card's token under a previous key).
    previous_token: str | None = Field(default=None, max_length=80)
    linked_at: datetime = Field(sa_type=UTCDateTime)
