"""Invariants of pricing (STYLE rule 12), on random journeys over the demo tariff."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, timedelta
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from fare import Adjustment, Leg, LegPrice, Quote, price
from fare.indexes import indexes_of
from fare.money import format_money
from tests.fare.builders import charged
from tests.fare.demo import dijon
from tests.fare.strategies import categories, journeys, monotone_legs, transit_legs

settings.register_profile("fare", max_examples=150, deadline=None)
settings.load_profile("fare")


def period(kind: str, day: date) -> date:
    if kind == "day":
        return day
    if kind == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


@given(journeys, categories)
def test_a_cap_is_never_exceeded(legs: list[Leg], category: str | None) -> None:
    tariff = dijon()
    quote = price(tariff, legs, rider_category_id=category)
    rider = category or "adult"
    for cap in tariff.caps:
        if cap.rider_category_id not in (None, rider):
            continue
        spent: dict[date, int] = defaultdict(int)
        for leg in quote.legs:
            in_scope = leg.kind == "transit" if not cap.network_ids else (
                leg.network_id in cap.network_ids
            )  # fmt: skip
            if in_scope:
                spent[period(cap.period, leg.service_day)] += charged(quote, leg.index)
        assert all(amount <= cap.amount_minor for amount in spent.values())


@given(st.lists(monotone_legs, max_size=10), monotone_legs, categories)
def test_adding_a_leg_never_lowers_the_total(
    legs: list[Leg], extra: Leg, category: str | None
) -> None:
    before = price(dijon(), legs, rider_category_id=category).total_minor
    after = price(dijon(), [*legs, extra], rider_category_id=category).total_minor
    assert after >= before


def by_content(quote: Quote, legs: list[Leg]) -> list[tuple[str, int, int]]:
    return sorted(
        (repr(legs[p.index]), p.amount_minor, charged(quote, p.index)) for p in quote.legs
    )


@given(journeys, st.randoms(use_true_random=False))
def test_input_order_changes_nothing(legs: list[Leg], rng: Random) -> None:
    shuffled = list(legs)
    rng.shuffle(shuffled)
    first, second = price(dijon(), legs), price(dijon(), shuffled)
    assert first.total_minor == second.total_minor
    assert first.by_service_day == second.by_service_day
    assert by_content(first, legs) == by_content(second, shuffled)


@given(journeys, categories)
def test_explained_lines_sum_to_the_total(legs: list[Leg], category: str | None) -> None:
    quote = price(dijon(), legs, rider_category_id=category)
    lines: list[LegPrice | Adjustment] = [*quote.legs, *quote.adjustments]
    for line in lines:
        assert line.explanation.endswith(f"{format_money(line.amount_minor, 'EUR')}.") or (
            f"{format_money(line.amount_minor, 'EUR')};" in line.explanation
        )
    assert sum(line.amount_minor for line in lines) == quote.total_minor


@given(journeys, categories)
def test_totals_are_never_negative_and_days_sum_to_the_total(
    legs: list[Leg], category: str | None
) -> None:
    quote = price(dijon(), legs, rider_category_id=category)
    assert quote.total_minor >= 0
    assert all(amount >= 0 for amount in quote.by_service_day.values())
    assert sum(quote.by_service_day.values()) == quote.total_minor
    assert all(leg.standalone_minor >= 0 for leg in quote.legs)


@given(journeys, categories)
def test_a_service_day_depends_only_on_that_day_and_earlier_ones(
    legs: list[Leg], category: str | None
) -> None:
    full = price(dijon(), legs, rider_category_id=category)
    days = sorted(full.by_service_day)
    if not days:
        return
    cut = days[len(days) // 2]
    earlier = [legs[p.index] for p in full.legs if p.service_day <= cut]
    partial = price(dijon(), earlier, rider_category_id=category)
    assert partial.by_service_day == {d: a for d, a in full.by_service_day.items() if d <= cut}


@given(st.lists(transit_legs, min_size=2, max_size=10), categories)
def test_the_greedy_shortcut_agrees_with_the_full_search(
    legs: list[Leg], category: str | None
) -> None:
    searched = dataclasses.replace(dijon())  # a new tariff object gets its own indexes
    indexes_of(searched).greedy = False
    fast = price(dijon(), legs, rider_category_id=category)
    slow = price(searched, legs, rider_category_id=category)
    assert fast.legs == slow.legs
    assert fast.adjustments == slow.adjustments
