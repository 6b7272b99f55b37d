"""Tap intake: a device's batch in, one stored row and one decision per tap out.

Each tap is judged on its own (one bad tap never fails its batch), and the batch is
written with a handful of set-based statements whatever its size: one read of known
tap ids, one insert of new cards, one read of the deny list, one read of recent taps
for double-tap detection, one insert of the taps.

Answers:
- `rejected` + deny: the tap cannot be tied to a valid card (envelope, key, TLV, Luhn,
  malformed tap). Stored with its reason, without card data.
- `accepted` + deny: a valid card we refuse (deny list, expired, scheme not accepted).
- `accepted` + allow: everything else, unknown cards included (first-ride risk).
- `duplicate`: a `tap_id` seen before (the original decision is repeated, nothing is
  stored), or the same card tapping again with the same ATC within seconds (a double
  tap: stored for the record, never priced).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlmodel import Session, col, select

from validators import tokenlinks
from validators.card import CardRead, CardRejected, open_card
from validators.enrolments import keep_for_enrolment
from validators.insert import insert_ignoring_conflicts
from validators.schema import table_of
from validators.store import Card, DenyListEntry, Device, ServiceDay, Tap
from validators.tokens import KeyRing, TokenKey

DOUBLE_TAP_WINDOW = timedelta(seconds=10)
ACCEPTED_SCHEMES = frozenset({"visa", "mastercard", "cb", "amex", "maestro", "discover", "jcb"})
CARD_KINDS = frozenset({"tap_in", "tap_out", "bike_unlock", "parking_entry", "parking_exit"})

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CardEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kid: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    sealed: Annotated[str, StringConstraints(min_length=1, max_length=8192)]


class TapIn(BaseModel):
    """One tap as a device posts it (DESIGN §4.4)."""

    model_config = ConfigDict(extra="forbid")

    tap_id: UUID
    occurred_at: AwareDatetime
    kind: Literal[
        "tap_in", "tap_out", "bike_unlock", "bike_return", "parking_entry", "parking_exit"
    ]
    route_id: Ident | None = None
    stop_id: Ident | None = None
    vehicle_id: Ident | None = None
    bike_id: Ident | None = None
    plan_id: Ident | None = None
    facility_id: Ident | None = None
    card: CardEnvelope | None = None


class TapBatch(BaseModel):
    # Items are validated one by one in `ingest` (as TapIn), so a bad one is rejected
    # alone instead of failing the whole batch with a 422.
    taps: Annotated[
        list[Any],
        Field(min_length=1, max_length=1000, description="1 to 1000 taps (see TapIn)"),
    ]


@dataclass(frozen=True, slots=True)
class TapResult:
    tap_id: str | None
    status: str  # accepted | duplicate | rejected
    decision: str  # allow | deny
    reason: str | None = None
    detail: str | None = None  # what was malformed, for the device's maintainers


@dataclass(frozen=True, slots=True)
class IntakeKeys:
    card_keys: Mapping[str, X25519PrivateKey]
    token_key: TokenKey | KeyRing
    device_key: TokenKey


@dataclass(slots=True)
class _Pending:
    position: int
    tap: TapIn
    card: CardRead | None
    status: str = "accepted"
    decision: str = "allow"
    reason: str | None = None


def ingest(
    session: Session,
    *,
    device: Device,
    raw_taps: Sequence[Any],
    keys: IntakeKeys,
    service_day_of: Callable[[datetime], date],
    now: datetime,
    keep_envelopes: bool = False,
) -> list[TapResult]:
    """`keep_envelopes`: keep each new card's envelope, sealed, for enrolment with a
    processor that needs the number (see `validators.enrolments`)."""
    results: list[TapResult | None] = [None] * len(raw_taps)
    rows: list[dict[str, Any]] = []
    pending: list[_Pending] = []
    seen_ids: set[str] = set()

    def reject(
        position: int, tap_id: str | None, reason: str, detail: str, tap: TapIn | None = None
    ) -> None:
        results[position] = TapResult(tap_id, "rejected", "deny", reason, detail)
        day = service_day_of(tap.occurred_at if tap else now)
        rows.append(
            _row(device, tap_id, now, status="rejected", reason=reason, tap=tap, service_day=day)
        )

    parsed: list[tuple[int, TapIn]] = []
    for position, raw in enumerate(raw_taps):
        try:
            tap = TapIn.model_validate(raw)
        except ValidationError as exc:
            tap_id = _raw_tap_id(raw)
            reason = "malformed_tap"
            if tap_id is not None and tap_id in seen_ids:
                tap_id = None  # stored under a fresh key; the first copy keeps the id
            reject(position, tap_id, reason, _first_problem(exc))
            continue
        parsed.append((position, tap))

    known = _known_taps(
        session,
        [str(tap.tap_id) for _, tap in parsed],
        {service_day_of(tap.occurred_at) for _, tap in parsed},
    )
    for position, tap in parsed:
        tap_id = str(tap.tap_id)
        if tap_id in known:
            results[position] = known[tap_id]
            continue
        if tap_id in seen_ids:
            results[position] = TapResult(tap_id, "duplicate", "allow")  # fixed up below
            continue
        seen_ids.add(tap_id)
        problem = _missing_field(tap, device)
        if problem is not None:
            reject(position, tap_id, "malformed_tap", f"{problem}: missing", tap)
            continue
        card: CardRead | None = None
        if tap.card is not None:
            try:
                card = open_card(
                    tap.card.sealed,
                    kid=tap.card.kid,
                    keys=keys.card_keys,
                    occurred_at=tap.occurred_at,
                    token_key=keys.token_key,
                    device_key=keys.device_key,
                )
            except CardRejected as exc:
                reject(position, tap_id, exc.reason, exc.detail, tap)
                continue
        pending.append(_Pending(position, tap, card))

    _remember_cards(session, [p.card for p in pending if p.card is not None], now)
    # Before the facts: a card seen for the first time under a new token key is then
    # denied for what its old token owes, in this very batch.
    tokenlinks.record(session, [p.card for p in pending if p.card is not None], now)
    if keep_envelopes:
        keep_for_enrolment(session, _envelopes(pending), now=now)
    facts = _facts(session, pending, {service_day_of(p.tap.occurred_at) for p in pending})
    _decide(pending, facts)
    closed = facts.closed_days
    for item in pending:
        day = service_day_of(item.tap.occurred_at)
        rows.append(
            _row(
                device,
                str(item.tap.tap_id),
                now,
                tap=item.tap,
                card=item.card,
                status=item.status,
                decision=item.decision,
                reason=item.reason,
                service_day=day,
                late=day in closed,
            )
        )

    inserted = insert_ignoring_conflicts(
        session, Tap, rows, conflict_column=("service_day", "tap_id"), returning="tap_id"
    )
    for item in pending:
        public_status = "duplicate" if item.status == "double_tap" else item.status
        results[item.position] = TapResult(
            str(item.tap.tap_id), public_status, item.decision, item.reason
        )
    # Rows another connection stored first (the same batch posted twice at once) are
    # duplicates now; answer with what that connection decided.
    lost = {row["tap_id"] for row in rows} - inserted
    days = {row["service_day"] for row in rows}
    stored = _known_taps(session, sorted(lost), days) if lost else {}
    first: dict[str | None, TapResult] = {}
    for position, result in enumerate(results):
        if result is None:
            continue
        if result.status != "duplicate" and result.tap_id in stored:
            results[position] = stored[result.tap_id]
        elif result.status != "duplicate":
            first.setdefault(result.tap_id, result)
        elif result.tap_id in first:  # a repeat inside this batch
            original = first[result.tap_id]
            results[position] = TapResult(
                result.tap_id, "duplicate", original.decision, original.reason
            )
    return [r for r in results if r is not None]


def _decide(pending: list[_Pending], facts: _Facts) -> None:
    denied, recent = facts.denied, facts.recent_atcs
    for item in sorted(pending, key=lambda p: p.tap.occurred_at):
        card = item.card
        if card is None:
            continue  # bike_return: tied to its rental when the day is settled
        if card.atc is not None:
            earlier = recent.get((card.token, card.atc), [])
            if any(abs(item.tap.occurred_at - t) <= DOUBLE_TAP_WINDOW for t in earlier):
                item.status, item.reason = "double_tap", "double_tap"
                continue
            recent.setdefault((card.token, card.atc), []).append(item.tap.occurred_at)
        if card.token in denied:
            item.decision, item.reason = "deny", "deny_list"
        elif card.expired:
            item.decision, item.reason = "deny", "card_expired"
        elif card.scheme not in ACCEPTED_SCHEMES:
            item.decision, item.reason = "deny", "scheme_not_accepted"


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the database says about a batch's cards and days, read in one round trip."""

    denied: dict[str, str]  # token -> reason
    recent_atcs: dict[tuple[str, int], list[datetime]]  # (token, ATC) -> accepted times
    closed_days: set[date]


