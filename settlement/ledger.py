"""The double-entry ledger, as pure values: accounts, postings, transactions, builders.

Nothing here touches a database. Builders turn one business event into one balanced
`Transaction` with a deterministic idempotency key; the caller stores it (a unique key on
`idempotency_key`), and re-posting the same event is then a no-op (settlement.md §5).

**Sign convention**: a posting's `amount_minor` is positive for a debit and negative for
a credit; every transaction sums to zero. So assets and expenses (receivables, clearing,
processor balance, fees, losses) normally show positive balances, and liabilities
(operator payables, refunds owed) negative ones.

**Chart of accounts** (settlement.md §6, in our names):

| account | kind | holds |
| --- | --- | --- |
| `riders_receivable` | asset | fares of priced card-days not yet collected or moved to debt |
| `riders_debt` | asset | declined card-days awaiting recovery (still owed, aged as debt) |
| `processor_clearing` | asset | what the processor owes us; zero once its records match |
| `processor_balance` | asset | money held at the processor, net of fees, until paid out |
| `bank` | asset | money paid out to our bank account |
| `processor_fees` | expense | processor fees |
| `operator_payable:<operator_id>` | liability | what we owe each operator |
| `refunds` | liability | refunds granted to riders, not yet paid out by the processor |
| `adjustments` | holding | the net change of a late-adjusted card-day until it is charged |
| `bad_debt` | expense | written-off fares |
| `first_ride_loss` | expense | first rides of declined cards given up under the schemes' rules |

**Postings of each builder** (Dr = debit, Cr = credit; A = amount; s_op = an operator's
share; key = the idempotency key):

- `charge_captured` (key `charge:{token}:{day}`): Dr riders_receivable A / Cr
  operator_payable:op s_op (revenue recognised, per the apportioned shares); Dr
  processor_clearing A / Cr riders_receivable A (collected). The receivable nets to zero
  inside the transaction but its turnover shows what was charged.
- `charge_declined` (same key `charge:{token}:{day}`, so a card-day's revenue is
  recognised once: posting both is a conflict): Dr riders_receivable A / Cr
  operator_payable:op s_op; Dr riders_debt A / Cr riders_receivable A. Operators keep
  their share of uncollected fares: **the authority bears bad debt** (our contract
  choice, settlement.md §7).
- `debt_recovered` (key `recovery:{token}:{day}:{attempt}`): Dr processor_clearing A / Cr
  riders_debt A.
- `write_off_bad_debt` (key `write_off:{token}:{day}`): Dr bad_debt A / Cr riders_debt A.
- `first_ride_loss` (key `first_ride_loss:{token}:{day}`): Dr first_ride_loss A / Cr
  riders_debt A.
- `refund` (key `refund:{refund_key}`): the original shares reversed pro rata (the
  mirrored largest-remainder split of -A): Dr operator_payable:op |s_op| / Cr refunds A;
  against a card-day still in debt, Cr riders_debt A instead (nothing is paid back).
- `refund_paid` (key `refund_paid:{refund_key}`): Dr refunds A / Cr processor_clearing A.
- `processor_settled` (key `processor:{processor_id}`), one processor record: a charge
  (amount > 0) is Dr processor_balance net, Dr processor_fees fee / Cr processor_clearing
  amount; a refund (amount < 0) is Dr processor_clearing |amount| / Cr processor_balance
  |net|, Dr processor_fees fee.
- `fee` (key `fee:{processor_id}`), a fee outside any charge: Dr processor_fees A / Cr
  processor_balance A.
- `payout` (key `payout:{payout_id}`): Dr bank A / Cr processor_balance A.
- `late_adjustment` (key `late:{token}:{day}:{sequence}`, posted in the open period and
  naming the closed day): Dr/Cr operator_payable:op (new share - old share); the net
  change of the card-day, if any, is Dr adjustments (the rider owes more) or Cr
  adjustments. Never an edit of the closed day.
- `adjustment_collected` (key `late_charge:{token}:{day}:{sequence}`): Dr
  processor_clearing D / Cr adjustments D when charged (a negative D is paid back), or Dr
  riders_debt D / Cr adjustments D when declined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum

from settlement.apportionment import split
from settlement.errors import LedgerConflict, UnbalancedTransaction


class Account(StrEnum):
    RIDERS_RECEIVABLE = "riders_receivable"
    RIDERS_DEBT = "riders_debt"
    PROCESSOR_CLEARING = "processor_clearing"
    PROCESSOR_BALANCE = "processor_balance"
    BANK = "bank"
    PROCESSOR_FEES = "processor_fees"
    REFUNDS = "refunds"
    ADJUSTMENTS = "adjustments"
    BAD_DEBT = "bad_debt"
    FIRST_RIDE_LOSS = "first_ride_loss"


OPERATOR_PAYABLE_PREFIX = "operator_payable:"


def operator_payable(operator_id: str) -> str:
    """The account of what we owe one operator, e.g. `operator_payable:divia-tram`."""
    if not operator_id:
        raise UnbalancedTransaction("An operator payable needs an operator id.")
    return f"{OPERATOR_PAYABLE_PREFIX}{operator_id}"


def is_account(name: str) -> bool:
    if name.startswith(OPERATOR_PAYABLE_PREFIX):
        return len(name) > len(OPERATOR_PAYABLE_PREFIX)
    return name in Account._value2member_map_


class TransactionKind(StrEnum):
    CHARGE_CAPTURED = "charge_captured"
    CHARGE_DECLINED = "charge_declined"
    DEBT_RECOVERED = "debt_recovered"
    BAD_DEBT_WRITTEN_OFF = "bad_debt_written_off"
    FIRST_RIDE_LOSS = "first_ride_loss"
    REFUND = "refund"
    REFUND_PAID = "refund_paid"
    REFUND_REVERSED = "refund_reversed"
    PROCESSOR_SETTLED = "processor_settled"
    FEE = "fee"
    PAYOUT = "payout"
    LATE_ADJUSTMENT = "late_adjustment"
    ADJUSTMENT_COLLECTED = "adjustment_collected"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line: `amount_minor` > 0 debits `account`, < 0 credits it."""

    account: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Transaction:
    """Postings that succeed or fail together. Refused at construction unless balanced.

    `service_day` is the effective date (the service day the money belongs to), kept apart
    from when the caller records it; `corrects` names the key of the transaction a
    correction refers to.
    """

    idempotency_key: str
    kind: TransactionKind
    currency: str
    postings: tuple[Posting, ...]
    memo: str = ""
    corrects: str | None = None
    service_day: date | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.idempotency_key:
            raise UnbalancedTransaction("A transaction needs an idempotency key.")
        if not _is_currency(self.currency):
            raise UnbalancedTransaction(f"{self.currency!r} is not an ISO 4217 currency code.")
        if len(self.postings) < 2:
            raise UnbalancedTransaction(
                f"Transaction {self.idempotency_key} needs at least two postings."
            )
        for posting in self.postings:
            if not is_account(posting.account):
                raise UnbalancedTransaction(f"Unknown account {posting.account!r}.")
            if posting.amount_minor == 0:
                raise UnbalancedTransaction(
                    f"Transaction {self.idempotency_key} has a zero posting to {posting.account}."
                )
        total = sum(p.amount_minor for p in self.postings)
        if total != 0:
            raise UnbalancedTransaction(
                f"Transaction {self.idempotency_key} does not balance: debits and credits "
                f"differ by {total} minor units."
            )


