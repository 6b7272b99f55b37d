"""The ledger in the database: idempotent posting of `ledger.Transaction`s, and balances.

A transaction is stored once per idempotency key. Posting the same key again with the
same body is a no-op; with a different body it is a `LedgerConflict` (the database model
of `ledger.Journal`). Postings are never updated or deleted: corrections are new
transactions (settlement.md §5).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii as _json_str  # json.dumps' own, in C

import sqlalchemy as sa
from sqlmodel import Session

from settlement.bulk import existing, insert_rows, reserve_ids
from settlement.errors import LedgerConflict
from settlement.ledger import Transaction
from settlement.store import LedgerPosting, LedgerTransaction, table_of

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
POSTING_COLUMNS = ("transaction_id", "account", "currency", "amount_minor")


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
    posting_rows = []
    for tx_id, transaction in zip(ids, fresh.values(), strict=True):
        rows.append(
            (
                tx_id,
                transaction.idempotency_key,
                str(transaction.kind),
                transaction.currency,
                transaction.service_day,
                transaction.memo,
                transaction.corrects,
                hashes[transaction.idempotency_key],
                now,
            )
        )
        for posting in transaction.postings:
            posting_rows.append(
                (
                    tx_id,
                    posting.account,
                    transaction.currency,
                    posting.amount_minor,
                )
            )
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


def trial_balance(session: Session) -> dict[str, int]:
    """Sum of every posting per currency: zero in a sound ledger."""
    return {currency: sum(accounts.values()) for currency, accounts in balances(session).items()}
