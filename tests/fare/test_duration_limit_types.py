"""Reference §4: the four duration_limit_types, measured from the chain's first leg,
inclusive. Leg 1 runs 08:00-08:20, leg 2 08:50-09:15, limit 3600 s: the span is 75 min
for type 0, 50 for type 1, 30 for type 2 and 55 for type 3."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, stops, tariff, total


def limited(kind: int, limit: int = 3600) -> Tariff:
    return tariff(
        networks=csv("network_id", "net"),
        routes=routes("L1 bus net"),
        stops=stops("s1", "s2", "s3"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency", "single,Single,1.30,EUR"
        ),
        fare_leg_rules=csv("leg_group_id,network_id,fare_product_id", "LG,net,single"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type",
            f"LG,LG,-1,{limit},{kind},0",
        ),
    )


def example() -> Journey:
    return (
        Journey().ride("L1", "s1", "s2", "08:00", "08:20").ride("L1", "s2", "s3", "08:50", "09:15")
    )


@pytest.mark.parametrize(("kind", "price"), [(0, 260), (1, 130), (2, 130), (3, 130)])
def test_each_type_measures_between_its_own_events(kind: int, price: int) -> None:
    assert total(limited(kind), example()) == price


@pytest.mark.parametrize(("kind", "span_minutes"), [(0, 75), (1, 50), (2, 30), (3, 55)])
def test_a_span_equal_to_the_limit_is_inside(kind: int, span_minutes: int) -> None:
    assert total(limited(kind, span_minutes * 60), example()) == 130
    assert total(limited(kind, span_minutes * 60 - 1), example()) == 260


def test_the_window_is_measured_from_the_first_leg_and_does_not_slide() -> None:
    journey = (
        Journey()
        .ride("L1", "s1", "s2", "08:00")
        .ride("L1", "s2", "s3", "08:40")
        .ride("L1", "s3", "s1", "09:20")
    )
    # 09:20 is 80 min after the first departure: a new fare, although 40 min after the second.
    assert total(limited(1), journey) == 260


def test_a_missing_end_counts_as_the_start() -> None:
    journey = Journey().ride("L1", "s1", "s2", "08:00").ride("L1", "s2", "s3", "08:59", None)
    assert total(limited(0), journey) == 130