def _is_currency(code: str) -> bool:
    return len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()


def _positive(amount_minor: int, what: str) -> None:
    if amount_minor <= 0:
        raise UnbalancedTransaction(f"{what} must be a positive amount, not {amount_minor}.")


# A close builds several postings per card-day, a million a day: a frozen dataclass's
# __init__ sets each field through object.__setattr__, slower than the rest of a posting.
# `_posting` sets the slots directly and gives an equal object (as `fare.model` does).
_set_account, _set_amount = (getattr(Posting, f.name).__set__ for f in fields(Posting))


def _posting(account: str, amount_minor: int) -> Posting:
    made = object.__new__(Posting)
    _set_account(made, account)
    _set_amount(made, amount_minor)
    return made


def _share_postings(shares: Mapping[str, int], sign: int) -> list[Posting]:
    # Operators with a zero share get no posting: a zero line carries no information.
    return [
        _posting(operator_payable(op), sign * amount)
        for op, amount in sorted(shares.items())
        if amount != 0
    ]


def _pool_seed(card_token: str, service_day: date) -> str:
    return f"{card_token}:{service_day.isoformat()}"


def _revenue_postings(amount_minor: int, shares: Mapping[str, int]) -> list[Posting]:
    if sum(shares.values()) != amount_minor:
        raise UnbalancedTransaction(
            f"Operator shares sum to {sum(shares.values())}, not the charge of {amount_minor}."
        )
    return [
        _posting(Account.RIDERS_RECEIVABLE, amount_minor),
        *_share_postings(shares, -1),
    ]


