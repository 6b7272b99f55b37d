"""Splitting a card-day between operators: every cent accounted for, fairly and reproducibly."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.apportionment import (
    ApportionLeg,
    ApportionMethod,
    apportion_charge,
    exact_quotas,
    split,
)
from settlement.errors import ApportionmentError

operators = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8)
weights_strategy = st.dictionaries(operators, st.integers(0, 10**6), min_size=1, max_size=7)
amounts = st.integers(-(10**9), 10**9)


@given(amounts, weights_strategy, st.text(max_size=10))
def test_shares_always_sum_to_the_whole(amount: int, weights: dict[str, int], seed: str) -> None:
    assert sum(split(amount, weights, seed=seed).values()) == amount


@given(st.integers(0, 10**9), weights_strategy, st.text(max_size=10))
def test_no_operator_gets_a_negative_share_of_a_charge(
    amount: int, weights: dict[str, int], seed: str
) -> None:
    assert all(share >= 0 for share in split(amount, weights, seed=seed).values())


@given(amounts, weights_strategy, st.text(max_size=10))
def test_each_share_is_within_a_cent_of_its_exact_quota(
    amount: int, weights: dict[str, int], seed: str
) -> None:
    parts = split(amount, weights, seed=seed)
    quotas = exact_quotas(amount, weights)
    for key, part in parts.items():
        assert abs(part - quotas[key]) < 1


@given(amounts, weights_strategy, st.text(max_size=10), st.randoms(use_true_random=False))
def test_split_is_deterministic_and_ignores_input_order(
    amount: int, weights: dict[str, int], seed: str, rng: random.Random
) -> None:
    items = list(weights.items())
    rng.shuffle(items)
    assert split(amount, dict(items), seed=seed) == split(amount, weights, seed=seed)
    assert list(split(amount, dict(items), seed=seed)) == sorted(weights)


@given(st.integers(1, 10**9), weights_strategy, st.text(max_size=10))
def test_a_refund_mirrors_the_charge(amount: int, weights: dict[str, int], seed: str) -> None:
    charge = split(amount, weights, seed=seed)
    assert split(-amount, weights, seed=seed) == {k: -v for k, v in charge.items()}


@given(st.integers(0, 10**9), weights_strategy, st.text(max_size=10))
def test_a_zero_weight_gets_nothing_unless_all_are_zero(
    amount: int, weights: dict[str, int], seed: str
) -> None:
    parts = split(amount, weights, seed=seed)
    if any(weights.values()):
        assert all(parts[k] == 0 for k, w in weights.items() if w == 0)
    else:
        assert max(parts.values()) - min(parts.values()) <= 1


def test_example_a_one_pool_by_boardings() -> None:
    # settlement.md §2 A: 12,345.67 by boardings 4,100 / 2,700 / 600.
    parts = split(1_234_567, {"bus": 4_100, "tram": 2_700, "bike": 600}, seed="pool")
    assert parts == {"bike": 100_100, "bus": 684_017, "tram": 450_450}


def test_example_b_by_passenger_km_does_not_lose_the_cent() -> None:
    parts = split(1_234_567, {"bus": 21_000, "tram": 13_500, "bike": 1_800}, seed="pool")
    assert parts == {"bike": 61_218, "bus": 714_212, "tram": 459_137}


def test_example_b_base_plus_work_price() -> None:
    # 30 % by boardings + 70 % by pkm, as integer weights over a common denominator:
    # w = 3 * b * P + 7 * p * B.
    boardings = {"bus": 4_100, "tram": 2_700, "bike": 600}
    pkm = {"bus": 21_000, "tram": 13_500, "bike": 1_800}
    total_b, total_p = sum(boardings.values()), sum(pkm.values())
    weights = {op: 3 * boardings[op] * total_p + 7 * pkm[op] * total_b for op in boardings}
    assert split(1_234_567, weights, seed="pool") == {
        "bike": 72_883,
        "bus": 705_154,
        "tram": 456_530,
    }


def test_example_c_capped_multimodal_day_by_standalone_fares() -> None:
    legs = [
        ApportionLeg("bus", 300),
        ApportionLeg("bike", 200),
        ApportionLeg("tram", 300),
        ApportionLeg("bus", 300),
    ]
    assert apportion_charge(880, legs, seed="card:2026-11-26") == {
        "bike": 160,
        "bus": 480,
        "tram": 240,
    }


def test_a_transfer_ticket_pays_every_operator_that_carried_the_rider() -> None:
    # A 1-hour ticket of 130 covering bus, tram, bus: weights 260 : 130 -> 87 / 43, where
    # the priced legs (130 then 0 then 0) would have given everything to the first bus.
    legs = [ApportionLeg("bus", 130), ApportionLeg("tram", 130), ApportionLeg("bus", 130)]
    assert apportion_charge(130, legs, seed="s") == {"bus": 87, "tram": 43}


def test_late_tap_example_shares_before_the_bike_ride() -> None:
    legs = [ApportionLeg("bus", 600), ApportionLeg("tram", 300)]
    assert apportion_charge(880, legs, seed="s") == {"bus": 587, "tram": 293}


def test_equal_three_way_split_hands_out_the_odd_cent_once() -> None:
    parts = split(100, {"a": 1, "b": 1, "c": 1}, seed="pool-1")
    assert sorted(parts.values()) == [33, 33, 34]


def test_round_half_cannot_create_or_lose_a_cent() -> None:
    assert sorted(split(101, {"a": 1, "b": 1}, seed="x").values()) == [50, 51]


def test_ties_do_not_always_favour_the_same_operator() -> None:
    # Ordering ties by operator id would give "a" every odd cent; the hashed tie-break
    # spreads them over many pools.
    winners: Counter[str] = Counter()
    for i in range(300):
        parts = split(1, {"a": 1, "b": 1, "c": 1}, seed=f"pool-{i}")
        winners.update(key for key, cents in parts.items() if cents == 1)
    assert set(winners) == {"a", "b", "c"}
    assert min(winners.values()) > 60


def test_the_same_seed_always_gives_the_same_odd_cent() -> None:
    first = split(100, {"a": 1, "b": 1, "c": 1}, seed="card-x:2026-11-26")
    assert all(
        split(100, {"c": 1, "a": 1, "b": 1}, seed="card-x:2026-11-26") == first for _ in range(5)
    )


def test_all_zero_weights_fall_back_to_equal_shares() -> None:
    assert sorted(split(10, {"a": 0, "b": 0, "c": 0}, seed="s").values()) == [3, 3, 4]


def test_zero_amount_and_single_part() -> None:
    assert split(0, {"a": 5, "b": 7}, seed="s") == {"a": 0, "b": 0}
    assert split(-130, {"only": 1}, seed="s") == {"only": -130}
    assert split(0, {}, seed="s") == {}


def test_impossible_splits_are_refused() -> None:
    with pytest.raises(ApportionmentError):
        split(100, {}, seed="s")
    with pytest.raises(ApportionmentError):
        split(100, {"a": -1, "b": 2}, seed="s")


def test_boardings_and_passenger_km_methods() -> None:
    legs = [
        ApportionLeg("bus", 130, distance_m=3_000),
        ApportionLeg("bus", 0, distance_m=1_000),
        ApportionLeg("tram", 0, distance_m=6_000),
    ]
    assert apportion_charge(300, legs, method="boardings", seed="s") == {"bus": 200, "tram": 100}
    assert apportion_charge(300, legs, method=ApportionMethod.PASSENGER_KM, seed="s") == {
        "bus": 120,
        "tram": 180,
    }


def test_passenger_km_needs_every_distance() -> None:
    legs = [ApportionLeg("bus", 130, distance_m=3_000), ApportionLeg("bike", 100)]
    with pytest.raises(ApportionmentError, match="no distance"):
        apportion_charge(230, legs, method="passenger_km", seed="s")


def test_an_operator_with_a_free_leg_is_listed_with_zero() -> None:
    legs = [ApportionLeg("bus", 130), ApportionLeg("parking", 0)]
    assert apportion_charge(130, legs, seed="s") == {"bus": 130, "parking": 0}


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ApportionmentError, match="Unknown apportionment method"):
        apportion_charge(100, [ApportionLeg("bus", 100)], method="charge_order", seed="s")


def test_exact_quotas_are_fractions_not_floats() -> None:
    quotas = exact_quotas(130, {"bus": 260, "tram": 130})
    assert quotas == {"bus": Fraction(260, 3), "tram": Fraction(130, 3)}