def _facts(session: Session, pending: list[_Pending], days: set[date]) -> _Facts:
    """Deny list, recent taps with the same ATC (double taps) and closed days, as one
    UNION ALL: a single-tap request would otherwise pay three round trips for them."""
    tokens = sorted({p.card.token for p in pending if p.card is not None})
    with_atc = [p for p in pending if p.card is not None and p.card.atc is not None]
    params: dict[str, Any] = {}
    if with_atc:
        params["atc_tokens"] = sorted({p.card.token for p in with_atc if p.card})
        params["earliest"] = min(p.tap.occurred_at for p in with_atc) - DOUBLE_TAP_WINDOW
        params["latest"] = max(p.tap.occurred_at for p in with_atc) + DOUBLE_TAP_WINDOW
        # The same moments by service day, which taps are partitioned by: a tap of the
        # window is at most one service day before or after.
        params["first_day"] = min(days) - timedelta(days=1)
        params["last_day"] = max(days) + timedelta(days=1)
    if tokens:
        params["tokens"] = tokens
    if days:
        params["days"] = sorted(days)
    denied: dict[str, str] = {}
    recent: dict[tuple[str, int], list[datetime]] = {}
    closed: set[date] = set()
    if not params:
        return _Facts(denied, recent, closed)
    statement = _facts_statement(bool(with_atc), bool(tokens), bool(days))
    for fact, token, value, moment in session.execute(statement, params):
        if fact == "atc":
            recent.setdefault((token, int(value)), []).append(moment)
        elif fact == "deny":
            denied[token] = value
        else:
            closed.add(date.fromisoformat(str(value)[:10]))
    return _Facts(denied, recent, closed)


