"""Reference §4: fare_transfer_type 0, 1 and 2 per the spec's table, per transfer and
along chains, with A = 2.00, B = 3.00, C = 4.00, AB = 0.50, BC = 0.25; directionality;
transfer_count."""

from __future__ import annotations

import pytest

from fare import Tariff
from tests.fare.builders import Journey, csv, routes, stops, tariff, total


def abc_tariff(kind: int, ab: str = "0.50", bc: str = "0.25") -> Tariff:
    return tariff(
        networks=csv("network_id", "na", "nb", "nc"),
        routes=routes("RA bus na", "RB bus nb", "RC bus nc"),
        stops=stops("s1", "s2", "s3", "s4"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "A,Fare A,2.00,EUR",
            "B,Fare B,3.00,EUR",
            "C,Fare C,4.00,EUR",
            f"AB,Transfer A to B,{ab},EUR",
            f"BC,Transfer B to C,{bc},EUR",
        ),
        fare_leg_rules=csv(
            "leg_group_id,network_id,fare_product_id", "GA,na,A", "GB,nb,B", "GC,nc,C"
        ),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,fare_transfer_type,fare_product_id",
            f"GA,GB,{kind},AB",
            f"GB,GC,{kind},BC",
        ),
    )


def two_legs() -> Journey:
    return Journey().ride("RA", "s1", "s2", "08:00").ride("RB", "s2", "s3", "08:20")


def three_legs() -> Journey:
    return two_legs().ride("RC", "s3", "s4", "08:40")


@pytest.mark.parametrize(("kind", "two", "three"), [(0, 250, 275), (2, 50, 75)])
def test_types_0_and_2_follow_the_spec_table(kind: int, two: int, three: int) -> None:
    costed = abc_tariff(kind)
    assert total(costed, two_legs()) == two
    assert total(costed, three_legs()) == three


def test_type_1_with_a_positive_product_is_never_forced_on_the_rider() -> None:
    # The table gives 5.50 and 9.75; separate fares (5.00 and 9.00) are cheaper.
    costed = abc_tariff(1)
    assert total(costed, two_legs()) == 500
    assert total(costed, three_legs()) == 900


def test_type_1_with_a_negative_product_discounts_the_second_leg() -> None:
    discount = abc_tariff(1, ab="-1.00", bc="-0.25")
    assert total(discount, two_legs()) == 400  # 2.00 + 3.00 - 1.00
    assert total(discount, three_legs()) == 775  # S + BC + C = 4.00 - 0.25 + 4.00


def test_transfer_adjustments_are_booked_on_the_later_leg() -> None:
    quote = two_legs().price(abc_tariff(0))
    assert [leg.amount_minor for leg in quote.legs] == [200, 300]
    (adjustment,) = quote.adjustments
    assert (adjustment.kind, adjustment.leg_index, adjustment.amount_minor) == ("transfer", 1, -250)
    assert adjustment.explanation == (
        "Transfer from Bus RA at 08:00 to Bus RB at 08:20, with Transfer A to B: -2.50 EUR."
    )


def test_transfer_rules_are_directional() -> None:
    free_bus_to_tram = tariff(
        networks=csv("network_id", "bus", "tram"),
        routes=routes("B1 bus bus", "T1 tram tram"),
        stops=stops("s1", "s2", "s3"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency", "single,Single,1.30,EUR"
        ),
        fare_leg_rules=csv(
            "leg_group_id,network_id,fare_product_id", "bus,bus,single", "tram,tram,single"
        ),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,fare_transfer_type", "bus,tram,0"
        ),
    )
    bus_then_tram = Journey().ride("B1", "s1", "s2", "08:00").ride("T1", "s2", "s3", "08:10")
    tram_then_bus = Journey().ride("T1", "s1", "s2", "08:00").ride("B1", "s2", "s3", "08:10")
    assert total(free_bus_to_tram, bus_then_tram) == 130
    assert total(free_bus_to_tram, tram_then_bus) == 260


