"""Pricing every card-day of a service day, in chunks, in-process or on worker processes.

Pricing is pure and CPU-bound: on a day of a million taps it is most of the close. A
large day is therefore cut into chunks of cards priced by a pool of worker processes,
one per core. The workers are forked after the day has been read, so each inherits the
day's taps, the earlier legs caps need and the parsed tariff (its pricing indexes
included) from the parent's memory: only chunk bounds travel to a worker, and it sends
back rows ready to write (on PostgreSQL already in COPY text form), so the parent, which
holds the database connection, mostly streams bytes. With the processor's instant answers
(`settlement.processor.InstantAnswers`) a worker also writes the rows of each charge
answered at once: the charge paid, the processor's record, the ledger transaction.
Small days, platforms without `fork`, and most tests price in-process through the same
`price_chunk`, so both paths write the same rows in the same order.

A worker touches no database connection: it prices, formats and returns. The fork copies
the parent's open connection too, which is why the parent's objects are frozen out of the
workers' garbage collector (`gc.freeze`): a worker must never finalise one of them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fare import Leg, Tariff
from settlement.apportionment import ApportionMethod
from settlement.bulk import Batch, copy_text
from settlement.cardday import price_card_day
from settlement.daydata import (
    ADJUSTMENT_COLUMNS,
    DAY_CHARGE_COLUMNS,
    LEG_COLUMNS,
    SHARE_COLUMNS,
    adjustment_rows,
    leg_rows,
)
from settlement.journeys import TapRecord, card_legs
from settlement.ledger import charge_key
from settlement.posting import POSTING_COLUMNS, TRANSACTION_COLUMNS, CapturedCharges
from settlement.processor import InstantAnswers
from settlement.store import (
    Charge,
    ChargeShare,
    LedgerPosting,
    LedgerTransaction,
    PricedAdjustment,
    PricedLeg,
)

# Below this many cards, forking workers costs more than it saves.
PARALLEL_MIN_CARDS = 20_000
CHUNK_CARDS = 4_000
# Each worker grows its own copy of the pages it touches (about 1 GB per million taps).
MAX_WORKERS = 8


@dataclass(frozen=True, slots=True)
class DayInputs:
    """Everything pricing a day needs, read before the workers fork."""

    tariff: Tariff
    day: date
    method: ApportionMethod
    now: datetime
    day_end: datetime
    tap_out_routes: frozenset[str]
    default_plan: str | None
    # Card i of the day is `tokens[i]`, its charge gets id `charge_ids[i]`.
    tokens: Sequence[str]
    charge_ids: Sequence[int]
    by_card: Mapping[str, Sequence[TapRecord]]
    bike_returns: Mapping[int, TapRecord]
    next_unlock: Mapping[int, datetime]
    earlier: Mapping[str, Sequence[Leg]]
    # Return rows as COPY text (PostgreSQL) rather than tuples.
    copy_text: bool
    # The processor's answers given while pricing (None: every charge is left pending),
    # and the ledger transaction id of card i's answered charge, `ledger_ids[i]`.
    instant: InstantAnswers | None = None
    ledger_ids: Sequence[int] = ()


@dataclass(slots=True)
class PricedChunk:
    """The rows of cards `tokens[start:stop]`, in `daydata` column order (charges in
    `DAY_CHARGE_COLUMNS`), with the rows of the charges answered at once: the
    processor's records (in `InstantAnswers.columns`) and the ledger's transactions and
    postings (`settlement.posting` columns)."""

    legs: Batch
    adjustments: Batch
    charges: Batch
    shares: Batch
    cards: int
    leg_count: int
    charged_minor: int
    # (charge id, operator shares) of each charge left pending: the charge step needs
    # them and need not read back what was just written.
    due: list[tuple[int, dict[str, int]]]
    processor: Batch = ()
    transactions: Batch = ()
    postings: Batch = ()
    paid: int = 0
    paid_minor: int = 0


def price_chunk(inputs: DayInputs, start: int, stop: int) -> PricedChunk:
    """Price cards `start` to `stop` (exclusive) of the day."""
    tariff, day, method, now = inputs.tariff, inputs.day, inputs.method, inputs.now
    instant = inputs.instant
    ledger = CapturedCharges(day, now)
    empty: tuple[Leg, ...] = ()
    legs: list[tuple[Any, ...]] = []
    adjustments: list[tuple[Any, ...]] = []
    charges: list[tuple[Any, ...]] = []
    shares: list[tuple[Any, ...]] = []
    records: list[tuple[Any, ...]] = []
    transactions: list[tuple[Any, ...]] = []
    postings: list[tuple[Any, ...]] = []
    due: list[tuple[int, dict[str, int]]] = []
    charged = paid = paid_minor = 0
    for position in range(start, stop):
        token = inputs.tokens[position]
        charge_id = inputs.charge_ids[position]
        journeys = card_legs(
            inputs.by_card[token],
            day_end=inputs.day_end,
            tap_out_routes=inputs.tap_out_routes,
            bike_returns=inputs.bike_returns,
            bike_next_unlock=inputs.next_unlock,
            default_plan_id=inputs.default_plan,
        )
        priced = price_card_day(
            tariff,
            day,
            token,
            journeys.legs,
            earlier=inputs.earlier.get(token, empty),
            method=method,
        )
        legs.extend(leg_rows(token, day, 0, priced))
        adjustments.extend(adjustment_rows(token, day, 0, priced))
        amount = priced.amount_minor
        currency = priced.currency
        charged += amount
        key = charge_key(token, day)
        split = priced.shares
        answer = (
            None
            if instant is None or amount <= 0
            else instant.charge(token, key, amount, currency, day)
        )
        processor_id: str | None = None
        fee: int | None = None
        charged_at: datetime | None = None
        if answer is None:
            status = "pending" if amount > 0 else "nothing_due"
            if amount > 0:
                due.append((charge_id, split))
        else:
            # Paid now: what the charge step would record after asking the processor.
            processor_id, fee, record = answer
            status, charged_at = "paid", now
            records.append(record)
            transaction, lines = ledger.rows(
                inputs.ledger_ids[position], token, currency, amount, split
            )
            transactions.append(transaction)
            postings.extend(lines)
            paid += 1
            paid_minor += amount
        charges.append(
            (
                charge_id,
                token,
                day,
                "day",
                0,
                day,
                amount,
                currency,
                status,
                key,
                0 if answer is None else 1,
                [*journeys.notes, *priced.notes],
                now,
                now,
                processor_id,
                fee,
                charged_at,
            )
        )
        standalone = priced.standalone
        counts = priced.leg_counts
        shares.extend(
            (
                charge_id,
                day,
                operator,
                split[operator],
                standalone.get(operator, 0),
                counts.get(operator, 0),
            )
            for operator in sorted(split)
        )
    chunk = PricedChunk(
        legs=legs,
        adjustments=adjustments,
        charges=charges,
        shares=shares,
        cards=stop - start,
        leg_count=len(legs),
        charged_minor=charged,
        due=due,
        processor=records,
        transactions=transactions,
        postings=postings,
        paid=paid,
        paid_minor=paid_minor,
    )
    if inputs.copy_text:
        chunk.legs = copy_text(PricedLeg, LEG_COLUMNS, legs)
        chunk.adjustments = copy_text(PricedAdjustment, ADJUSTMENT_COLUMNS, adjustments)
        chunk.charges = copy_text(Charge, DAY_CHARGE_COLUMNS, charges)
        chunk.shares = copy_text(ChargeShare, SHARE_COLUMNS, shares)
        if instant is not None:
            chunk.processor = copy_text(instant.model, instant.columns, records)
        chunk.transactions = copy_text(LedgerTransaction, TRANSACTION_COLUMNS, transactions)
        chunk.postings = copy_text(LedgerPosting, POSTING_COLUMNS, postings)
    return chunk


def default_workers(cards: int) -> int:
    """One worker per core this process may use, on a day large enough to repay the fork."""
    if cards < PARALLEL_MIN_CARDS or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, MAX_WORKERS)


def price_day(
    inputs: DayInputs, *, workers: int, chunk_cards: int = CHUNK_CARDS
) -> Iterator[PricedChunk]:
    """The day's chunks in card order, priced by `workers` processes (1: in-process).

    With workers, they are forked here, before the caller opens a COPY to write what
    they send back (a fork should not copy a process in the middle of a COPY)."""
    count = len(inputs.tokens)
    bounds = [(start, min(start + chunk_cards, count)) for start in range(0, count, chunk_cards)]
    if workers <= 1 or len(bounds) <= 1:
        return (price_chunk(inputs, start, stop) for start, stop in bounds)
    return _price_forked(inputs, bounds, workers)


# The inputs of the running parallel pricing, inherited by the forked workers. Closes of
# two days may run at once in one server process: the lock keeps each fork to its own.
_forked_inputs: DayInputs | None = None
_forking = threading.Lock()


def _price_bounds(bounds: tuple[int, int]) -> PricedChunk:
    assert _forked_inputs is not None, "a pricing worker runs only in a forked process"
    return price_chunk(_forked_inputs, *bounds)


def _price_forked(
    inputs: DayInputs, bounds: list[tuple[int, int]], workers: int
) -> Iterator[PricedChunk]:
    global _forked_inputs  # noqa: PLW0603 (handed to the forked workers, cleared after)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    with _forking:
        _forked_inputs = inputs
        # A caller that froze the heap itself (the close does) unfreezes it when done.
        outer = gc.get_freeze_count() > 0
        gc.freeze()
        try:
            # map() submits every chunk at once, and the workers fork at the first submit.
            results = pool.map(_price_bounds, bounds)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            if not outer:
                gc.unfreeze()
            _forked_inputs = None
    return _collect(pool, results)


def _collect(pool: ProcessPoolExecutor, results: Iterator[PricedChunk]) -> Iterator[PricedChunk]:
    try:
        yield from results
    finally:
        # Normally every chunk is done; after an error, the chunks not started are dropped.
        pool.shutdown(wait=True, cancel_futures=True)
