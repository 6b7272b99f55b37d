"""Reference §5: consecutive legs joined into one effective fare leg, which takes its
from-area of the first leg and its to-area of the last; never forced when separate
fares are cheaper."""

from __future__ import annotations

import pytest

from fare import NoFare, Tariff
from tests.fare.builders import Journey, csv, routes, tariff, total

STOPS = csv(
    "stop_id,stop_name,location_type,parent_station",
    "A,Zone one,0,",
    "HUB,Hub station,1,",
    "HUB1,Hub platform 1,0,HUB",
    "HUB2,Hub platform 2,0,HUB",
    "C,Zone three,0,",
    "D,Zone one bis,0,",
)


def joined_tariff(join_rules: str, *, return_trip: str = "6.00") -> Tariff:
    return tariff(
        networks=csv("network_id", "rail", "bus"),
        routes=routes("R1 rail rail", "R2 rail rail", "B1 bus bus"),
        stops=STOPS,
        areas=csv("area_id", "z1", "z2", "z3"),
        stop_areas=csv("area_id,stop_id", "z1,A", "z1,D", "z2,HUB", "z3,C"),
        fare_products=csv(
            "fare_product_id,fare_product_name,amount,currency",
            "one,One zone,2.50,EUR",
            "two,Two zones,4.00,EUR",
            f"back,Return within zone 1,{return_trip},EUR",
            "bus,Bus,1.50,EUR",
        ),
        fare_leg_rules=csv(
            "network_id,from_area_id,to_area_id,fare_product_id,rule_priority",
            "rail,z1,z2,one,0",
            "rail,z2,z3,one,0",
            "rail,z2,z1,one,0",
            "rail,z1,z3,two,0",
            "rail,z1,z1,back,0",
            "bus,,,bus,0",
        ),
        fare_leg_join_rules=join_rules,
    )


SAME_NETWORK = csv("from_network_id,to_network_id", "rail,rail")


def test_joined_legs_are_priced_as_one_leg_from_first_to_last_area() -> None:
    journey = Journey().ride("R1", "A", "HUB1", "08:00", "08:20").ride("R2", "HUB2", "C", "08:25")
    quote = journey.price(joined_tariff(SAME_NETWORK))
    assert quote.total_minor == 400
    first, second = quote.legs
    assert (first.fare_product_id, first.amount_minor) == ("two", 400)
    assert second.amount_minor == 0
    assert "one fare leg with the next to Zone three" in first.explanation
    assert "included in the fare" in second.explanation


def test_without_join_rules_the_legs_pay_separately() -> None:
    journey = Journey().ride("R1", "A", "HUB1", "08:00").ride("R2", "HUB2", "C", "08:25")
    assert total(joined_tariff(csv("from_network_id,to_network_id")), journey) == 500


def test_a_join_is_not_forced_when_separate_fares_are_cheaper() -> None:
    there_and_back = Journey().ride("R1", "A", "HUB1", "08:00").ride("R2", "HUB2", "D", "08:25")
    assert total(joined_tariff(SAME_NETWORK, return_trip="6.00"), there_and_back) == 500
    assert total(joined_tariff(SAME_NETWORK, return_trip="3.00"), there_and_back) == 300


def test_legs_not_meeting_at_one_station_are_not_joined() -> None:
    journey = Journey().ride("R1", "A", "HUB1", "08:00").ride("R2", "D", "C", "08:25")
    assert total(joined_tariff(SAME_NETWORK), journey) == 250 + 400


def test_join_rules_with_stops_name_the_transfer() -> None:
    at_hub = csv("from_network_id,to_network_id,from_stop_id,to_stop_id", "rail,rail,HUB1,HUB2")
    elsewhere = csv("from_network_id,to_network_id,from_stop_id,to_stop_id", "rail,rail,A,D")
    journey = Journey().ride("R1", "A", "HUB1", "08:00").ride("R2", "HUB2", "C", "08:25")
    assert total(joined_tariff(at_hub), journey) == 400
    assert total(joined_tariff(elsewhere), journey) == 500


