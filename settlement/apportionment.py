"""Splitting one card-day's charge between operators, to the cent.

Why this method (reference/settlement.md §2-4):

- With tap data we know every leg, so each card-day is split exactly, per card-day pool,
  with no survey: the Swiss per-ticket idea at 100 % sampling.
- The default key is **standalone fares pro rata**: each operator weighs what its legs
  would have cost bought alone. It is order-free (a late tap or the time of day never
  reshuffles who gets what), explainable to operators, and uses the tariff we already
  have. A Dijon-style 1-hour ticket of 130 covering bus then tram splits 65 / 65, not
  130 / 0 as the priced legs would say. `boardings` (taps/rentals/entries) and
  `passenger_km` (leg distances) are the contractual alternatives. "Charge order" is
  deliberately absent: it pays for *when* riders travel and can be gamed (§3).
- Rounding is the **largest-remainder (Hamilton) method in integer arithmetic** (§4): each
  part gets the floor of its exact quota `amount * w / W`; the cents left over go one each
  to the largest fractional parts. Parts therefore always add up to the whole, and each
  part is within one cent of its exact quota. Exact quotas are never floats.
- **Ties** are broken by `sha256(f"{seed}:{key}")`, not by key order: ordering by operator
  id is deterministic but always hands the odd cent to the same operator; a hash of the
  pool id (the seed, e.g. `f"{card_token}:{service_day}"`) and the operator id is just as
  reproducible and spreads the odd cents evenly across operators.
- A **negative** amount (a refund) is minus the split of its absolute value, so a refund
  mirrors the original split exactly.
- **All-zero weights** (every leg free, say) fall back to equal weights, our explicit rule
  in place of a division by zero. A zero weight among non-zero ones gets zero.

`ALLOCATION_RULE` names this rule and its version: statements store it with the method so
that any past split can be recomputed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from settlement.errors import ApportionmentError

ALLOCATION_RULE = "largest_remainder/sha256_tiebreak/v1"


class ApportionMethod(StrEnum):
    STANDALONE = "standalone"
    BOARDINGS = "boardings"
    PASSENGER_KM = "passenger_km"


@dataclass(frozen=True, slots=True)
class ApportionLeg:
    """One leg of a card-day as the split sees it.

    `standalone_minor` is what the leg would cost bought alone (not what it was charged);
    `distance_m` is the leg's distance, needed only for `passenger_km`.
    """

    operator_id: str
    standalone_minor: int
    distance_m: int | None = None

    def __post_init__(self) -> None:
        if not self.operator_id:
            raise ApportionmentError("A leg needs an operator id.")
        if self.standalone_minor < 0:
            raise ApportionmentError(f"A leg of {self.operator_id} has a negative standalone fare.")
        if self.distance_m is not None and self.distance_m < 0:
            raise ApportionmentError(f"A leg of {self.operator_id} has a negative distance.")


def _tie_break(seed: str, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def _checked_weights(weights: Mapping[str, int]) -> dict[str, int]:
    for key, weight in weights.items():
        if weight < 0:
            raise ApportionmentError(f"The weight of {key!r} is negative ({weight}).")
    if sum(weights.values()) == 0:
        # Our explicit rule for "nobody has any weight": share equally (settlement.md §4).
        return dict.fromkeys(weights, 1)
    return dict(weights)


def exact_quotas(amount_minor: int, weights: Mapping[str, int]) -> dict[str, Fraction]:
    """The exact fractional shares, for auditors to store next to the rounded cents."""
    if not weights:
        return {}
    checked = _checked_weights(weights)
    total = sum(checked.values())
    return {key: Fraction(amount_minor * weight, total) for key, weight in sorted(checked.items())}


def split(amount_minor: int, weights: Mapping[str, int], *, seed: str) -> dict[str, int]:
    """Split `amount_minor` between the keys of `weights`; the parts sum to the amount.

    The result is keyed like `weights`, in sorted key order, and does not depend on the
    order of `weights`. An empty `weights` can only split zero.
    """
    if not weights:
        if amount_minor == 0:
            return {}
        raise ApportionmentError(f"Cannot split {amount_minor} between no parts.")
    if amount_minor < 0:
        return {key: -part for key, part in split(-amount_minor, weights, seed=seed).items()}

    checked = _checked_weights(weights)
    total_weight = sum(checked.values())
    floors: dict[str, int] = {}
    remainders: dict[str, int] = {}
    for key, weight in checked.items():
        # All quotas share the denominator total_weight, so their fractional parts compare
        # as the integer remainders: exact, no Fraction or float needed.
        floors[key], remainders[key] = divmod(amount_minor * weight, total_weight)

    leftover = amount_minor - sum(floors.values())
    if leftover:
        # Ranked only when there are cents to hand out: the tie-break hashes cost more
        # than the rest of a split, and most card-days divide exactly.
        ranked = sorted(checked, key=lambda key: (-remainders[key], _tie_break(seed, key), key))
        for key in ranked[:leftover]:
            floors[key] += 1

    parts = {key: floors[key] for key in sorted(floors)}
    assert sum(parts.values()) == amount_minor
    return parts


def operator_weights(
    legs: Iterable[ApportionLeg], method: ApportionMethod | str = ApportionMethod.STANDALONE
) -> dict[str, int]:
    """Each operator's weight in a card-day pool under `method` (per operator, not per leg)."""
    try:
        chosen = ApportionMethod(method)
    except ValueError as exc:
        names = ", ".join(m.value for m in ApportionMethod)
        raise ApportionmentError(f"Unknown apportionment method {method!r} ({names}).") from exc

    weights: dict[str, int] = {}
    for leg in legs:
        if chosen is ApportionMethod.STANDALONE:
            weight = leg.standalone_minor
        elif chosen is ApportionMethod.BOARDINGS:
            weight = 1
        else:
            if leg.distance_m is None:
                # A missing distance silently weighing zero would shift money to the other
                # operators; the caller must infer the alighting stop or pick another key.
                raise ApportionmentError(
                    f"A leg of {leg.operator_id} has no distance; passenger_km needs one."
                )
            weight = leg.distance_m
        weights[leg.operator_id] = weights.get(leg.operator_id, 0) + weight
    return weights


def apportion_charge(
    charge_minor: int,
    legs: Iterable[ApportionLeg],
    *,
    method: ApportionMethod | str = ApportionMethod.STANDALONE,
    seed: str,
) -> dict[str, int]:
    """Split one card-day's charge between the operators of its legs.

    Every operator with a leg appears in the result, with 0 if it earns nothing, so a
    statement can list it. `seed` should name the pool, e.g. `f"{card_token}:{day}"`.
    """
    return split(charge_minor, operator_weights(legs, method), seed=seed)