@lru_cache(maxsize=8)
def _facts_statement(atc: bool, deny: bool, day: bool) -> sa.CompoundSelect[*tuple[Any, ...]]:
    """The facts query of one shape, built once: building it costs as much as running it
    for a single tap. Values come as bound parameters (lists expand)."""
    taps, deny_list, service_days = (
        table_of(Tap),
        table_of(DenyListEntry),
        table_of(ServiceDay),
    )
    parts: list[sa.Select[*tuple[Any, ...]]] = []
    if atc:
        # First, so the union's `moment` column keeps the UTC timestamp type.
        parts.append(
            sa.select(
                sa.literal("atc").label("fact"),
                taps.c.card_token.label("token"),
                sa.cast(taps.c.atc, sa.String).label("value"),
                taps.c.occurred_at.label("moment"),
            ).where(
                taps.c.card_token.in_(sa.bindparam("atc_tokens", expanding=True)),
                taps.c.atc.is_not(None),
                taps.c.status == "accepted",
                taps.c.occurred_at >= sa.bindparam("earliest", type_=taps.c.occurred_at.type),
                taps.c.occurred_at <= sa.bindparam("latest", type_=taps.c.occurred_at.type),
                taps.c.service_day >= sa.bindparam("first_day", type_=sa.Date),
                taps.c.service_day <= sa.bindparam("last_day", type_=sa.Date),
            )
        )
    if deny:
        tokens: sa.BindParameter[Any] = sa.bindparam("tokens", expanding=True)
        parts.append(
            sa.select(
                sa.literal("deny"), deny_list.c.card_token, deny_list.c.reason, sa.null()
            ).where(deny_list.c.card_token.in_(tokens))
        )
        # The same cards under their tokens of older keys (card-token key rotation).
        kin = tokenlinks.kin(tokens).subquery()
        parts.append(
            sa.select(sa.literal("deny"), kin.c.token, deny_list.c.reason, sa.null()).select_from(
                kin.join(deny_list, deny_list.c.card_token == kin.c.kin_token)
            )
        )
    if day:
        parts.append(
            sa.select(
                sa.literal("day"), sa.null(), sa.cast(service_days.c.day, sa.String), sa.null()
            ).where(
                service_days.c.day.in_(sa.bindparam("days", expanding=True)),
                service_days.c.status == "closed",
            )
        )
    return sa.union_all(*parts)


