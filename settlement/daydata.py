"""Reading a day's taps and writing its priced card-days, set-based.

Shared by the close (every card of a day) and the late-tap adjustments (a few card-days
of earlier days), so both read and write the same shapes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from fare import BikeLeg, Leg, ParkingLeg, Tariff, TransitLeg
from settlement.bulk import insert_rows, is_postgresql, key_filters
from settlement.cardday import PricedCardDay
from settlement.journeys import TapRecord
from settlement.store import PricedAdjustment, PricedLeg
from validators.schema import table_of
from validators.store import CardTokenLink, Tap
from validators.tokenlinks import kin

TAP_COLUMNS = (
    "id",
    "kind",
    "occurred_at",
    "card_token",
    "route_id",
    "stop_id",
    "bike_id",
    "plan_id",
    "facility_id",
    "status",
    "decision",
)

LEG_COLUMNS = (
    "card_token",
    "service_day",
    "revision",
    "superseded",
    "leg_index",
    "kind",
    "operator_id",
    "network_id",
    "amount_minor",
    "standalone_minor",
    "fare_product_id",
    "explanation",
    "route_id",
    "from_stop_id",
    "to_stop_id",
    "plan_id",
    "tariff_id",
    "started_at",
    "ended_at",
    "start_tap_id",
    "end_tap_id",
)
ADJUSTMENT_COLUMNS = (
    "card_token",
    "service_day",
    "revision",
    "superseded",
    "kind",
    "amount_minor",
    "explanation",
    "leg_index",
    "cap_id",
)

CHARGE_COLUMNS = (
    "id",
    "card_token",
    "service_day",
    "kind",
    "sequence",
    "posted_day",
    "amount_minor",
    "currency",
    "status",
    "idempotency_key",
    "attempts",
    "notes",
    "created_at",
    "updated_at",
)
# A close's charges: some answered already as they are created (`settlement.processor`
# `InstantAnswers`), with the processor's id, its fee and when.
DAY_CHARGE_COLUMNS = (*CHARGE_COLUMNS, "processor_id", "fee_minor", "charged_at")
SHARE_COLUMNS = (
    "charge_id",
    "service_day",
    "operator_id",
    "amount_minor",
    "standalone_minor",
    "legs",
)


@dataclass(frozen=True, slots=True)
class DayTaps:
    by_card: dict[str, list[TapRecord]]
    unlocks: list[TapRecord]
    returns: list[TapRecord]
    count: int
    max_id: int


def day_end(tariff: Tariff, day: date) -> datetime:
    """When service day `day` ends: the next local day's start (04:30 by default)."""
    config = tariff.config
    seconds = config.service_day_start_s
    start = time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
    return datetime.combine(day + timedelta(days=1), start, tzinfo=config.timezone)


def tap_out_routes(tariff: Tariff) -> frozenset[str]:
    networks = tariff.config.tap_out_networks
    return frozenset(r.route_id for r in tariff.routes.values() if r.network_id in networks)


def default_plan(tariff: Tariff) -> str | None:
    return next(iter(tariff.bike_plans), None)


def group_taps(rows: Iterable[Sequence[Any]]) -> DayTaps:
    by_card: dict[str, list[TapRecord]] = {}
    unlocks: list[TapRecord] = []
    returns: list[TapRecord] = []
    count = 0
    max_id = 0
    make = TapRecord._make
    for row in rows:
        tap = make(row)
        count += 1
        max_id = max(max_id, tap.id)
        kind = tap.kind
        if kind == "bike_return":
            returns.append(tap)
            continue
        if kind == "bike_unlock":
            unlocks.append(tap)
        token = tap.card_token
        if token is not None:
            found = by_card.get(token)
            if found is None:
                by_card[token] = [tap]
            else:
                found.append(tap)
    return DayTaps(by_card, unlocks, returns, count, max_id)


def load_day_taps(session: Session, day: date) -> DayTaps:
    """Every accepted tap of the day in one query (refused ones too: a refused tap is
    kept out of the legs by `journeys`, which notes it for the rider)."""
    taps = table_of(Tap)
    query = sa.select(*(taps.c[name] for name in TAP_COLUMNS)).where(
        taps.c.service_day == day, taps.c.status == "accepted"
    )
    if not is_postgresql(session):
        return group_taps(session.execute(query))
    # A million rows through SQLAlchemy's result processing cost seconds: read them with
    # the driver, and turn the times into UTC as `UTCDateTime` would.
    raw = session.connection().connection.driver_connection
    assert raw is not None
    compiled = query.compile(dialect=session.get_bind().dialect)
    # Millions of tuples and no reference cycle: the cyclic collector would only rescan
    # the growing heap again and again (a third of the time), so it waits.
    paused = gc.isenabled()
    gc.disable()
    try:
        with raw.cursor() as cursor:
            # Times come back in UTC (sessions are, `ticketing.db.make_engine`), as
            # `UTCDateTime` gives them, with no conversion per row in Python.
            cursor.execute(str(compiled), compiled.params)
            return group_taps(cursor)
    finally:
        if paused:
            gc.enable()


