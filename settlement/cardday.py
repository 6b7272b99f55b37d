"""Pricing one card-day (pure): its legs, with the earlier legs of the same week or month
that caps need, into the amount to charge and each operator's share.

The fare engine is causal (a day's amount depends only on that day and earlier days), so
the amount of day D is `quote.by_service_day[D]` of the legs from the start of the
longest cap period up to D: what earlier days already consumed of a weekly cap is taken
into account without re-charging them.

A leg the tariff cannot price (a route or stop it lacks, no matching fare rule) must not
stop the whole day: it is left out, with a note for the rider, and the rest is priced.
An unknown fare is never zero, so it is not charged at all rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from fare import Adjustment, InvalidJourney, Leg, LegPrice, NoFare, Tariff, price
from settlement.apportionment import ApportionLeg, ApportionMethod, apportion_charge
from settlement.journeys import JourneyLeg
from settlement.ledger import charge_key

UNASSIGNED_OPERATOR = "unassigned"


@dataclass(frozen=True, slots=True)
class PricedCardDay:
    legs: tuple[JourneyLeg, ...]
    prices: tuple[LegPrice, ...]  # aligned with `legs`
    adjustments: tuple[Adjustment, ...]
    amount_minor: int
    currency: str
    notes: tuple[str, ...]
    shares: dict[str, int]
    standalone: dict[str, int]
    leg_counts: dict[str, int]
    # Earlier legs priced with the day: the quote's adjustment leg indexes count them.
    offset: int = 0


def period_start(tariff: Tariff, day: date) -> date:
    """The first service day whose legs can change `day`'s amount (longest cap period)."""
    start = day
    for cap in tariff.caps:
        if cap.period == "week":
            start = min(start, day - timedelta(days=day.weekday()))
        elif cap.period == "month":
            start = min(start, day.replace(day=1))
    return start


def operator_shares(
    tariff: Tariff,
    day: date,
    card_token: str,
    prices: Sequence[LegPrice],
    adjustments: Sequence[Adjustment],
    amount_minor: int,
    method: ApportionMethod | str,
    offset: int,
) -> dict[str, int]:
    """Split the day's amount between operators (settlement.md §2, "our choice").

    A leg outside every pool goes directly to its operator at its priced amount: a bike
    ride or a car-park stay that no cap names and no adjustment touches. Every other leg
    is in the day's pool: transit legs (transfers and caps link any of them), legs of a
    network a cap names, legs an adjustment is booked on (park-and-ride). The pool, the
    amount minus the direct legs, is split by `method` (standalone fares pro rata by
    default), with the largest-remainder rule and the card-day as tie-break seed.
    """
    capped = {network for cap in tariff.caps for network in cap.network_ids}
    touched = {a.leg_index for a in adjustments if a.service_day == day}
    direct: dict[str, int] = {}
    pool: list[ApportionLeg] = []
    everyone: list[ApportionLeg] = []
    for position, leg_price in enumerate(prices):
        operator = leg_price.operator_id or UNASSIGNED_OPERATOR
        part = ApportionLeg(operator, leg_price.standalone_minor)
        everyone.append(part)
        pooled = (
            leg_price.kind == "transit"
            or leg_price.network_id in capped
            or offset + position in touched
        )
        if pooled:
            pool.append(part)
        else:
            direct[operator] = direct.get(operator, 0) + leg_price.amount_minor
    if not everyone:
        return {}
    remainder = amount_minor - sum(direct.values())
    if remainder < 0 or (remainder > 0 and not pool):
        # Cannot happen with the engine's quotes; fall back to one pool of every leg
        # rather than invent money for an operator.
        return apportion_charge(
            amount_minor, everyone, method=method, seed=charge_key(card_token, day)
        )
    shares = dict.fromkeys(sorted({p.operator_id for p in everyone}), 0)
    for operator, value in direct.items():
        shares[operator] += value
    if pool:
        for operator, value in apportion_charge(
            remainder, pool, method=method, seed=charge_key(card_token, day)
        ).items():
            shares[operator] += value
    return shares


def price_card_day(
    tariff: Tariff,
    day: date,
    card_token: str,
    legs: Sequence[JourneyLeg],
    *,
    earlier: Sequence[Leg] = (),
    method: ApportionMethod | str = ApportionMethod.STANDALONE,
) -> PricedCardDay:
    today = list(legs)
    context = list(earlier)
    notes: list[str] = []
    while True:
        try:
            quote = price(tariff, [*context, *(j.leg for j in today)])
            break
        except (NoFare, InvalidJourney) as exc:
            index = exc.leg_index
            if index is None:
                raise
            if index < len(context):
                del context[index]  # an earlier leg the current tariff cannot price
                continue
            dropped = today.pop(index - len(context))
            notes.append(f"A leg starting {dropped.leg.start:%H:%M} could not be priced: {exc}")
    prices = quote.legs[len(context) :]
    adjustments = tuple(a for a in quote.adjustments if a.service_day == day)
    amount = quote.by_service_day.get(day, 0)
    standalone: dict[str, int] = {}
    counts: dict[str, int] = {}
    for leg_price in prices:
        operator = leg_price.operator_id or UNASSIGNED_OPERATOR
        standalone[operator] = standalone.get(operator, 0) + leg_price.standalone_minor
        counts[operator] = counts.get(operator, 0) + 1
    shares = operator_shares(
        tariff, day, card_token, prices, quote.adjustments, amount, method, len(context)
    )
    return PricedCardDay(
        legs=tuple(today),
        prices=tuple(prices),
        adjustments=adjustments,
        amount_minor=amount,
        currency=quote.currency,
        notes=tuple(notes),
        shares=shares,
        standalone=standalone,
        leg_counts=counts,
        offset=len(context),
    )
