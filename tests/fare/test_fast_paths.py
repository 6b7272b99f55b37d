"""The shortcuts of `fare.pricing` give what the general path gives: legs already in time
order are not sorted, a day of one-product legs is priced without the search, caps out of
reach are not run, bike and parking prices are kept by duration. Each tariff below sits at
an edge of one of them; every quote (or error) must equal the one priced with the
shortcuts off, with or without the greedy split."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fare.indexes
from fare import BikeLeg, FareError, Leg, ParkingLeg, Quote, Tariff, TransitLeg, price
from fare.indexes import indexes_of
from fare.servicedays import service_day_of
from tests.fare.builders import PARIS, TOML, Journey, csv, routes, stops, tariff
from tests.fare.demo import dijon
from tests.fare.test_join_rules import SAME_NETWORK, joined_tariff

CAP_HEADER = "cap_id,cap_name,period,amount,currency,network_ids,rider_category_id,fare_media_id"
PARK_AND_RIDE = """[[park_and_ride]]
tariff_id = "street"
amount = "0.50"
"""
BIKE = {
    "plan_id": "bike",
    "currency": "EUR",
    "price": 1.00,
    "per_min_pricing": [{"start": 30, "rate": 1.0, "interval": 30}],
}
PARKING = [
    {
        "id": "street",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "TIME", "price": 2.0, "step_size": 900}]}],
    },
    {
        "id": "garage",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [{"type": "TIME", "price": 3.0, "step_size": 600}],
                "restrictions": {"start_time": "08:00", "end_time": "19:00"},
            },
            {"price_components": [{"type": "TIME", "price": 1.0, "step_size": 600}]},
        ],
    },
]


def mixed_tariff() -> Tariff:
    """Free timed transfers (the greedy shape) on trams; buses priced by timeframe, free in
    the evening; caps that count bike and parking too; park-and-ride."""
    return tariff(
        networks=csv("network_id", "tram", "bus"),
        routes=routes("T1 tram tram", "T2 tram tram", "B1 bus bus"),
        stops=csv("stop_id,stop_name", "a,Alpha", "b,Beta", "c,Gamma"),
        timeframes=csv(
            "timeframe_group_id,start_time,end_time,service_id",
            "evening,19:00:00,24:00:00,all",
            "day,00:00:00,19:00:00,all",
        ),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "single,Single,1.30,EUR",
            "bus_day,Bus,1.50,EUR",
            "bus_evening,Bus evening,0.00,EUR",
        ),
        fare_leg_rules=csv(
            "leg_group_id,network_id,from_timeframe_group_id,fare_product_id",
            "tram,tram,,single",
            "bus,bus,day,bus_day",
            "bus,bus,evening,bus_evening",
        ),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type",
            "tram,tram,-1,3600,1,0",
            "bus,bus,-1,5400,0,0",
        ),
        fare_capping=csv(
            CAP_HEADER,
            "day,Daily cap,day,3.50,EUR,,,",
            "all,All modes,day,9.00,EUR,tram bike parking,,",
        ),
        gbfs=json.dumps({"data": {"plans": [BIKE]}}),
        parking_tariffs=json.dumps({"tariffs": PARKING}),
        tariff_toml=TOML.format(currency="EUR") + PARK_AND_RIDE,
    )


def costed_tariff() -> Tariff:
    """Transfers that cost something (no greedy split), to the same and to a dearer leg."""
    return tariff(
        networks=csv("network_id", "na", "nb"),
        routes=routes("RA bus na", "RA2 bus na", "RB bus nb"),
        stops=stops("s1", "s2", "s3"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "A,Fare A,2.00,EUR",
            "B,Fare B,3.00,EUR",
            "T,Transfer,0.50,EUR",
            "AB,Transfer A to B,-0.50,EUR",
        ),
        fare_leg_rules=csv("leg_group_id,network_id,fare_product_id", "GA,na,A", "GB,nb,B"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type,fare_product_id",
            "GA,GA,-1,0,T",
            "GA,GB,,1,AB",
        ),
    )


@cache
def tariffs() -> dict[str, Tariff]:
    return {
        "dijon": dijon(),
        "mixed": mixed_tariff(),
        "costed transfers": costed_tariff(),
        "joins": joined_tariff(SAME_NETWORK, return_trip="3.00"),
    }


@cache
def without_shortcuts(name: str, *, greedy: bool) -> Tariff:
    copy = dataclasses.replace(tariffs()[name])  # a new tariff object gets its own indexes
    indexes = indexes_of(copy)
    indexes.fast = False
    indexes.greedy = indexes.greedy and greedy
    return copy


BASES = (
    datetime(2026, 11, 26, 4, 0, tzinfo=PARIS),
    datetime(2026, 10, 24, 22, 0, tzinfo=PARIS),  # the night the clocks go back
    datetime(2026, 3, 28, 22, 0, tzinfo=PARIS),  # the night they go forward
)
ZONES = (PARIS, UTC, timezone(timedelta(hours=-5)))
GAPS = (0, 1, 20, 30, 45, 59, 60, 61, 75, 90, 120, 180, 300, 1440)  # minutes between legs


@st.composite
def card(draw: st.DrawFn, t: Tariff) -> list[Leg]:
    route_ids, stop_ids = sorted(t.routes), sorted(t.stops)
    moment = draw(st.sampled_from(BASES))
    legs: list[Leg] = []
    for _ in range(draw(st.integers(0, 8))):
        moment += timedelta(minutes=draw(st.sampled_from(GAPS)))
        start = moment.astimezone(draw(st.sampled_from(ZONES)))
        took = timedelta(minutes=draw(st.integers(-1, 400)))  # -1: ends before it starts
        kind = draw(st.integers(0, 5))
        if kind == 4 and t.bike_plans:
            legs.append(BikeLeg(draw(st.sampled_from(sorted(t.bike_plans))), start, start + took))
        elif kind == 5 and t.parking_tariffs:
            tariff_id = draw(st.sampled_from(sorted(t.parking_tariffs)))
            legs.append(ParkingLeg(tariff_id, start, start + took))
        else:
            to_stop = draw(st.none() | st.sampled_from(stop_ids))
            end = draw(st.sampled_from((start + took, None)))
            from_stop = draw(st.sampled_from(stop_ids))
            legs.append(
                TransitLeg(draw(st.sampled_from(route_ids)), from_stop, to_stop, start, end)
            )
    if draw(st.booleans()):
        legs.reverse()  # most cards come in time order; some do not
    return legs


def outcome(t: Tariff, legs: list[Leg]) -> Quote | tuple[str, str, int | None]:
    try:
        return price(t, legs)
    except FareError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "leg_index", None))


@pytest.mark.parametrize("name", ["dijon", "mixed", "costed transfers", "joins"])
@settings(max_examples=250, deadline=None, derandomize=True)  # coverage: every shortcut
@given(data=st.data())
def test_shortcuts_give_what_the_general_path_gives(name: str, data: st.DataObject) -> None:
    t = tariffs()[name]
    legs = data.draw(card(t))
    fast = outcome(t, legs)
    assert fast == outcome(without_shortcuts(name, greedy=True), legs)
    assert fast == outcome(without_shortcuts(name, greedy=False), legs)
    if isinstance(fast, Quote):
        for priced in fast.legs:
            assert priced.service_day == service_day_of(legs[priced.index].start, t.config)


def test_memos_of_bike_and_parking_prices_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fare.indexes, "MEMO_LIMIT", 2)
    t = dataclasses.replace(mixed_tariff())
    journey = Journey()
    for minutes in (10, 40, 70, 100):
        journey.bike_for("bike", "06:00", minutes).park_for("street", "06:00", minutes)
    quote = journey.price(t)
    indexes = indexes_of(t)
    assert len(indexes.bikes) <= 2
    assert len(indexes.stays) <= 2
    assert quote == journey.price(without_shortcuts("mixed", greedy=True))


def test_a_cap_reached_by_a_few_cents_is_applied() -> None:
    # Three 1.30 sub-journeys against a 3.50 daily cap: the shortcut must not skip it.
    journey = Journey().ride("T1", "a", "b", "07:00").ride("T1", "b", "c", "09:00")
    quote = journey.ride("T2", "c", "a", "11:00").price(tariffs()["mixed"])
    assert [(a.kind, a.amount_minor) for a in quote.adjustments] == [("cap", -40)]
    assert quote == journey.price(without_shortcuts("mixed", greedy=True))
