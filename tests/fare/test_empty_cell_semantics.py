"""Reference §2: an empty network or area cell means "every value not named elsewhere"
without a `rule_priority` column, and "does not matter" with one."""

from __future__ import annotations

import pytest

from fare import NoFare, Tariff
from tests.fare.builders import Journey, csv, routes, tariff, total

PRODUCTS = csv(
    "fare_product_id,fare_product_name,amount,currency",
    "ticket_1h,1-hour ticket,1.30,EUR",
    "airport_ticket,Airport ticket,8.00,EUR",
)


def airport_tariff(*, with_priority: bool) -> Tariff:
    if with_priority:
        rules = csv(
            "network_id,from_area_id,to_area_id,fare_product_id,rule_priority",
            "tram,,,ticket_1h,0",
            ",,,ticket_1h,0",
            ",airport,,airport_ticket,1",
        )
    else:
        rules = csv(
            "network_id,from_area_id,to_area_id,fare_product_id",
            "tram,,,ticket_1h",
            ",,,ticket_1h",
            ",airport,,airport_ticket",
        )
    return tariff(
        networks=csv("network_id", "tram", "bus"),
        routes=routes("T1 tram tram", "B1 bus bus"),
        stops=csv("stop_id,stop_name", "AIR,Airport", "CITY,City", "PARK,Park"),
        areas=csv("area_id", "airport"),
        stop_areas=csv("area_id,stop_id", "airport,AIR"),
        fare_products=PRODUCTS,
        fare_leg_rules=rules,
    )


def test_complement_semantics_leave_a_tram_leg_from_the_airport_unpriced() -> None:
    complement = airport_tariff(with_priority=False)
    with pytest.raises(NoFare) as caught:
        Journey().ride("T1", "AIR", "CITY", "08:00").price(complement)
    assert caught.value.leg_index == 0


def test_wildcard_semantics_let_the_airport_rule_win_by_priority() -> None:
    wildcard = airport_tariff(with_priority=True)
    quote = Journey().ride("T1", "AIR", "CITY", "08:00").price(wildcard)
    assert quote.legs[0].fare_product_id == "airport_ticket"
    assert quote.total_minor == 800


def test_complement_semantics_price_legs_outside_the_named_values() -> None:
    complement = airport_tariff(with_priority=False)
    # A tram leg away from the airport: only the tram row (row 2's empty network excludes tram).
    assert total(complement, Journey().ride("T1", "CITY", "PARK", "08:00")) == 130
    # A bus leg from the airport: row 3 (empty network = not tram), airport named.
    quote = Journey().ride("B1", "AIR", "CITY", "08:00").price(complement)
    assert quote.legs[0].fare_product_id == "airport_ticket"
    # A bus leg elsewhere: row 2, the only row for "not tram, not airport".
    assert total(complement, Journey().ride("B1", "CITY", "PARK", "08:00")) == 130


def test_equal_priorities_are_all_offered_and_best_fare_picks_the_cheapest() -> None:
    two_offers = tariff(
        networks=csv("network_id", "tram"),
        routes=routes("T1 tram tram"),
        stops=csv("stop_id,stop_name", "A,A", "B,B"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "dear,Dear ticket,3.00,EUR",
            "cheap,Cheap ticket,1.00,EUR",
        ),
        fare_leg_rules=csv(
            "network_id,fare_product_id,rule_priority", "tram,dear,2", "tram,cheap,2"
        ),
    )
    quote = Journey().ride("T1", "A", "B", "08:00").price(two_offers)
    assert quote.legs[0].fare_product_id == "cheap"


def test_a_lower_priority_cheaper_rule_is_not_offered() -> None:
    ranked = tariff(
        networks=csv("network_id", "tram"),
        routes=routes("T1 tram tram"),
        stops=csv("stop_id,stop_name", "A,A", "B,B"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "dear,Dear ticket,3.00,EUR",
            "cheap,Cheap ticket,1.00,EUR",
        ),
        fare_leg_rules=csv("network_id,fare_product_id,rule_priority", "tram,dear,1", ",cheap,"),
    )
    assert total(ranked, Journey().ride("T1", "A", "B", "08:00")) == 300