def charge_key(card_token: str, service_day: date) -> str:
    """The one key of a card-day's charge, shared with the processor call (DESIGN §2)."""
    return f"charge:{card_token}:{service_day.isoformat()}"


def charge_captured(
    *,
    card_token: str,
    service_day: date,
    currency: str,
    amount_minor: int,
    shares: Mapping[str, int],
) -> Transaction:
    _positive(amount_minor, "A captured charge")
    return Transaction(
        idempotency_key=charge_key(card_token, service_day),
        kind=TransactionKind.CHARGE_CAPTURED,
        currency=currency,
        postings=(
            *_revenue_postings(amount_minor, shares),
            _posting(Account.PROCESSOR_CLEARING, amount_minor),
            _posting(Account.RIDERS_RECEIVABLE, -amount_minor),
        ),
        memo=f"card-day {service_day.isoformat()} charged",
        service_day=service_day,
    )


def charge_declined(
    *,
    card_token: str,
    service_day: date,
    currency: str,
    amount_minor: int,
    shares: Mapping[str, int],
    decline_code: str | None = None,
) -> Transaction:
    _positive(amount_minor, "A declined charge")
    reason = f" ({decline_code})" if decline_code else ""
    return Transaction(
        idempotency_key=charge_key(card_token, service_day),
        kind=TransactionKind.CHARGE_DECLINED,
        currency=currency,
        postings=(
            *_revenue_postings(amount_minor, shares),
            _posting(Account.RIDERS_DEBT, amount_minor),
            _posting(Account.RIDERS_RECEIVABLE, -amount_minor),
        ),
        memo=f"card-day {service_day.isoformat()} declined{reason}; moved to debt",
        service_day=service_day,
    )


def debt_recovered(
    *, card_token: str, service_day: date, currency: str, amount_minor: int, attempt: int
) -> Transaction:
    """`attempt` numbers the recovery charges; it is part of their processor key too,
    since reusing the first key would only replay the original decline."""
    _positive(amount_minor, "A recovered debt")
    return Transaction(
        idempotency_key=f"recovery:{card_token}:{service_day.isoformat()}:{attempt}",
        kind=TransactionKind.DEBT_RECOVERED,
        currency=currency,
        postings=(
            Posting(Account.PROCESSOR_CLEARING, amount_minor),
            Posting(Account.RIDERS_DEBT, -amount_minor),
        ),
        memo=f"debt of card-day {service_day.isoformat()} recovered (attempt {attempt})",
        service_day=service_day,
    )


def write_off_bad_debt(
    *, card_token: str, service_day: date, currency: str, amount_minor: int
) -> Transaction:
    _positive(amount_minor, "A write-off")
    return Transaction(
        idempotency_key=f"write_off:{card_token}:{service_day.isoformat()}",
        kind=TransactionKind.BAD_DEBT_WRITTEN_OFF,
        currency=currency,
        postings=(
            Posting(Account.BAD_DEBT, amount_minor),
            Posting(Account.RIDERS_DEBT, -amount_minor),
        ),
        memo=f"debt of card-day {service_day.isoformat()} written off",
        service_day=service_day,
    )


def first_ride_loss(
    *, card_token: str, service_day: date, currency: str, amount_minor: int
) -> Transaction:
    _positive(amount_minor, "A first-ride loss")
    return Transaction(
        idempotency_key=f"first_ride_loss:{card_token}:{service_day.isoformat()}",
        kind=TransactionKind.FIRST_RIDE_LOSS,
        currency=currency,
        postings=(
            Posting(Account.FIRST_RIDE_LOSS, amount_minor),
            Posting(Account.RIDERS_DEBT, -amount_minor),
        ),
        memo=f"first ride of card-day {service_day.isoformat()} given up",
        service_day=service_day,
    )


def refund_shares(
    amount_minor: int, original_shares: Mapping[str, int], *, card_token: str, service_day: date
) -> dict[str, int]:
    """The operators' (negative) parts of a refund: the original split, mirrored."""
    # The original shares are the weights: a refund of the whole charge returns each
    # operator's share exactly, a partial one is pro rata with the same tie-break seed.
    return split(-amount_minor, original_shares, seed=_pool_seed(card_token, service_day))


