"""Reference §6: the rider's category (else the default) and medium (else the first
cEMV medium) pick a product's price row; a transfer product missing on the medium means
the transfer rule does not apply."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, stops, tariff, total


@pytest.fixture(scope="module")
def translink_media() -> Tariff:
    return tariff(
        "CAD",
        routes=csv("route_id,agency_id,route_short_name,route_type", "99,op,99 B-Line,700"),
        stops=stops("a", "b"),
        fare_media=csv(
            "fare_media_id,fare_media_type", "cash,0", "compass_card,2", "contactless,3"
        ),
        rider_categories=csv(
            "rider_category_id,is_default_fare_category", "concession,0", "adult,1"
        ),
        fare_products=csv(
            "fare_product_id,fare_product_name,rider_category_id,fare_media_id,amount,currency",
            "bus_flat_fare,Bus fare,,contactless,3.20,CAD",
            "bus_flat_fare,Bus fare,,cash,3.20,CAD",
            "bus_flat_fare,Bus fare,,compass_card,2.60,CAD",
            "bus_flat_fare,Bus fare,concession,contactless,2.15,CAD",
            "transfer,Transfer,,compass_card,0.00,CAD",
        ),
        fare_leg_rules=csv("leg_group_id,fare_product_id", "bus,bus_flat_fare"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type,fare_product_id",
            "bus,bus,-1,0,transfer",
        ),
    )


def one_ride() -> Journey:
    return Journey().ride("99", "a", "b", "08:00")


def test_the_default_category_and_the_cemv_medium_apply_when_none_is_given(
    translink_media: Tariff,
) -> None:
    assert translink_media.default_category() == "adult"
    assert translink_media.default_medium() == "contactless"
    assert total(translink_media, one_ride()) == 320


@pytest.mark.parametrize(
    ("category", "medium", "price"),
    [("adult", "compass_card", 260), ("concession", "contactless", 215), (None, "cash", 320),
     ("concession", "compass_card", 260)],
)  # fmt: skip
def test_rows_are_chosen_by_category_and_medium(
    translink_media: Tariff, category: str | None, medium: str, price: int
) -> None:
    quote = one_ride().price(translink_media, rider_category_id=category, fare_media_id=medium)
    assert quote.total_minor == price


def test_a_transfer_product_missing_on_the_medium_disables_the_transfer(
    translink_media: Tariff,
) -> None:
    two_rides = one_ride().ride("99", "b", "a", "08:30")
    assert total(translink_media, two_rides, fare_media_id="compass_card") == 260
    assert total(translink_media, two_rides) == 640


def test_extended_route_types_name_the_mode(translink_media: Tariff) -> None:
    (leg,) = one_ride().price(translink_media).legs
    assert leg.explanation == "Bus 99 B-Line from A to B: Bus fare, 3.20 CAD."


def test_a_feed_without_defaults_uses_rows_without_category_or_medium() -> None:
    plain = tariff(
        routes=routes("T1 tram -"),
        stops=stops("a"),
        fare_media=csv("fare_media_id,fare_media_type", "paper,1"),
        rider_categories=csv("rider_category_id,is_default_fare_category", "senior,0"),
        fare_products=csv(
            "fare_product_id,rider_category_id,fare_media_id,amount,currency",
            "single,senior,paper,0.50,EUR",
            "single,,,1.50,EUR",
        ),
        fare_leg_rules=csv("fare_product_id", "single"),
    )
    assert (plain.default_category(), plain.default_medium()) == (None, None)
    journey = Journey().ride("T1", "a", None, "08:00")
    assert total(plain, journey) == 150
    assert total(plain, journey, rider_category_id="senior", fare_media_id="paper") == 50
