"""Transfers and joins within one service day, priced for the best fare.

The day's transit legs, in time order, are split into consecutive sub-journeys. Within a
sub-journey each effective leg (one leg, or several joined by fare_leg_join_rules.txt)
uses one of its candidate products, and each transfer one matching fare_transfer_rules row,
costed per the spec's table (type 0: S + AB; type 1: S + AB + B; type 2: AB on the first
transfer, S + AB after). A dynamic programme keeps, per position, product and transfer
count, the cheapest cost so far, so every split, product and rule is considered and no
transfer or join is forced on a rider when separate fares are cheaper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from fare.matching import Candidate
from fare.tariff import TransferRule

UNLIMITED = 1 << 30


class Unit(NamedTuple):
    """An effective fare leg: positions [first, stop) of the day's transit legs."""

    first: int
    stop: int
    start: datetime
    end: datetime
    candidates: tuple[Candidate, ...]


class Step(NamedTuple):
    """One effective leg of a sub-journey, the product it uses, the transfer rule that
    brought the rider onto it (None for the first) and the cost it adds (S' - S)."""

    unit: Unit
    candidate: Candidate
    rule: TransferRule | None
    transfer_product: Candidate | None
    added_minor: int


class TransferIndex:
    """Rules by (from group, to group): an exact group wins, an empty cell means every
    group not named in that column (no priorities for transfers)."""

    def __init__(self, rules: Sequence[TransferRule]) -> None:
        self.rules = tuple(rules)
        self.named_from = frozenset(r.from_leg_group_id for r in rules if r.from_leg_group_id)
        self.named_to = frozenset(r.to_leg_group_id for r in rules if r.to_leg_group_id)
        self._between: dict[tuple[str, str], tuple[TransferRule, ...]] = {}

    def between(self, source: str | None, target: str | None) -> tuple[TransferRule, ...]:
        if source is None or target is None:
            return ()
        key = (source, target)
        found = self._between.get(key)
        if found is None:
            found = tuple(
                rule
                for rule in self.rules
                if _side(rule.from_leg_group_id, source, self.named_from)
                and _side(rule.to_leg_group_id, target, self.named_to)
            )
            self._between[key] = found
        return found


def _side(value: str | None, group: str, named: frozenset[str]) -> bool:
    return value == group if value is not None else group not in named


def within_limit(rule: TransferRule, first: Unit, last: Unit) -> bool:
    """duration_limit is inclusive and measured from the chain's first effective leg."""
    return within_limit_of(rule, first.start, first.end, last.start, last.end)


def within_limit_of(
    rule: TransferRule,
    first_start: datetime,
    first_end: datetime,
    last_start: datetime,
    last_end: datetime,
) -> bool:
    """`within_limit` for effective legs given by their times."""
    if rule.duration_limit_s is None:
        return True
    kind = rule.duration_limit_type
    begin = first_start if kind in (0, 1) else first_end
    finish = last_end if kind in (0, 3) else last_start
    return finish - begin <= timedelta(seconds=rule.duration_limit_s)


def usable_rules(
    rules: tuple[TransferRule, ...], transfer_number: int, first: Unit, last: Unit
) -> list[TransferRule]:
    """Rules allowing this transfer; among rows with a transfer_count, only those with
    the smallest count still >= the transfer's number (reference §4)."""
    usable = [
        r
        for r in rules
        if (r.transfer_count is None or _count(r) >= transfer_number)
        and within_limit(r, first, last)
    ]
    counted = [_count(r) for r in usable if r.transfer_count is not None]
    if counted:
        smallest = min(counted)
        usable = [r for r in usable if r.transfer_count is None or _count(r) == smallest]
    return usable


def _count(rule: TransferRule) -> int:
    count = rule.transfer_count
    assert count is not None
    return UNLIMITED if count == -1 else count


def transfer_cost(kind: int, transfer_number: int, so_far: int, product: int, leg: int) -> int:
    """The spec's fare_transfer_type table, applied per transfer; never below zero."""
    if kind == 0:
        cost = so_far + product
    elif kind == 1:
        cost = so_far + product + leg
    else:
        cost = product if transfer_number == 1 else so_far + product
    return max(cost, 0)


def free_and_unlimited(rules: Sequence[TransferRule]) -> bool:
    """Rules under which the greedy split is the best fare: every transfer free (type 0,
    no product), limits measured from the first departure, no transfer count limit."""
    return all(
        r.fare_transfer_type == 0
        and r.fare_product_id is None
        and r.transfer_count in (None, -1)
        and r.duration_limit_type in (None, 0, 1)
        for r in rules
    )