def load_card_day_taps(session: Session, day: date, tokens: Sequence[str]) -> DayTaps:
    """The taps of a few cards on one day, plus every bike tap of the bikes they rode
    (returns carry no card: they are matched over all unlocks of those bikes)."""
    taps = table_of(Tap)
    columns = [taps.c[name] for name in TAP_COLUMNS]
    rows = list(
        session.execute(
            sa.select(*columns).where(
                taps.c.service_day == day,
                taps.c.status == "accepted",
                taps.c.card_token.in_(list(tokens)),
            )
        )
    )
    bikes = {row[6] for row in rows if row[1] == "bike_unlock" and row[6] is not None}
    if bikes:
        rows += list(
            session.execute(
                sa.select(*columns).where(
                    taps.c.service_day == day,
                    taps.c.status == "accepted",
                    taps.c.bike_id.in_(sorted(bikes)),
                    taps.c.kind.in_(["bike_unlock", "bike_return"]),
                    sa.or_(taps.c.card_token.is_(None), taps.c.card_token.not_in(list(tokens))),
                )
            )
        )
    grouped = group_taps(rows)
    wanted = set(tokens)
    return DayTaps(
        {t: taps_ for t, taps_ in grouped.by_card.items() if t in wanted},
        grouped.unlocks,
        grouped.returns,
        grouped.count,
        grouped.max_id,
    )


def earlier_legs(
    session: Session, tokens: Sequence[str], start: date, end: date
) -> dict[str, list[Leg]]:
    """The current priced legs of the cards on days `start` <= day < `end`, as fare legs
    again (caps count what earlier days consumed)."""
    found: dict[str, list[Leg]] = {}
    if start >= end or not tokens:
        return found
    # Caps hold per card, not per token: a card's days under its token of an older key
    # (before a token-key rotation) count as its own.
    owners = _owners(session, tokens)
    legs = table_of(PricedLeg)
    columns = (
        legs.c.card_token,
        legs.c.kind,
        legs.c.route_id,
        legs.c.from_stop_id,
        legs.c.to_stop_id,
        legs.c.plan_id,
        legs.c.tariff_id,
        legs.c.started_at,
        legs.c.ended_at,
    )
    for condition in key_filters(session, legs.c.card_token, list(owners)):
        rows = session.execute(
            sa.select(*columns).where(
                legs.c.service_day >= start,
                legs.c.service_day < end,
                legs.c.superseded.is_(False),
                condition,
            )
        )
        for token, kind, route, from_stop, to_stop, plan, tariff_id, started, ended in rows:
            leg: Leg
            if kind == "transit":
                leg = TransitLeg(route, from_stop, to_stop, started, ended)
            elif kind == "bike":
                leg = BikeLeg(plan, started, ended)
            else:
                leg = ParkingLeg(tariff_id, started, ended)
            for owner in owners[token]:
                found.setdefault(owner, []).append(leg)
    return found


def _owners(session: Session, tokens: Sequence[str]) -> dict[str, list[str]]:
    """{token whose legs to read: the given tokens they count for}."""
    owners = {token: [token] for token in tokens}
    links = table_of(CardTokenLink)
    if session.execute(sa.select(links.c.token).limit(1)).first() is None:
        return owners  # no token key was ever rotated: nothing to look up per token
    for condition in key_filters(session, links.c.token, tokens):
        for token, kin_token in session.execute(kin().where(condition)):
            if kin_token != token:
                owners.setdefault(kin_token, []).append(token)
    return owners


def leg_rows(
    card_token: str, day: date, revision: int, priced: PricedCardDay
) -> Iterable[tuple[Any, ...]]:
    for index, (journey, leg_price) in enumerate(zip(priced.legs, priced.prices, strict=True)):
        leg = journey.leg
        route = from_stop = to_stop = plan = tariff_id = None
        if isinstance(leg, TransitLeg):
            route, from_stop, to_stop = leg.route_id, leg.from_stop_id, leg.to_stop_id
        elif isinstance(leg, BikeLeg):
            plan = leg.plan_id
        else:
            tariff_id = leg.tariff_id
        yield (
            card_token,
            day,
            revision,
            False,
            index,
            leg_price.kind,
            leg_price.operator_id,
            leg_price.network_id,
            leg_price.amount_minor,
            leg_price.standalone_minor,
            leg_price.fare_product_id,
            leg_price.explanation[:1000],
            route,
            from_stop,
            to_stop,
            plan,
            tariff_id,
            leg.start,
            leg.end,
            journey.start_tap_id,
            journey.end_tap_id,
        )


def adjustment_rows(
    card_token: str, day: date, revision: int, priced: PricedCardDay
) -> Iterable[tuple[Any, ...]]:
    # Adjustments name input legs, earlier days' included; stored indexes count from the
    # day's first leg.
    offset = priced.offset
    for adjustment in priced.adjustments:
        index = adjustment.leg_index
        yield (
            card_token,
            day,
            revision,
            False,
            adjustment.kind,
            adjustment.amount_minor,
            adjustment.explanation[:1000],
            None if index is None else index - offset,
            adjustment.cap_id,
        )


def write_priced(
    session: Session,
    legs: Iterable[tuple[Any, ...]],
    adjustments: Iterable[tuple[Any, ...]],
) -> int:
    count = insert_rows(session, PricedLeg, LEG_COLUMNS, legs)
    insert_rows(session, PricedAdjustment, ADJUSTMENT_COLUMNS, adjustments)
    return count
