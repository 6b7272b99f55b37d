"""The ledger: every business event balances, re-posting changes nothing, money is traceable."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement import ledger, posting
from settlement.apportionment import split
from settlement.errors import LedgerConflict, UnbalancedTransaction
from settlement.ledger import Account, Journal, Posting, Transaction, TransactionKind

DAY = date(2026, 11, 26)
EUR = "EUR"


class CardDayArgs(TypedDict):
    card_token: str
    service_day: date
    currency: str


@dataclass(frozen=True)
class CardDay:
    token: str
    day: date
    amount: int
    shares: dict[str, int]
    declined: bool
    recovered: bool
    written_off: bool
    refund: int
    late_new_weights: dict[str, int] | None


@st.composite
def card_days(draw: st.DrawFn) -> list[CardDay]:
    count = draw(st.integers(1, 8))
    result = []
    for index in range(count):
        token = f"tok{index}"
        day = DAY + timedelta(days=draw(st.integers(0, 3)))
        amount = draw(st.integers(1, 5_000))
        weights = draw(
            st.dictionaries(
                st.sampled_from(["bus", "tram", "bike", "parking"]),
                st.integers(0, 900),
                min_size=1,
                max_size=4,
            )
        )
        shares = split(amount, weights, seed=f"{token}:{day}")
        declined = draw(st.booleans())
        recovered = declined and draw(st.booleans())
        written_off = declined and not recovered and draw(st.booleans())
        refund = 0 if declined else draw(st.integers(0, amount))
        late = draw(st.none() | st.just(weights | {"bike": 200}))
        result.append(
            CardDay(token, day, amount, shares, declined, recovered, written_off, refund, late)
        )
    return result


def transactions_for(days: list[CardDay]) -> list[Transaction]:
    transactions: list[Transaction] = []
    for cd in days:
        common = CardDayArgs(card_token=cd.token, service_day=cd.day, currency=EUR)
        if cd.declined:
            transactions.append(
                ledger.charge_declined(**common, amount_minor=cd.amount, shares=cd.shares)
            )
            if cd.recovered:
                transactions.append(
                    ledger.debt_recovered(**common, amount_minor=cd.amount, attempt=1)
                )
            if cd.written_off:
                transactions.append(ledger.write_off_bad_debt(**common, amount_minor=cd.amount))
        else:
            transactions.append(
                ledger.charge_captured(**common, amount_minor=cd.amount, shares=cd.shares)
            )
            transactions.append(
                ledger.processor_settled(
                    processor_id=f"ch_{cd.token}",
                    currency=EUR,
                    amount_minor=cd.amount,
                    fee_minor=cd.amount * 20 // 10_000 + 5,
                )
            )
            if cd.refund:
                key = f"dispute-{cd.token}"
                transactions.append(
                    ledger.refund(
                        **common, amount_minor=cd.refund, original_shares=cd.shares, refund_key=key
                    )
                )
                transactions.append(
                    ledger.refund_paid(
                        refund_key=key,
                        currency=EUR,
                        amount_minor=cd.refund,
                        processor_refund_id=f"re_{cd.token}",
                    )
                )
        if cd.late_new_weights is not None:
            new_shares = split(cd.amount, cd.late_new_weights, seed=f"{cd.token}:{cd.day}")
            adjustment = ledger.late_adjustment(
                **common,
                open_day=cd.day + timedelta(days=2),
                old_shares=cd.shares,
                new_shares=new_shares,
                sequence=1,
            )
            if adjustment is not None:
                transactions.append(adjustment)
    return transactions


@given(card_days())
def test_any_sequence_of_events_balances(days: list[CardDay]) -> None:
    transactions = transactions_for(days)
    for transaction in transactions:
        assert sum(p.amount_minor for p in transaction.postings) == 0
    assert ledger.trial_balance(transactions) == {EUR: 0}
    assert sum(ledger.balances(transactions).values()) == 0
    ledger.check_trial_balance(transactions)


@given(card_days(), st.text(max_size=12))
def test_the_stored_body_hash_is_the_hash_of_the_sorted_json_body(
    days: list[CardDay], memo: str
) -> None:
    # Stored hashes must keep matching: the fast hash is held to the reference bytes.
    transactions = transactions_for(days)
    transactions.append(
        ledger.fee(processor_id=f"fee-{memo}", currency=EUR, amount_minor=7, memo=memo)
    )
    for transaction in transactions:
        reference = hashlib.sha256(posting.reference_body(transaction).encode()).hexdigest()
        assert posting.body_hash(transaction) == reference


@given(card_days())
def test_reposting_the_same_batch_changes_nothing(days: list[CardDay]) -> None:
    transactions = transactions_for(days)
    journal = Journal()
    assert journal.post_all(transactions) == len(transactions)
    before = journal.balances()
    # A settle job retried from scratch rebuilds the same transactions with the same keys.
    assert journal.post_all(transactions_for(days)) == 0
    assert journal.balances() == before
    assert len(journal.transactions) == len(transactions)


@given(card_days())
def test_receivables_equal_charged_minus_collected_minus_written_off(days: list[CardDay]) -> None:
    balances = ledger.balances(transactions_for(days))
    declined = sum(cd.amount for cd in days if cd.declined)
    recovered = sum(cd.amount for cd in days if cd.recovered)
    written_off = sum(cd.amount for cd in days if cd.written_off)
    assert balances.get(Account.RIDERS_RECEIVABLE, 0) == 0
    assert balances.get(Account.RIDERS_DEBT, 0) == declined - recovered - written_off
    assert balances.get(Account.BAD_DEBT, 0) == written_off
    # Every refund granted was paid, and every captured charge was settled by the processor.
    assert balances.get(Account.REFUNDS, 0) == 0


@given(card_days())
def test_operators_are_owed_what_riders_were_charged_less_refunds(days: list[CardDay]) -> None:
    balances = ledger.balances(transactions_for(days))
    owed = -sum(v for k, v in balances.items() if k.startswith("operator_payable:"))
    # Late adjustments that only re-split move money between operators, not in total.
    extra = balances.get(Account.ADJUSTMENTS, 0)
    assert owed == sum(cd.amount for cd in days) - sum(cd.refund for cd in days) + extra


def test_worked_card_day_of_the_reference() -> None:
    # settlement.md §6: example C charged 880, processor fee 20.
    shares = {"bus": 480, "tram": 240, "bike": 160}
    journal = Journal()
    journal.post(
        ledger.charge_captured(
            card_token="tok", service_day=DAY, currency=EUR, amount_minor=880, shares=shares
        )
    )
    journal.post(
        ledger.processor_settled(processor_id="txn_1", currency=EUR, amount_minor=880, fee_minor=20)
    )
    journal.post(ledger.payout(payout_id="po_1", currency=EUR, amount_minor=860))
    assert journal.balances() == {
        "bank": 860,
        "operator_payable:bike": -160,
        "operator_payable:bus": -480,
        "operator_payable:tram": -240,
        "processor_clearing": 0,
        "processor_balance": 0,
        "processor_fees": 20,
        "riders_receivable": 0,
    }


def test_charge_postings_move_the_receivable_to_clearing() -> None:
    transaction = ledger.charge_captured(
        card_token="tok", service_day=DAY, currency=EUR, amount_minor=130, shares={"bus": 130}
    )
    assert transaction.idempotency_key == "charge:tok:2026-11-26"
    assert transaction.kind is TransactionKind.CHARGE_CAPTURED
    assert transaction.service_day == DAY
    assert transaction.postings == (
        Posting("riders_receivable", 130),
        Posting("operator_payable:bus", -130),
        Posting("processor_clearing", 130),
        Posting("riders_receivable", -130),
    )


def test_refund_reverses_the_shares_pro_rata() -> None:
    shares = {"bus": 480, "tram": 240, "bike": 160}
    transaction = ledger.refund(
        card_token="tok",
        service_day=DAY,
        currency=EUR,
        amount_minor=130,
        original_shares=shares,
        refund_key="dispute-1",
    )
    debits = {p.account: p.amount_minor for p in transaction.postings}
    # 130 x 480/880 = 70.9, x 240/880 = 35.45, x 160/880 = 23.6: the two largest
    # remainders (bus .909, bike .636) get the leftover cents.
    assert debits == {
        "operator_payable:bike": 24,
        "operator_payable:bus": 71,
        "operator_payable:tram": 35,
        "refunds": -130,
    }


def test_a_full_refund_returns_exactly_each_share() -> None:
    shares = {"bus": 587, "tram": 293}
    transaction = ledger.refund(
        card_token="tok",
        service_day=DAY,
        currency=EUR,
        amount_minor=880,
        original_shares=shares,
        refund_key="r",
    )
    assert {p.account: p.amount_minor for p in transaction.postings} == {
        "operator_payable:bus": 587,
        "operator_payable:tram": 293,
        "refunds": -880,
    }


def test_a_refund_of_a_debt_reduces_the_debt() -> None:
    transaction = ledger.refund(
        card_token="tok",
        service_day=DAY,
        currency=EUR,
        amount_minor=130,
        original_shares={"bus": 130},
        refund_key="r",
        against_debt=True,
    )
    assert Posting("riders_debt", -130) in transaction.postings


def test_refund_larger_than_the_charge_is_refused() -> None:
    with pytest.raises(UnbalancedTransaction, match="exceeds"):
        ledger.refund(
            card_token="tok",
            service_day=DAY,
            currency=EUR,
            amount_minor=200,
            original_shares={"bus": 130},
            refund_key="r",
        )


def test_late_tap_reshuffles_shares_without_touching_the_rider() -> None:
    # settlement.md §7: 587 / 293 becomes 480 / 240 / 160 after a late bike rental.
    transaction = ledger.late_adjustment(
        card_token="tok",
        service_day=DAY,
        open_day=DAY + timedelta(days=2),
        currency=EUR,
        old_shares={"bus": 587, "tram": 293},
        new_shares={"bus": 480, "tram": 240, "bike": 160},
        sequence=1,
    )
    assert transaction is not None
    assert {p.account: p.amount_minor for p in transaction.postings} == {
        "operator_payable:bike": -160,
        "operator_payable:bus": 107,
        "operator_payable:tram": 53,
    }
    assert transaction.corrects == "charge:tok:2026-11-26"
    assert transaction.service_day == DAY + timedelta(days=2)


def test_late_tap_that_raises_the_charge_waits_in_adjustments_until_collected() -> None:
    journal = Journal()
    adjustment = ledger.late_adjustment(
        card_token="tok",
        service_day=DAY,
        open_day=DAY + timedelta(days=1),
        currency=EUR,
        old_shares={"bus": 130},
        new_shares={"bus": 130, "bike": 100},
        sequence=1,
    )
    assert adjustment is not None
    journal.post(adjustment)
    assert journal.balances()["adjustments"] == 100
    journal.post(
        ledger.adjustment_collected(
            card_token="tok",
            service_day=DAY,
            open_day=DAY + timedelta(days=1),
            currency=EUR,
            amount_minor=100,
            sequence=1,
        )
    )
    assert journal.balances()["adjustments"] == 0
    assert journal.balances()["processor_clearing"] == 100


def test_a_late_tap_that_changes_no_share_posts_nothing() -> None:
    adjustment = ledger.late_adjustment(
        card_token="tok",
        service_day=DAY,
        open_day=DAY + timedelta(days=1),
        currency=EUR,
        old_shares={"bus": 130},
        new_shares={"bus": 130, "bike": 0},
        sequence=1,
    )
    assert adjustment is None


def test_a_card_day_is_either_captured_or_declined_never_both() -> None:
    common = CardDayArgs(card_token="tok", service_day=DAY, currency=EUR)
    journal = Journal()
    journal.post(
        ledger.charge_declined(
            **common, amount_minor=130, shares={"bus": 130}, decline_code="do_not_honor"
        )
    )
    with pytest.raises(LedgerConflict):
        journal.post(ledger.charge_captured(**common, amount_minor=130, shares={"bus": 130}))


def test_first_ride_loss_and_write_off_clear_the_debt() -> None:
    common = CardDayArgs(card_token="tok", service_day=DAY, currency=EUR)
    transactions = [
        ledger.charge_declined(**common, amount_minor=300, shares={"bus": 300}),
        ledger.first_ride_loss(**common, amount_minor=130),
        ledger.write_off_bad_debt(**common, amount_minor=170),
    ]
    balances = ledger.balances(transactions)
    assert balances["riders_debt"] == 0
    assert balances["first_ride_loss"] == 130
    assert balances["bad_debt"] == 170


def test_unbalanced_transaction_is_refused() -> None:
    with pytest.raises(UnbalancedTransaction, match="does not balance"):
        Transaction(
            idempotency_key="k",
            kind=TransactionKind.FEE,
            currency=EUR,
            postings=(Posting("processor_fees", 10), Posting("processor_balance", -9)),
        )


@pytest.mark.parametrize(
    ("postings", "message"),
    [
        ((Posting("processor_fees", 0), Posting("processor_balance", 0)), "zero posting"),
        ((Posting("processor_fees", 0),), "at least two"),
        ((Posting("cash_drawer", 5), Posting("bank", -5)), "Unknown account"),
        ((Posting("operator_payable:", 5), Posting("bank", -5)), "Unknown account"),
    ],
)
def test_malformed_transactions_are_refused(postings: tuple[Posting, ...], message: str) -> None:
    with pytest.raises(UnbalancedTransaction, match=message):
        Transaction(idempotency_key="k", kind=TransactionKind.FEE, currency=EUR, postings=postings)


def test_currency_must_be_iso_4217() -> None:
    with pytest.raises(UnbalancedTransaction, match="ISO 4217"):
        ledger.fee(processor_id="x", currency="eur", amount_minor=5)


def test_shares_must_add_up_to_the_charge() -> None:
    with pytest.raises(UnbalancedTransaction, match="sum to"):
        ledger.charge_captured(
            card_token="t", service_day=DAY, currency=EUR, amount_minor=130, shares={"bus": 120}
        )


def test_balances_refuse_to_add_currencies() -> None:
    transactions = [
        ledger.fee(processor_id="a", currency="EUR", amount_minor=5),
        ledger.fee(processor_id="b", currency="GBP", amount_minor=5),
    ]
    with pytest.raises(UnbalancedTransaction, match="cannot be added"):
        ledger.balances(transactions)
    assert ledger.balances(transactions, currency="GBP")["processor_fees"] == 5