def _known_taps(session: Session, tap_ids: Sequence[str], days: set[date]) -> dict[str, TapResult]:
    """The taps already stored under these ids, looked up on the batch's service days
    and the day either side: a validator's retry repeats a tap's `occurred_at`, hence its
    day, and naming the days keeps PostgreSQL to their partitions."""
    if not tap_ids:
        return {}
    rows = session.exec(
        select(Tap.tap_id, Tap.decision, Tap.reason).where(
            col(Tap.tap_id).in_(tap_ids),
            col(Tap.service_day) >= min(days) - timedelta(days=1),
            col(Tap.service_day) <= max(days) + timedelta(days=1),
        )
    )
    return {
        tap_id: TapResult(tap_id, "duplicate", decision, reason)
        for tap_id, decision, reason in rows
    }


def _remember_cards(session: Session, cards: Sequence[CardRead], now: datetime) -> None:
    unique = {card.token: card for card in cards}
    insert_ignoring_conflicts(
        session,
        Card,
        [
            {
                "token": c.token,
                "token_kid": c.token_kid,
                "bin6": c.bin6,
                "last4": c.last4,
                "expiry_month": c.expiry_month,
                "scheme": c.scheme,
                "par": c.par,
                "device_hash": c.device_hash,
                "first_seen_at": now,
            }
            for c in unique.values()
        ],
        conflict_column="token",
    )


def _envelopes(pending: Sequence[_Pending]) -> dict[str, tuple[str, str]]:
    """The first envelope of each card that can be charged (an expired card cannot)."""
    found: dict[str, tuple[str, str]] = {}
    for item in pending:
        card, envelope = item.card, item.tap.card
        if card is not None and envelope is not None and not card.expired:
            found.setdefault(card.token, (envelope.kid, envelope.sealed))
    return found


def _missing_field(tap: TapIn, device: Device) -> str | None:
    if tap.kind != "bike_return" and tap.card is None:
        return "card"
    if tap.kind in ("tap_in", "tap_out") and not (tap.route_id or device.route_id):
        return "route_id"
    if tap.kind == "tap_in" and not (tap.stop_id or device.stop_id):
        return "stop_id"
    if tap.kind in ("bike_unlock", "bike_return") and not tap.bike_id:
        return "bike_id"
    if tap.kind in ("parking_entry", "parking_exit") and not (
        tap.facility_id or device.facility_id
    ):
        return "facility_id"
    return None


def _row(
    device: Device,
    tap_id: str | None,
    now: datetime,
    *,
    status: str,
    reason: str | None = None,
    decision: str = "deny",
    tap: TapIn | None = None,
    card: CardRead | None = None,
    service_day: date,
    late: bool = False,
) -> dict[str, Any]:
    return {
        # A malformed tap without a usable id is still stored, under a key of its own.
        "tap_id": tap_id or f"x-{_fresh_id()}",
        "device_id": device.device_id,
        "operator_id": device.operator_id,
        "kind": tap.kind if tap else "unknown",
        "occurred_at": tap.occurred_at if tap else now,
        "received_at": now,
        "service_day": service_day,
        "route_id": (tap.route_id or device.route_id) if tap else None,
        "stop_id": (tap.stop_id or device.stop_id) if tap else None,
        "vehicle_id": tap.vehicle_id if tap else None,
        "bike_id": tap.bike_id if tap else None,
        "plan_id": tap.plan_id if tap else None,
        "facility_id": (tap.facility_id or device.facility_id) if tap else None,
        "card_token": card.token if card else None,
        "atc": card.atc if card else None,
        "status": status,
        "decision": decision,
        "reason": reason,
        "late": late,
    }


def _fresh_id() -> str:
    return uuid4().hex[:34]


def _raw_tap_id(raw: Any) -> str | None:
    value = raw.get("tap_id") if isinstance(raw, dict) else None
    try:
        return str(UUID(str(value))) if value is not None else None
    except ValueError:
        return None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
