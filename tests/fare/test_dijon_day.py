"""Reference §8, the derived Dijon 2018 day on the demo tariff: each paid tap buys a
1-hour right for 1.30 EUR with free transfers, and the day is capped at 3.90 EUR."""

from __future__ import annotations

from fare.explain import lines
from tests.fare.builders import Journey, charged
from tests.fare.demo import dijon


def test_a_dijon_day_is_capped_at_three_ninety() -> None:
    journey = (
        Journey("2026-11-26")
        .ride("T1", "GARE", "QUETIGNY", "08:00", "08:20")
        .ride("L3", "QUETIGNY", "TOISON", "08:40", "09:05")
        .ride("T2", "VALMY", "DARCY", "12:00", "12:15")
        .ride("CO", "TOISON", "UNIVERSITE", "18:00", "18:30")
        .ride("T1", "QUETIGNY", "GARE", "20:00", "20:20")
    )
    quote = journey.price(dijon())
    assert [charged(quote, i) for i in range(5)] == [130, 0, 130, 130, 0]
    assert quote.total_minor == 390
    (cap,) = [a for a in quote.adjustments if a.kind == "cap"]
    assert (cap.cap_id, cap.leg_index, cap.amount_minor) == ("day", 4, -130)
    assert [leg.operator_id for leg in quote.legs] == [
        "divia-tram", "divia-bus", "divia-tram", "divia-bus", "divia-tram",
    ]  # fmt: skip


def test_the_design_example_quotes() -> None:
    journey = (
        Journey("2026-11-26")
        .ride("T1", "GARE", "QUETIGNY", "08:00", "08:20")
        .bike("velodi", "08:30", "09:15", km="2.4")
        .park("centre", "09:20", "10:30")
    )
    quote = journey.price(dijon(), rider_category_id="adult", fare_media_id="cemv")
    assert [leg.amount_minor for leg in quote.legs] == [130, 200, 325]
    assert quote.total_minor == 655
    assert lines(quote) == [
        "Tram T1 from Dijon Gare to Quetigny Centre: 1-hour ticket, 1.30 EUR.",
        "Bike DiviaVélodi, 45 min, 2.4 km: 2.00 EUR.",
        "Parking Centre (on-street), 1 h 10 min: 3.25 EUR.",
        "Total: 6.55 EUR.",
    ]


def test_reduced_fare_riders_pay_the_reduced_price_and_cap() -> None:
    journey = Journey("2026-11-26")
    for clock in ("07:00", "09:00", "11:00", "13:00", "15:00"):
        journey.ride("T1", "GARE", "QUETIGNY", clock)
    quote = journey.price(dijon(), rider_category_id="reduced")
    assert quote.legs[0].amount_minor == 65
    assert quote.total_minor == 195


def test_transfers_within_the_hour_are_free_and_the_hour_counts_from_the_first_tap() -> None:
    journey = (
        Journey("2026-11-26")
        .ride("T1", "GARE", "DARCY", "08:00")
        .ride("L5", "DARCY", "UNIVERSITE", "08:30")
        .ride("T1", "REPUBLIQUE", "QUETIGNY", "09:00")
        .ride("L3", "QUETIGNY", "TOISON", "09:01")
    )
    quote = journey.price(dijon())
    assert [charged(quote, i) for i in range(4)] == [130, 0, 0, 130]
    assert quote.adjustments[0].explanation == (
        "Transfer from Tram T1 at 08:00 to Bus L5 at 08:30, covered by the 1-hour ticket: "
        "-1.30 EUR."
    )