def count_tariff() -> Tariff:
    return tariff(
        networks=csv("network_id", "net"),
        routes=routes("L1 bus net"),
        stops=stops("s1", "s2"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "single,Single,1.30,EUR",
            "second_transfer,Second transfer,0.50,EUR",
        ),
        fare_leg_rules=csv("leg_group_id,network_id,fare_product_id", "LG,net,single"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,"
            "duration_limit_type,fare_transfer_type,fare_product_id",
            "LG,LG,1,3600,1,0,",
            "LG,LG,2,3600,1,0,second_transfer",
        ),
    )


def test_transfer_count_rows_and_best_fare_split_the_day() -> None:
    # Reference §4: 3.10 if every matching rule were applied; 1-2 and 3-4 cost 2.60.
    journey = Journey()
    for clock in ("08:00", "08:10", "08:20", "08:30"):
        journey.ride("L1", "s1", "s2", clock)
    assert total(count_tariff(), journey) == 260


def test_second_transfer_uses_the_count_two_row() -> None:
    journey = Journey()
    for clock in ("08:00", "08:10", "08:20"):
        journey.ride("L1", "s1", "s2", clock)
    # 1.30 + 0 + 0.50 beats 1.30 + 0 + 1.30.
    assert total(count_tariff(), journey) == 180


def test_empty_transfer_cells_cover_groups_not_named_elsewhere() -> None:
    catch_all = tariff(
        networks=csv("network_id", "bus", "tram", "rail"),
        routes=routes("B1 bus bus", "T1 tram tram", "R1 rail rail"),
        stops=stops("s1", "s2", "s3"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency", "single,Single,1.30,EUR"
        ),
        fare_leg_rules=csv(
            "leg_group_id,network_id,fare_product_id",
            "bus,bus,single",
            "tram,tram,single",
            "rail,rail,single",
        ),
        # Row 1 is free between groups not named in its columns; row 2 names rail and tram.
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type",
            ",,,0",
            "rail,tram,,1",
        ),
    )
    bus_bus = Journey().ride("B1", "s1", "s2", "08:00").ride("B1", "s2", "s3", "08:10")
    bus_tram = Journey().ride("B1", "s1", "s2", "08:00").ride("T1", "s2", "s3", "08:10")
    rail_bus = Journey().ride("R1", "s1", "s2", "08:00").ride("B1", "s2", "s3", "08:10")
    rail_tram = Journey().ride("R1", "s1", "s2", "08:00").ride("T1", "s2", "s3", "08:10")
    assert total(catch_all, bus_bus) == 130
    assert total(catch_all, bus_tram) == 260  # tram is named in the to column
    assert total(catch_all, rail_bus) == 260  # rail is named in the from column
    assert total(catch_all, rail_tram) == 260  # type 1 without product: A + B


def test_a_transfer_that_adds_the_full_fare_shows_no_adjustment() -> None:
    # First transfer: type 1 without product (pays B in full); second: free.
    odd = tariff(
        networks=csv("network_id", "net"),
        routes=routes("L1 bus net"),
        stops=stops("s1", "s2"),
        fare_products=csv("fare_product_id,amount,currency", "single,1.00,EUR"),
        fare_leg_rules=csv("leg_group_id,network_id,fare_product_id", "LG,net,single"),
        fare_transfer_rules=csv(
            "from_leg_group_id,to_leg_group_id,transfer_count,fare_transfer_type",
            "LG,LG,1,1",
            "LG,LG,2,0",
        ),
    )
    journey = Journey()
    for clock in ("08:00", "08:10", "08:20"):
        journey.ride("L1", "s1", "s2", clock)
    quote = journey.price(odd)
    assert quote.total_minor == 200
    assert [(a.leg_index, a.amount_minor) for a in quote.adjustments] == [(2, -100)]