def greedy_plan(
    units_from: Sequence[Sequence[Unit]], index: TransferIndex
) -> list[list[Step]] | None:
    """The best fare without search, for a day of single-product legs of one price and
    rules that pass `free_and_unlimited`; None when the day is not of that shape.

    A sub-journey then costs its first leg, so the best fare has the fewest
    sub-journeys; a sub-journey stays valid when its first leg is dropped (spans from a
    later departure are shorter), so extending each one as far as it goes is optimal,
    and it is the split the search prefers on ties."""
    if any(len(units) != 1 or len(units[0].candidates) != 1 for units in units_from):
        return None
    price = units_from[0][0].candidates[0].amount_minor
    if any(units[0].candidates[0].amount_minor != price for units in units_from):
        return None
    chains: list[list[Step]] = []
    chain: list[Step] = []
    for units in units_from:
        unit = units[0]
        candidate = unit.candidates[0]
        if chain:
            previous = chain[-1].candidate
            first = chain[0].unit
            for rule in index.between(previous.leg_group_id, candidate.leg_group_id):
                if within_limit(rule, first, unit):
                    chain.append(Step(unit, candidate, rule, None, 0))
                    break
            else:
                chains.append(chain)
                chain = []
        if not chain:
            chain = [Step(unit, candidate, None, None, price)]
    chains.append(chain)
    return chains


PriceProduct = Callable[[str], Candidate | None]
# Product and group of the last effective leg, transfers made, and where the first
# effective leg ends (duration limits of types 2 and 3 are measured from it).
StateKey = tuple[str, str | None, int, int]


def best_plan(
    count: int,
    units_from: Sequence[Sequence[Unit]],
    index: TransferIndex,
    transfer_product: PriceProduct,
) -> list[list[Step]] | int:
    """The cheapest split of `count` legs into sub-journeys, as lists of steps; or, when
    some leg cannot be priced in any split, the position of the first such leg."""
    if count == 1:  # most card-days: one leg, its cheapest product
        if not units_from[0]:
            return 0
        unit = units_from[0][0]
        cheapest = unit.candidates[0]
        return [[Step(unit, cheapest, None, None, cheapest.amount_minor)]]
    best: list[tuple[int, int, tuple[Step, ...]] | None] = [None] * (count + 1)
    best[0] = (0, 0, ())
    for origin in range(count):
        reached = best[origin]
        if reached is None:
            continue
        base = reached[0]
        # States by the position they reach; a state only ever feeds later positions.
        states: list[dict[StateKey, tuple[int, tuple[Step, ...]]]] = [{} for _ in range(count + 1)]
        for unit in units_from[origin]:
            for c in unit.candidates:
                _keep(
                    states[unit.stop],
                    (c.fare_product_id, c.leg_group_id, 0, unit.stop),
                    c.amount_minor,
                    (Step(unit, c, None, None, c.amount_minor),),
                )
        for position in range(origin + 1, count + 1):
            for (_, _, transfers, _), (cost, steps) in states[position].items():
                current = best[position]
                # On a tie the later split wins, so earlier sub-journeys are as long as
                # possible: the rider's hour counts from their first tap.
                if current is None or (base + cost, -origin) < (current[0], -current[1]):
                    best[position] = (base + cost, origin, steps)
                if position == count:
                    continue
                previous = steps[-1].candidate
                first = steps[0].unit
                number = transfers + 1
                for unit in units_from[position]:
                    for c in unit.candidates:
                        rules = index.between(previous.leg_group_id, c.leg_group_id)
                        if not rules:
                            continue
                        for rule in usable_rules(rules, number, first, unit):
                            product = None
                            if rule.fare_product_id is not None:
                                product = transfer_product(rule.fare_product_id)
                                if product is None:
                                    continue  # not sold on this medium: rule does not apply
                            amount = product.amount_minor if product is not None else 0
                            new_cost = transfer_cost(
                                rule.fare_transfer_type, number, cost, amount, c.amount_minor
                            )
                            step = Step(unit, c, rule, product, new_cost - cost)
                            key = (c.fare_product_id, c.leg_group_id, number, first.stop)
                            _keep(states[unit.stop], key, new_cost, (*steps, step))
    final = best[count]
    if final is None:
        return max(p for p in range(count + 1) if best[p] is not None)
    chains: list[list[Step]] = []
    position = count
    while position > 0:
        entry = best[position]
        assert entry is not None
        chains.append(list(entry[2]))
        position = entry[1]
    chains.reverse()
    return chains


def _keep(
    states: dict[StateKey, tuple[int, tuple[Step, ...]]],
    key: StateKey,
    cost: int,
    steps: tuple[Step, ...],
) -> None:
    known = states.get(key)
    if known is None or cost < known[0]:
        states[key] = (cost, steps)