def refund(
    *,
    card_token: str,
    service_day: date,
    currency: str,
    amount_minor: int,
    original_shares: Mapping[str, int],
    refund_key: str,
    against_debt: bool = False,
) -> Transaction:
    """A refund granted to a rider. `refund_key` names it (a dispute id, say) and is the
    processor call's key too. `against_debt` when the card-day was never collected."""
    _positive(amount_minor, "A refund")
    if amount_minor > sum(original_shares.values()):
        raise UnbalancedTransaction(
            f"A refund of {amount_minor} exceeds the original charge of "
            f"{sum(original_shares.values())}."
        )
    parts = refund_shares(
        amount_minor, original_shares, card_token=card_token, service_day=service_day
    )
    credit = Account.RIDERS_DEBT if against_debt else Account.REFUNDS
    return Transaction(
        idempotency_key=f"refund:{refund_key}",
        kind=TransactionKind.REFUND,
        currency=currency,
        postings=(*_share_postings(parts, -1), Posting(credit, -amount_minor)),
        memo=f"refund {refund_key} of card-day {service_day.isoformat()}",
        service_day=service_day,
    )


def refund_reversed(granted: Transaction) -> Transaction:
    """The bank refused a refund we had granted while it was `pending`: the `refund`
    transaction undone posting by posting, as a correction that names it (the original
    stays, the ledger is never edited)."""
    if granted.kind is not TransactionKind.REFUND:
        raise UnbalancedTransaction(f"Only a refund is reversed, not {granted.kind}.")
    refund_key = granted.idempotency_key.removeprefix("refund:")
    return Transaction(
        idempotency_key=f"refund_reversed:{refund_key}",
        kind=TransactionKind.REFUND_REVERSED,
        currency=granted.currency,
        postings=tuple(Posting(p.account, -p.amount_minor) for p in granted.postings),
        memo=f"refund {refund_key} refused by the bank: reversed",
        corrects=granted.idempotency_key,
        service_day=granted.service_day,
    )


def refund_paid(
    *, refund_key: str, currency: str, amount_minor: int, processor_refund_id: str
) -> Transaction:
    _positive(amount_minor, "A paid refund")
    return Transaction(
        idempotency_key=f"refund_paid:{refund_key}",
        kind=TransactionKind.REFUND_PAID,
        currency=currency,
        postings=(
            Posting(Account.REFUNDS, amount_minor),
            Posting(Account.PROCESSOR_CLEARING, -amount_minor),
        ),
        memo=f"refund {refund_key} paid by the processor ({processor_refund_id})",
    )


def processor_settled(
    *, processor_id: str, currency: str, amount_minor: int, fee_minor: int
) -> Transaction:
    """One processor balance movement (a charge > 0 or a refund < 0) and its fee."""
    if amount_minor == 0:
        raise UnbalancedTransaction("A processor record of zero moves nothing.")
    if fee_minor < 0:
        raise UnbalancedTransaction(f"A negative processor fee ({fee_minor}) is not a fee.")
    net = amount_minor - fee_minor
    postings = [
        Posting(Account.PROCESSOR_CLEARING, -amount_minor),
        Posting(Account.PROCESSOR_FEES, fee_minor),
        Posting(Account.PROCESSOR_BALANCE, net),
    ]
    return Transaction(
        idempotency_key=f"processor:{processor_id}",
        kind=TransactionKind.PROCESSOR_SETTLED,
        currency=currency,
        postings=tuple(p for p in postings if p.amount_minor != 0),
        memo=f"processor record {processor_id}",
    )


def fee(*, processor_id: str, currency: str, amount_minor: int, memo: str = "") -> Transaction:
    _positive(amount_minor, "A fee")
    return Transaction(
        idempotency_key=f"fee:{processor_id}",
        kind=TransactionKind.FEE,
        currency=currency,
        postings=(
            Posting(Account.PROCESSOR_FEES, amount_minor),
            Posting(Account.PROCESSOR_BALANCE, -amount_minor),
        ),
        memo=memo or f"processor fee {processor_id}",
    )


def payout(*, payout_id: str, currency: str, amount_minor: int) -> Transaction:
    _positive(amount_minor, "A payout")
    return Transaction(
        idempotency_key=f"payout:{payout_id}",
        kind=TransactionKind.PAYOUT,
        currency=currency,
        postings=(
            Posting(Account.BANK, amount_minor),
            Posting(Account.PROCESSOR_BALANCE, -amount_minor),
        ),
        memo=f"payout {payout_id}",
    )


