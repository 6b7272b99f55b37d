"""The ledger in the database: idempotent posting of `ledger.Transaction`s, and balances.

A transaction is stored once per idempotency key. Posting the same key again with the
same body is a no-op; with a different body it is a `LedgerConflict` (the database model
of `ledger.Journal`). Postings are never updated or deleted: corrections are new
transactions (settlement.md §5).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from json.encoder import encode_basestring_ascii as _json_str  # json.dumps' own, in C
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from settlement.bulk import existing, insert_rows, reserve_ids
from settlement.errors import LedgerConflict
from settlement.ledger import (
    Account,
    Transaction,
    TransactionKind,
    charge_captured,
    charge_key,
    operator_payable,
)
from settlement.store import LedgerPosting, LedgerTransaction
from validators.schema import table_of

TRANSACTION_COLUMNS = (
    "id",
    "idempotency_key",
    "kind",
    "currency",
    "service_day",
    "memo",
    "corrects",
    "body_hash",
    "posted_at",
)
# Posting ids come from the column's own default: nothing refers to a posting.
POSTING_COLUMNS = ("transaction_id", "service_day", "account", "currency", "amount_minor")


def body_hash(transaction: Transaction) -> str:
    """sha256 of the transaction's body as `json.dumps(body, sort_keys=True)` writes it
    (`reference_body` below). Built directly, a third of the cost, as a close hashes a
    million of them; a test holds the two to the same bytes, since stored hashes must
    keep matching."""
    day = transaction.service_day
    postings = ", ".join(
        f"[{_json_str(p.account)}, {int.__repr__(p.amount_minor)}]" for p in transaction.postings
    )
    corrects = transaction.corrects
    text = (
        f'{{"corrects": {"null" if corrects is None else _json_str(corrects)}, '
        f'"currency": {_json_str(transaction.currency)}, '
        f'"kind": {_json_str(str(transaction.kind))}, '
        f'"memo": {_json_str(transaction.memo)}, '
        f'"postings": [{postings}], '
        f'"service_day": {"null" if day is None else _json_str(day.isoformat())}}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


def reference_body(transaction: Transaction) -> str:
    """The hashed body, the slow obvious way: what `body_hash` must agree with."""
    body = {
        "kind": str(transaction.kind),
        "currency": transaction.currency,
        "postings": [[p.account, p.amount_minor] for p in transaction.postings],
        "memo": transaction.memo,
        "corrects": transaction.corrects,
        "service_day": transaction.service_day.isoformat() if transaction.service_day else None,
    }
    return json.dumps(body, sort_keys=True)


def transaction_row(
    tx_id: int, transaction: Transaction, hashed: str, now: datetime
) -> tuple[Any, ...]:
    """The `ledger_transactions` row (in `TRANSACTION_COLUMNS` order) of a transaction
    whose body hashes to `hashed`."""
    return (
        tx_id,
        transaction.idempotency_key,
        str(transaction.kind),
        transaction.currency,
        transaction.service_day,
        transaction.memo,
        transaction.corrects,
        hashed,
        now,
    )


PostingRow = tuple[int, date, str, str, int]


def posting_rows_of(tx_id: int, transaction: Transaction, posted: date) -> list[PostingRow]:
    """Its `ledger_postings` rows, in `POSTING_COLUMNS` order. A transaction without a
    service day (a refund, a fee) files its postings under `posted`, its posting date."""
    currency = transaction.currency
    day = transaction.service_day or posted
    return [(tx_id, day, p.account, currency, p.amount_minor) for p in transaction.postings]


class CapturedCharges:
    """The ledger rows of the `ledger.charge_captured` transactions of one service day,
    made without the `Transaction`s: a close answering its charges as it prices them
    (`settlement.closing`) makes a quarter of a million, in its pricing workers. The same
    rows as `transaction_row` and `posting_rows_of` of the builder's transaction with
    its `body_hash` (a test holds them to it); only the postings vary from one to the
    next, so the rest of the hashed body is written once."""

    def __init__(self, service_day: date, now: datetime) -> None:
        self._day = service_day
        self._now = now
        self._memo = f"card-day {service_day.isoformat()} charged"
        self._kind = str(TransactionKind.CHARGE_CAPTURED)
        self._bodies: dict[str, tuple[str, str]] = {}
        self._payables: dict[str, tuple[str, str]] = {}

    def _body(self, currency: str) -> tuple[str, str]:
        found = self._bodies.get(currency)
        if found is None:
            # `body_hash`'s text around the postings.
            found = (
                f'{{"corrects": null, "currency": {_json_str(currency)}, '
                f'"kind": {_json_str(self._kind)}, "memo": {_json_str(self._memo)}, '
                f'"postings": [',
                f'], "service_day": {_json_str(self._day.isoformat())}}}',
            )
            self._bodies[currency] = found
        return found

    def _payable(self, operator_id: str) -> tuple[str, str]:
        found = self._payables.get(operator_id)
        if found is None:
            account = operator_payable(operator_id)
            found = self._payables[operator_id] = (account, _json_str(account))
        return found

    def rows(
        self,
        tx_id: int,
        card_token: str,
        currency: str,
        amount_minor: int,
        shares: Mapping[str, int],
    ) -> tuple[tuple[Any, ...], list[PostingRow]]:
        """(the transaction's row, its postings' rows) of `charge_captured(...)`."""
        if amount_minor <= 0 or sum(shares.values()) != amount_minor:
            # What the builder refuses: let it say why.
            charge_captured(
                card_token=card_token,
                service_day=self._day,
                currency=currency,
                amount_minor=amount_minor,
                shares=shares,
            )
        receivable, clearing, day = _RECEIVABLE, _CLEARING, self._day
        postings = [(tx_id, day, receivable, currency, amount_minor)]
        hashed = [f"[{_RECEIVABLE_JSON}, {amount_minor}]"]
        for operator in sorted(shares):
            share = shares[operator]
            if share != 0:
                account, account_json = self._payable(operator)
                postings.append((tx_id, day, account, currency, -share))
                hashed.append(f"[{account_json}, {-share}]")
        postings.append((tx_id, day, clearing, currency, amount_minor))
        postings.append((tx_id, day, receivable, currency, -amount_minor))
        hashed.append(f"[{_CLEARING_JSON}, {amount_minor}]")
        hashed.append(f"[{_RECEIVABLE_JSON}, {-amount_minor}]")
        head, tail = self._body(currency)
        text = f"{head}{', '.join(hashed)}{tail}"
        row = (
            tx_id,
            charge_key(card_token, self._day),
            self._kind,
            currency,
            self._day,
            self._memo,
            None,
            hashlib.sha256(text.encode()).hexdigest(),
            self._now,
        )
        return row, postings


_RECEIVABLE = str(Account.RIDERS_RECEIVABLE)
_CLEARING = str(Account.PROCESSOR_CLEARING)
_RECEIVABLE_JSON = _json_str(_RECEIVABLE)
_CLEARING_JSON = _json_str(_CLEARING)


def post(session: Session, transactions: Sequence[Transaction], *, now: datetime) -> int:
    """Store the transactions not stored yet; returns how many were new."""
    if not transactions:
        return 0
    table = table_of(LedgerTransaction)
    hashes = {t.idempotency_key: body_hash(t) for t in transactions}
    stored = existing(session, table.c.idempotency_key, list(hashes), table.c.body_hash)
    fresh: dict[str, Transaction] = {}
    for transaction in transactions:
        key = transaction.idempotency_key
        known = stored.get(key)
        earlier = fresh.get(key)
        if known is not None and known[0] != hashes[key]:
            raise LedgerConflict(f"Transaction {key} was already posted with a different body.")
        if earlier is not None and body_hash(earlier) != hashes[key]:
            raise LedgerConflict(f"Transaction {key} appears twice with different bodies.")
        if known is None:
            fresh[key] = transaction
    if not fresh:
        return 0
    ids = reserve_ids(session, LedgerTransaction, len(fresh))
    rows = []
    posting_rows: list[PostingRow] = []
    for tx_id, transaction in zip(ids, fresh.values(), strict=True):
        rows.append(transaction_row(tx_id, transaction, hashes[transaction.idempotency_key], now))
        posting_rows.extend(posting_rows_of(tx_id, transaction, now.date()))
    insert_rows(session, LedgerTransaction, TRANSACTION_COLUMNS, rows)
    insert_rows(session, LedgerPosting, POSTING_COLUMNS, posting_rows)
    return len(fresh)


def balances(session: Session) -> dict[str, dict[str, int]]:
    """{currency: {account: balance}}, debits positive (see `settlement.ledger`)."""
    postings = table_of(LedgerPosting)
    rows = session.execute(
        sa.select(postings.c.currency, postings.c.account, sa.func.sum(postings.c.amount_minor))
        .group_by(postings.c.currency, postings.c.account)
        .order_by(postings.c.currency, postings.c.account)
    )
    found: dict[str, dict[str, int]] = {}
    for currency, account, total in rows:
        found.setdefault(currency, {})[account] = int(total)
    return found


def account_balances(
    session: Session, *, after: tuple[str, str] | None = None, limit: int
) -> list[tuple[str, str, int]]:
    """(currency, account, balance) by currency then account, from after `after`."""
    postings = table_of(LedgerPosting)
    query = (
        sa.select(postings.c.currency, postings.c.account, sa.func.sum(postings.c.amount_minor))
        .group_by(postings.c.currency, postings.c.account)
        .order_by(postings.c.currency, postings.c.account)
        .limit(limit)
    )
    if after is not None:
        query = query.where(sa.tuple_(postings.c.currency, postings.c.account) > after)
    return [(currency, account, int(total)) for currency, account, total in session.execute(query)]


def trial_balance(session: Session) -> dict[str, int]:
    """Sum of every posting per currency: zero in a sound ledger."""
    return {currency: sum(accounts.values()) for currency, accounts in balances(session).items()}