def test_join_rules_need_the_networks_they_name() -> None:
    journey = Journey().ride("R1", "A", "HUB1", "08:00").ride("B1", "HUB2", "C", "08:25")
    assert total(joined_tariff(SAME_NETWORK), journey) == 250 + 150


def test_a_leg_priced_only_as_part_of_a_join_needs_the_join() -> None:
    only_joined = tariff(
        networks=csv("network_id", "rail"),
        routes=routes("R1 rail rail"),
        stops=STOPS,
        areas=csv("area_id", "z1", "z3"),
        stop_areas=csv("area_id,stop_id", "z1,A", "z3,C"),
        fare_products=csv("fare_product_id,fare_product_name,amount,currency", "two,Two,4.00,EUR"),
        fare_leg_rules=csv("network_id,from_area_id,to_area_id,fare_product_id", "rail,z1,z3,two"),
        fare_leg_join_rules=SAME_NETWORK,
    )
    joined = Journey().ride("R1", "A", "HUB1", "08:00").ride("R1", "HUB2", "C", "08:25")
    assert total(only_joined, joined) == 400
    broken = Journey().ride("R1", "A", "HUB1", "08:00").ride("R1", "D", "C", "08:25")
    with pytest.raises(NoFare) as caught:
        broken.price(only_joined)
    assert caught.value.leg_index == 0


def test_joined_legs_with_no_rule_for_the_whole_are_priced_separately() -> None:
    # z1 -> z1 has no rule without the return product: the join yields nothing to buy.
    no_return = tariff(
        networks=csv("network_id", "rail"),
        routes=routes("R1 rail rail"),
        stops=STOPS,
        areas=csv("area_id", "z1", "z2"),
        stop_areas=csv("area_id,stop_id", "z1,A", "z1,D", "z2,HUB"),
        fare_products=csv("fare_product_id,amount,currency", "one,2.50,EUR"),
        fare_leg_rules=csv(
            "network_id,from_area_id,to_area_id,fare_product_id",
            "rail,z1,z2,one",
            "rail,z2,z1,one",
        ),
        fare_leg_join_rules=SAME_NETWORK,
    )
    journey = Journey().ride("R1", "A", "HUB1", "08:00").ride("R1", "HUB2", "D", "08:25")
    assert total(no_return, journey) == 500


def test_a_leg_without_tap_out_cannot_be_joined_to_the_next() -> None:
    journey = Journey().ride("R1", "A", None, "08:00").ride("R2", "HUB2", "C", "08:25")
    with pytest.raises(NoFare):  # A with no destination matches no zonal rule
        journey.price(joined_tariff(SAME_NETWORK))


def test_a_join_ending_without_tap_out_says_so() -> None:
    from_zone_one = tariff(
        networks=csv("network_id", "rail"),
        routes=routes("R1 rail rail"),
        stops=STOPS,
        areas=csv("area_id", "z1"),
        stop_areas=csv("area_id,stop_id", "z1,A"),
        fare_products=csv("fare_product_id,fare_product_name,amount,currency", "out,Out,3.00,EUR"),
        fare_leg_rules=csv(
            "network_id,from_area_id,fare_product_id,rule_priority", "rail,z1,out,0"
        ),
        fare_leg_join_rules=SAME_NETWORK,
    )
    journey = Journey().ride("R1", "A", "HUB1", "08:00").ride("R1", "HUB2", None, "08:25")
    quote = journey.price(from_zone_one)
    assert quote.total_minor == 300
    assert "one fare leg with the next to an untapped stop" in quote.legs[0].explanation


def test_join_rules_are_matched_on_both_networks() -> None:
    both_ways = joined_tariff(csv("from_network_id,to_network_id", "bus,rail", "rail,bus"))
    journey = Journey().ride("R1", "A", "HUB1", "08:00").ride("R2", "HUB2", "C", "08:25")
    assert total(both_ways, journey) == 500
