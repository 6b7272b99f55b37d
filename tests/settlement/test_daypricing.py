"""Pricing a day on worker processes gives the very rows of pricing it in-process."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from settlement.apportionment import ApportionMethod
from settlement.daydata import day_end, default_plan, group_taps, tap_out_routes
from settlement.daypricing import DayInputs, PricedChunk, price_day
from settlement.journeys import match_bike_returns, next_unlocks
from tests.fare.demo import dijon
from tests.settlement.network import DAY, local

RIDES = (
    ("tap_in", {"route_id": "T1", "stop_id": "GARE"}),
    ("tap_in", {"route_id": "L3", "stop_id": "DARCY"}),
    ("tap_in", {"route_id": "CO", "stop_id": "TOISON"}),
    ("bike_unlock", {"bike_id": "B1", "plan_id": "velodi"}),
    ("parking_entry", {"facility_id": "gare"}),
    ("parking_exit", {"facility_id": "gare"}),
    ("tap_in", {"route_id": "NOWHERE", "stop_id": "GARE"}),  # cannot be priced: a note
)


def day_inputs(*, copy_text: bool, cards: int = 60) -> DayInputs:
    rng = random.Random(6)
    rows: list[tuple[object, ...]] = []
    for card in range(cards):
        at = local(5, 0) + timedelta(minutes=rng.randint(0, 600))
        for _ in range(rng.randint(1, 6)):
            kind, fields = rng.choice(RIDES)
            tap_id = len(rows) + 1
            columns = ("route_id", "stop_id", "bike_id", "plan_id", "facility_id")
            row = [fields.get(name) for name in columns]
            if kind == "bike_unlock":
                row[2] = f"B{card}"
            decision = "deny" if rng.random() < 0.05 else "allow"
            rows.append(
                (tap_id, kind, at.astimezone(UTC), f"card-{card:03d}", *row, "accepted", decision)
            )
            if kind == "bike_unlock" and rng.random() < 0.7:
                back = at + timedelta(minutes=rng.randint(5, 90))
                returned = (len(rows) + 1, "bike_return", back.astimezone(UTC), None, None, None)
                rows.append((*returned, f"B{card}", None, None, "accepted", "allow"))
            at += timedelta(minutes=rng.randint(5, 120))
    taps = group_taps(rows)
    tariff = dijon()
    returns, _ = match_bike_returns(taps.unlocks, taps.returns)
    tokens = sorted(taps.by_card)
    return DayInputs(
        tariff=tariff,
        day=DAY,
        method=ApportionMethod.STANDALONE,
        now=datetime(2026, 11, 27, 4, 30, tzinfo=UTC),
        day_end=day_end(tariff, DAY),
        tap_out_routes=tap_out_routes(tariff),
        default_plan=default_plan(tariff),
        tokens=tokens,
        charge_ids=[1000 + i for i in range(len(tokens))],
        by_card=taps.by_card,
        bike_returns=returns,
        next_unlock=next_unlocks(taps.unlocks),
        earlier={},
        copy_text=copy_text,
    )


def flatten(chunks: list[PricedChunk]) -> list[object]:
    return [
        (c.legs, c.adjustments, c.charges, c.shares, c.cards, c.leg_count, c.charged_minor, c.due)
        for c in chunks
    ]


@pytest.mark.parametrize("copy_text", [False, True])
def test_forked_workers_price_exactly_as_in_process(copy_text: bool) -> None:
    inputs = day_inputs(copy_text=copy_text)
    alone = list(price_day(inputs, workers=1, chunk_cards=7))
    forked = list(price_day(inputs, workers=2, chunk_cards=7))

    assert flatten(forked) == flatten(alone)
    assert sum(c.cards for c in forked) == len(inputs.tokens)
    assert sum(c.charged_minor for c in forked) > 0


def test_chunking_does_not_change_the_rows() -> None:
    inputs = day_inputs(copy_text=False)
    whole = list(price_day(inputs, workers=1, chunk_cards=1_000))
    cut = list(price_day(inputs, workers=1, chunk_cards=4))

    for part in ("legs", "adjustments", "charges", "shares", "due"):
        assert [row for c in cut for row in getattr(c, part)] == list(getattr(whole[0], part))
