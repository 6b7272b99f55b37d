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


def test_the_cheapest_split_is_not_always_the_longest_first_sub_journey() -> None:
    # Free transfers within the hour; the 08:50 leg is cheap and the 09:30 one dear.
    unequal = tariff(
        networks=csv("network_id", "a", "b", "c"),
        routes=routes("RA bus a", "RB bus b", "RC bus c"),
        stops=stops("s1", "s2"),
        fare_products=csv(
            "fare_product_id,amount,currency", "pa,2.00,EUR", "pb,1.00,EUR", "pc,3.00,EUR"
        ),
        fare_leg_rules=csv("leg_group_id,network_id,fare_product_id", "G,a,pa", "G,b,pb", "G,c,pc"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type",
            "G,G,-1,3600,1,0",
        ),
    )
    journey = (
        Journey()
        .ride("RA", "s1", "s2", "08:00")
        .ride("RB", "s2", "s1", "08:50")
        .ride("RC", "s1", "s2", "09:30")
    )
    quote = journey.price(unequal)
    assert quote.total_minor == 300  # 2.00, then 1.00 with a free transfer to the 3.00 leg
    assert [a.leg_index for a in quote.adjustments] == [2]
