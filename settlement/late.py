"""Late taps: taps of a closed day, settled in the next close as adjustments, never edits.

For each card-day of a closed day with late taps, the close of the open day:
- re-prices the card-day with all its taps (the earlier days of the cap period included);
- supersedes the card-day's priced legs with a new revision (the rider sees the new one);
- posts `ledger.late_adjustment`: each operator's share changes by new - old, and the net
  change of what the rider owes goes to the `adjustments` account;
- creates an `adjustment` charge of the difference (pending if positive, so the open
  day's charging step collects it; `nothing_due` if zero; `credit_due` if negative:
  paying money back is a refund, left to the refunds issue, and stays visible in
  `adjustments` until then), with the share changes as its split.
The card-day's original charge is never touched. Both days' statements show it: the open
day under `adjustments_minor`, the late day under `later_adjustments_minor`.

A late bike return (no card) is matched to its rental when the card's day is re-priced
for another reason; on its own it is only marked settled (left out: finding the card of
a lone late return).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from settlement import ledger, posting
from settlement.apportionment import ApportionMethod
from settlement.bulk import insert_rows, reserve_ids
from settlement.cardday import period_start, price_card_day
from settlement.context import Tariffs
from settlement.daydata import (
    CHARGE_COLUMNS,
    SHARE_COLUMNS,
    adjustment_rows,
    day_end,
    default_plan,
    earlier_legs,
    leg_rows,
    load_card_day_taps,
    tap_out_routes,
    write_priced,
)
from settlement.journeys import card_legs, match_bike_returns, next_unlocks
from settlement.store import (
    Charge,
    ChargeShare,
    LateTapSettled,
    PricedAdjustment,
    PricedLeg,
    SettlementDay,
)
from validators.schema import table_of
from validators.store import Tap


def settle_late_taps(
    session: Session,
    *,
    open_day: date,
    tariffs: Tariffs,
    method: ApportionMethod,
    now: datetime,
) -> int:
    """Adjust every card-day with unsettled late taps; returns how many were adjusted."""
    taps = table_of(Tap)
    done = table_of(LateTapSettled)
    days = table_of(SettlementDay)
    rows = session.execute(
        sa.select(taps.c.id, taps.c.card_token, taps.c.service_day).where(
            taps.c.late.is_(True),
            taps.c.service_day < open_day,
            taps.c.status == "accepted",
            taps.c.service_day.in_(sa.select(days.c.day).where(days.c.status == "closed")),
            taps.c.id.not_in(sa.select(done.c.tap_pk)),
        )
    ).all()
    if not rows:
        return 0
    card_days: dict[date, set[str]] = {}
    for _, token, day in rows:
        if token is not None:
            card_days.setdefault(day, set()).add(token)
    adjusted = 0
    for day in sorted(card_days):
        adjusted += _adjust_day(
            session,
            day=day,
            tokens=sorted(card_days[day]),
            open_day=open_day,
            tariffs=tariffs,
            method=method,
            now=now,
        )
    insert_rows(session, LateTapSettled, ("tap_pk", "posted_day"), [(r[0], open_day) for r in rows])
    return adjusted


def _adjust_day(
    session: Session,
    *,
    day: date,
    tokens: list[str],
    open_day: date,
    tariffs: Tariffs,
    method: ApportionMethod,
    now: datetime,
) -> int:
    tariff = tariffs.tariff_on(session, day).tariff
    taps = load_card_day_taps(session, day, tokens)
    returns, _ = match_bike_returns(taps.unlocks, taps.returns)
    following = next_unlocks(taps.unlocks)
    earlier = earlier_legs(session, tokens, period_start(tariff, day), day)
    before = _charged(session, day, tokens)
    legs: list[tuple[Any, ...]] = []
    adjustments: list[tuple[Any, ...]] = []
    charges: list[tuple[Any, ...]] = []
    shares: list[list[tuple[date, str, int, int, int]]] = []
    transactions: list[ledger.Transaction] = []
    for token in tokens:
        journeys = card_legs(
            taps.by_card.get(token, []),
            day_end=day_end(tariff, day),
            tap_out_routes=tap_out_routes(tariff),
            bike_returns=returns,
            bike_next_unlock=following,
            default_plan_id=default_plan(tariff),
        )
        priced = price_card_day(
            tariff, day, token, journeys.legs, earlier=earlier.get(token, ()), method=method
        )
        old_amount, old_shares, sequence = before.get(token, (0, {}, 0))
        sequence += 1
        _supersede(session, token, day)
        legs.extend(leg_rows(token, day, sequence, priced))
        adjustments.extend(adjustment_rows(token, day, sequence, priced))
        difference = priced.amount_minor - old_amount
        transaction = ledger.late_adjustment(
            card_token=token,
            service_day=day,
            open_day=open_day,
            currency=priced.currency,
            old_shares=old_shares,
            new_shares=priced.shares,
            sequence=sequence,
        )
        if transaction is not None:
            transactions.append(transaction)
        status = "pending" if difference > 0 else "nothing_due" if difference == 0 else "credit_due"
        charges.append(
            (
                token,
                day,
                "adjustment",
                sequence,
                open_day,
                difference,
                priced.currency,
                status,
                f"late_charge:{token}:{day.isoformat()}:{sequence}",
                0,
                [
                    f"Late taps re-priced the day: {priced.amount_minor} instead of {old_amount}.",
                    *journeys.notes,
                    *priced.notes,
                ],
                now,
                now,
            )
        )
        operators = sorted(set(old_shares) | set(priced.shares))
        shares.append(
            [
                (
                    day,
                    op,
                    priced.shares.get(op, 0) - old_shares.get(op, 0),
                    priced.standalone.get(op, 0),
                    priced.leg_counts.get(op, 0),
                )
                for op in operators
            ]
        )
    write_priced(session, legs, adjustments)
    ids = reserve_ids(session, Charge, len(charges))
    insert_rows(
        session, Charge, CHARGE_COLUMNS, [(i, *row) for i, row in zip(ids, charges, strict=True)]
    )
    insert_rows(
        session,
        ChargeShare,
        SHARE_COLUMNS,
        [(i, *share) for i, group in zip(ids, shares, strict=True) for share in group],
    )
    posting.post(session, transactions, now=now)
    return len(tokens)


def _charged(
    session: Session, day: date, tokens: list[str]
) -> dict[str, tuple[int, dict[str, int], int]]:
    """{token: (amount charged so far, shares so far, last sequence)} over every charge of
    the card-day (the day's and its earlier adjustments)."""
    charges = table_of(Charge)
    shares = table_of(ChargeShare)
    found: dict[str, tuple[int, dict[str, int], int]] = {}
    rows = session.execute(
        sa.select(
            charges.c.id, charges.c.card_token, charges.c.amount_minor, charges.c.sequence
        ).where(charges.c.service_day == day, charges.c.card_token.in_(tokens))
    ).all()
    by_id = {row[0]: row[1] for row in rows}
    for _, token, amount, sequence in rows:
        total, split, last = found.get(token, (0, {}, 0))
        found[token] = (total + amount, split, max(last, sequence))
    if by_id:
        for charge_id, operator, amount in session.execute(
            sa.select(shares.c.charge_id, shares.c.operator_id, shares.c.amount_minor).where(
                shares.c.charge_id.in_(list(by_id))
            )
        ):
            split = found[by_id[charge_id]][1]
            split[operator] = split.get(operator, 0) + amount
    return found


def _supersede(session: Session, token: str, day: date) -> None:
    for model in (PricedLeg, PricedAdjustment):
        table = table_of(model)
        session.execute(
            table.update()
            .where(table.c.card_token == token, table.c.service_day == day)
            .values(superseded=True)
        )
