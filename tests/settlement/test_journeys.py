"""The rules that turn one card's taps into legs, one test each (settlement.journeys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from fare import BikeLeg, ParkingLeg, TransitLeg
from settlement.journeys import TapRecord, card_legs, match_bike_returns, next_unlocks

T0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
DAY_END = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
RAIL = frozenset({"R1"})
_ids = count(1)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def t(kind: str, minutes: int, **fields: Any) -> TapRecord:
    return TapRecord(next(_ids), kind, at(minutes), card_token="card", **fields)


def legs(*taps: TapRecord, **options: Any) -> tuple[list[Any], tuple[str, ...]]:
    journeys = card_legs(list(taps), day_end=DAY_END, tap_out_routes=RAIL, **options)
    return [j.leg for j in journeys.legs], journeys.notes


def test_tap_in_then_tap_out_on_a_tap_out_network_is_one_leg_with_its_alighting_stop() -> None:
    found, notes = legs(
        t("tap_in", 0, route_id="R1", stop_id="A"), t("tap_out", 20, route_id="R1", stop_id="B")
    )
    assert found == [TransitLeg("R1", "A", "B", at(0), at(20))]
    assert notes == ()


def test_tap_in_without_tap_out_on_a_tap_out_network_is_an_incomplete_leg() -> None:
    found, notes = legs(t("tap_in", 0, route_id="R1", stop_id="A"))
    assert found == [TransitLeg("R1", "A", None, at(0), None)]
    assert "incomplete" in notes[0]


def test_a_second_tap_in_closes_the_first_as_incomplete() -> None:
    found, _ = legs(
        t("tap_in", 0, route_id="R1", stop_id="A"),
        t("tap_in", 30, route_id="R1", stop_id="C"),
        t("tap_out", 50, route_id="R1", stop_id="D"),
    )
    assert found == [
        TransitLeg("R1", "A", None, at(0), None),
        TransitLeg("R1", "C", "D", at(30), at(50)),
    ]


def test_tap_in_on_a_tap_in_only_network_is_a_leg_by_itself() -> None:
    found, notes = legs(t("tap_in", 0, route_id="T1", stop_id="GARE"))
    assert found == [TransitLeg("T1", "GARE", None, at(0))]
    assert notes == ()


def test_tap_out_without_tap_in_makes_no_leg_and_is_noted() -> None:
    found, notes = legs(t("tap_out", 0, route_id="R1", stop_id="B"))
    assert found == []
    assert "had no tap-in" in notes[0]


def test_taps_refused_at_the_gate_are_not_rides() -> None:
    found, notes = legs(t("tap_in", 0, route_id="T1", stop_id="GARE", decision="deny"))
    assert found == []
    assert "refused" in notes[0]


def test_double_taps_and_rejected_taps_are_ignored() -> None:
    found, _ = legs(
        t("tap_in", 0, route_id="T1", stop_id="GARE"),
        t("tap_in", 0, route_id="T1", stop_id="GARE", status="double_tap"),
        t("tap_in", 5, route_id="T1", stop_id="GARE", status="rejected", decision="deny"),
    )
    assert len(found) == 1


def test_input_order_does_not_matter() -> None:
    taps = [
        t("tap_in", 0, route_id="R1", stop_id="A"),
        t("tap_out", 20, route_id="R1", stop_id="B"),
        t("tap_in", 40, route_id="T1", stop_id="GARE"),
    ]
    assert legs(*taps) == legs(*reversed(taps))


def test_a_bike_unlock_takes_the_first_return_of_that_bike_after_it() -> None:
    unlock = t("bike_unlock", 0, bike_id="B1", plan_id="velodi")
    earlier_return = TapRecord(900, "bike_return", at(-10), bike_id="B1")
    first = TapRecord(901, "bike_return", at(25), bike_id="B1")
    second = TapRecord(902, "bike_return", at(90), bike_id="B1")
    returns, unmatched = match_bike_returns([unlock], [second, first, earlier_return])
    assert returns == {unlock.id: first}
    assert unmatched == [earlier_return, second]
    found, _ = legs(unlock, bike_returns=returns)
    assert found == [BikeLeg("velodi", at(0), at(25))]


def test_a_bike_never_returned_is_charged_until_the_end_of_the_day() -> None:
    found, notes = legs(t("bike_unlock", 0, bike_id="B1"), default_plan_id="velodi")
    assert found == [BikeLeg("velodi", at(0), DAY_END)]
    assert "not returned" in notes[0]


def test_a_bike_unlocked_again_before_any_return_ends_the_first_rental_there() -> None:
    first = t("bike_unlock", 0, bike_id="B1", plan_id="velodi")
    second = TapRecord(950, "bike_unlock", at(30), card_token="other", bike_id="B1")
    back = TapRecord(951, "bike_return", at(45), bike_id="B1")
    returns, _ = match_bike_returns([first, second], [back])
    assert returns == {second.id: back}
    found, _ = legs(first, bike_returns=returns, bike_next_unlock=next_unlocks([first, second]))
    assert found == [BikeLeg("velodi", at(0), at(30))]


def test_parking_entry_then_exit_is_one_stay() -> None:
    found, _ = legs(
        t("parking_entry", 0, facility_id="gare"), t("parking_exit", 60, facility_id="gare")
    )
    assert found == [ParkingLeg("gare", at(0), at(60))]


def test_parking_entry_without_exit_is_charged_until_the_end_of_the_day() -> None:
    found, notes = legs(t("parking_entry", 0, facility_id="gare"))
    assert found == [ParkingLeg("gare", at(0), DAY_END)]
    assert "No exit" in notes[0]


def test_parking_exit_without_entry_is_not_charged() -> None:
    found, notes = legs(t("parking_exit", 0, facility_id="gare"))
    assert found == []
    assert "had no entry" in notes[0]


def test_a_second_entry_closes_the_stay_left_open() -> None:
    found, _ = legs(
        t("parking_entry", 0, facility_id="gare"),
        t("parking_entry", 120, facility_id="gare"),
        t("parking_exit", 180, facility_id="gare"),
    )
    assert found == [ParkingLeg("gare", at(0), at(120)), ParkingLeg("gare", at(120), at(180))]
