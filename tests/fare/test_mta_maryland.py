"""Reference §7, MTA Maryland: four products on one leg group, a group-to-itself
transfer with unlimited count within 90 minutes of the first departure."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, stops, tariff, total


@pytest.fixture(scope="module")
def mta() -> Tariff:
    return tariff(
        "USD",
        networks=csv("network_id", "core"),
        routes=routes("LOCAL bus core", "LINK bus core"),
        stops=stops("a", "b", "c"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "core_local_one_way_trip,One-way,2.00,USD",
            "core_local_1_day_pass,1-day pass,4.60,USD",
            "core_local_7_day_pass,7-day pass,22.00,USD",
            "core_local_31_day_pass,31-day pass,77.00,USD",
        ),
        fare_leg_rules=csv(
            "leg_group_id,network_id,fare_product_id",
            "core_local_one_way_trip,core,core_local_one_way_trip",
            "core_local_one_way_trip,core,core_local_1_day_pass",
            "core_local_one_way_trip,core,core_local_7_day_pass",
            "core_local_one_way_trip,core,core_local_31_day_pass",
        ),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type",
            "core_local_one_way_trip,core_local_one_way_trip,-1,5400,1,0",
        ),
    )


def test_any_number_of_legs_within_ninety_minutes_cost_one_fare(mta: Tariff) -> None:
    journey = (
        Journey()
        .ride("LOCAL", "a", "b", "08:00", "08:30")
        .ride("LINK", "b", "c", "08:45", "09:10")
        .ride("LOCAL", "c", "a", "09:30", "09:50")
    )
    quote = journey.price(mta)
    assert quote.total_minor == 200
    assert {leg.fare_product_id for leg in quote.legs} == {"core_local_one_way_trip"}


def test_a_leg_departing_at_minute_91_starts_a_new_fare(mta: Tariff) -> None:
    journey = Journey().ride("LOCAL", "a", "b", "08:00").ride("LINK", "b", "c", "09:31")
    assert total(mta, journey) == 400


def test_best_fare_picks_the_one_way_among_four_products(mta: Tariff) -> None:
    quote = Journey().ride("LOCAL", "a", "b", "08:00").price(mta)
    assert quote.legs[0].fare_product_id == "core_local_one_way_trip"
    assert quote.total_minor == 200