def late_adjustment(
    *,
    card_token: str,
    service_day: date,
    open_day: date,
    currency: str,
    old_shares: Mapping[str, int],
    new_shares: Mapping[str, int],
    sequence: int,
) -> Transaction | None:
    """Re-split a closed card-day after a late tap, as deltas in the open period.

    `sequence` counts the adjustments of one card-day (a second late tap is a second
    adjustment). None when no operator's share changes: there is nothing to post.
    """
    deltas = {
        op: new_shares.get(op, 0) - old_shares.get(op, 0)
        for op in sorted(set(old_shares) | set(new_shares))
    }
    if not any(deltas.values()):
        return None
    net = sum(deltas.values())
    postings = _share_postings(deltas, -1)
    if net != 0:
        postings.append(Posting(Account.ADJUSTMENTS, net))
    day = service_day.isoformat()
    return Transaction(
        idempotency_key=f"late:{card_token}:{day}:{sequence}",
        kind=TransactionKind.LATE_ADJUSTMENT,
        currency=currency,
        postings=tuple(postings),
        memo=f"late adjustment {sequence} of card-day {day}, posted {open_day.isoformat()}",
        corrects=charge_key(card_token, service_day),
        service_day=open_day,
    )


def adjustment_collected(
    *,
    card_token: str,
    service_day: date,
    open_day: date,
    currency: str,
    amount_minor: int,
    sequence: int,
    declined: bool = False,
) -> Transaction:
    """The rider charged (or paid back, if negative) a late adjustment's net change."""
    if amount_minor == 0:
        raise UnbalancedTransaction("An adjustment of zero needs no collection.")
    if declined and amount_minor < 0:
        raise UnbalancedTransaction("A payment back to the rider cannot be declined.")
    debit = Account.RIDERS_DEBT if declined else Account.PROCESSOR_CLEARING
    day = service_day.isoformat()
    return Transaction(
        idempotency_key=f"late_charge:{card_token}:{day}:{sequence}",
        kind=TransactionKind.ADJUSTMENT_COLLECTED,
        currency=currency,
        postings=(Posting(debit, amount_minor), Posting(Account.ADJUSTMENTS, -amount_minor)),
        memo=f"late adjustment {sequence} of card-day {day} "
        f"{'declined' if declined else 'collected'} on {open_day.isoformat()}",
        service_day=open_day,
    )


def balances(transactions: Iterable[Transaction], *, currency: str | None = None) -> dict[str, int]:
    """Each account's balance (debit positive). Mixing currencies needs `currency`."""
    totals: dict[str, int] = {}
    seen: str | None = currency
    for transaction in transactions:
        if currency is not None and transaction.currency != currency:
            continue
        if seen is None:
            seen = transaction.currency
        elif transaction.currency != seen:
            raise UnbalancedTransaction(
                f"Balances of {seen} and {transaction.currency} cannot be added; name one."
            )
        for posting in transaction.postings:
            totals[posting.account] = totals.get(posting.account, 0) + posting.amount_minor
    return dict(sorted(totals.items()))


def trial_balance(transactions: Iterable[Transaction]) -> dict[str, int]:
    """Sum of all postings per currency: every value is zero in a sound ledger."""
    sums: dict[str, int] = {}
    for transaction in transactions:
        sums[transaction.currency] = sums.get(transaction.currency, 0) + sum(
            p.amount_minor for p in transaction.postings
        )
    return sums


def check_trial_balance(transactions: Iterable[Transaction]) -> None:
    unbalanced = {cur: total for cur, total in trial_balance(transactions).items() if total}
    if unbalanced:
        raise UnbalancedTransaction(f"The trial balance is off: {unbalanced}.")


class Journal:
    """An in-memory, append-only ledger with idempotent posting: the model the database
    store must agree with, and what tests and dry runs use.

    Posting a key again with the same body is a no-op; with a different body it is a
    `LedgerConflict` (settlement.md §5): a retried job can never post twice.
    """

    def __init__(self) -> None:
        self._by_key: dict[str, Transaction] = {}

    def post(self, transaction: Transaction) -> bool:
        """True when the transaction was new, False when it was already there."""
        existing = self._by_key.get(transaction.idempotency_key)
        if existing is None:
            self._by_key[transaction.idempotency_key] = transaction
            return True
        if existing != transaction:
            raise LedgerConflict(
                f"Transaction {transaction.idempotency_key} was already posted with a "
                "different body."
            )
        return False

    def post_all(self, transactions: Iterable[Transaction]) -> int:
        return sum(self.post(t) for t in transactions)

    @property
    def transactions(self) -> tuple[Transaction, ...]:
        return tuple(self._by_key.values())

    def get(self, idempotency_key: str) -> Transaction | None:
        return self._by_key.get(idempotency_key)

    def balances(self, *, currency: str | None = None) -> dict[str, int]:
        return balances(self._by_key.values(), currency=currency)
