"""Best fare: the cheapest valid combination of products, transfers and splits of the
day, never a transfer the rider would be better off without."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, stops, tariff, total


@pytest.fixture(scope="module")
def with_day_pass() -> Tariff:
    # A day pass is a product whose leg group transfers to itself without limit; chains
    # never cross the service day, so it covers one service day.
    return tariff(
        networks=csv("network_id", "net"),
        routes=routes("L1 bus net"),
        stops=stops("a", "b"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "single,Single,1.30,EUR",
            "day_pass,Day pass,3.50,EUR",
        ),
        fare_leg_rules=csv(
            "leg_group_id,network_id,fare_product_id", "single,net,single", "day,net,day_pass"
        ),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type",
            "single,single,-1,3600,1,0",
            "day,day,-1,,,0",
        ),
    )


def spread(count: int, journey: Journey | None = None) -> Journey:
    journey = journey or Journey()
    for hour in range(count):
        journey.ride("L1", "a", "b", f"{7 + 3 * hour:02d}:00")
    return journey


def test_a_day_pass_beats_three_singles(with_day_pass: Tariff) -> None:
    quote = spread(3).price(with_day_pass)
    assert quote.total_minor == 350
    assert {leg.fare_product_id for leg in quote.legs} == {"day_pass"}
    assert [leg.standalone_minor for leg in quote.legs] == [130, 130, 130]


def test_two_singles_beat_a_day_pass(with_day_pass: Tariff) -> None:
    assert total(with_day_pass, spread(2)) == 260


def test_a_day_pass_lasts_one_service_day(with_day_pass: Tariff) -> None:
    journey = spread(3)
    spread(3, journey.next_day())
    assert total(with_day_pass, journey) == 700


def test_singles_within_the_hour_still_share_one_fare(with_day_pass: Tariff) -> None:
    journey = Journey().ride("L1", "a", "b", "07:00").ride("L1", "b", "a", "07:30")
    journey.ride("L1", "a", "b", "12:00")
    assert total(with_day_pass, journey) == 260  # three legs, two singles, no day pass
    journey.ride("L1", "b", "a", "17:00")
    assert total(with_day_pass, journey) == 350  # three singles would be 3.90
