"""The Stripe adapter against a real localstripe process (payments.md §9).

What localstripe cannot do is tested with the nearest honest substitute and said so:
it ignores `Idempotency-Key`, so idempotency is checked on the requests we send and
through `IdempotencyProxy`, which adds Stripe's replay semantics in front of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import httpx
import pytest
import stripe

from settlement.errors import GatewayError, IdempotencyConflict, WebhookSignatureError
from settlement.gateway import (
    CardForEnrolment,
    ChargeStatus,
    EnrolmentStatus,
    ProcessorRecordKind,
    RefundStatus,
    retrying,
)
from settlement.stripe_gateway import StripeGateway, verify_webhook
from tests.settlement.localstripe_server import (
    API_KEY,
    IdempotencyProxy,
    WebhookReceiver,
    get,
    running_proxy,
    running_receiver,
    sign,
)

SECRET = "whsec_test_settlement"


class RecordingClient(stripe.RequestsClient):
    """Keeps the method, path and Idempotency-Key of every request the SDK sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, str | None]] = []

    # Mirrors RequestsClient.request, which itself departs from HTTPClient's signature.
    def request(  # type: ignore[override]
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        path = httpx.URL(url).path
        self.sent.append((method.upper(), path, (headers or {}).get("Idempotency-Key")))
        answer: tuple[bytes, int, Mapping[str, str]] = super().request(
            method, url, headers, post_data
        )
        return answer


def card(pan: str, token: str = "tok_rider_1") -> CardForEnrolment:
    return CardForEnrolment.from_pan(pan, card_token=token, exp_month=12, exp_year=2030, cvc="123")


def enrolled(gateway: StripeGateway, pan: str = "4242424242424242", token: str = "tok_1") -> str:
    result = gateway.enrol(card(pan, token))
    assert result.status is EnrolmentStatus.ENROLLED, result
    assert result.reference is not None
    return result.reference


def charge_kwargs(reference: str, key: str, amount: int = 880) -> dict[str, Any]:
    return {
        "reference": reference,
        "amount_minor": amount,
        "currency": "EUR",
        "idempotency_key": key,
        "description": "Transit 2026-11-26",
        "metadata": {"service_day": "2026-11-26"},
    }


def test_enrol_and_charge_a_card(stripe_gateway: StripeGateway, localstripe: str) -> None:
    reference = enrolled(stripe_gateway)
    customer_id, _, method_id = reference.partition("/")
    assert get(localstripe, f"/v1/payment_methods/{method_id}")["customer"] == customer_id

    result = stripe_gateway.charge(**charge_kwargs(reference, "charge:tok_1:2026-11-26"))
    assert result.status is ChargeStatus.SUCCEEDED
    assert result.processor_id is not None and result.processor_id.startswith("pi_")
    intent = get(localstripe, f"/v1/payment_intents/{result.processor_id}")
    assert (intent["amount"], intent["currency"], intent["status"]) == (880, "eur", "succeeded")
    assert intent["customer"] == customer_id
    assert intent["metadata"]["idempotency_key"] == "charge:tok_1:2026-11-26"
    assert intent["metadata"]["service_day"] == "2026-11-26"


def test_a_card_declined_at_enrolment(stripe_gateway: StripeGateway) -> None:
    # localstripe declines 4000000000000002 when the PaymentMethod is attached.
    result = stripe_gateway.enrol(card("4000000000000002"))
    assert result.status is EnrolmentStatus.DECLINED
    assert result.decline_code == "card_declined"
    assert result.reference is None


def test_a_card_declined_when_charged(stripe_gateway: StripeGateway) -> None:
    # 4000000000000341 attaches fine, then every charge is declined.
    reference = enrolled(stripe_gateway, "4000000000000341")
    result = stripe_gateway.charge(**charge_kwargs(reference, "charge:tok_1:2026-11-26"))
    assert result.status is ChargeStatus.DECLINED
    assert result.decline_code == "card_declined"
    # Real Stripe names the PaymentIntent; localstripe only the failed charge.
    assert result.processor_id is not None and result.processor_id.startswith(("pi_", "ch_"))


def test_a_card_that_needs_authentication_cannot_be_charged_off_session(
    stripe_gateway: StripeGateway,
) -> None:
    reference = enrolled(stripe_gateway, "4000000000003220")
    result = stripe_gateway.charge(**charge_kwargs(reference, "k"))
    assert result.status is ChargeStatus.DECLINED
    assert result.decline_code == "authentication_required"


def test_refunds(stripe_gateway: StripeGateway, localstripe: str) -> None:
    paid = stripe_gateway.charge(**charge_kwargs(enrolled(stripe_gateway), "charge:a"))
    assert paid.processor_id is not None
    refund = stripe_gateway.refund(
        charge_id=paid.processor_id, amount_minor=130, idempotency_key="refund:dispute-1"
    )
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.refund_id is not None
    stored = get(localstripe, f"/v1/refunds/{refund.refund_id}")
    assert stored["amount"] == 130
    assert stored["metadata"]["idempotency_key"] == "refund:dispute-1"


def test_refunding_a_declined_charge_is_rejected(stripe_gateway: StripeGateway) -> None:
    declined = stripe_gateway.charge(
        **charge_kwargs(enrolled(stripe_gateway, "4000000000000341"), "k")
    )
    assert declined.processor_id is not None
    result = stripe_gateway.refund(
        charge_id=declined.processor_id, amount_minor=100, idempotency_key="r"
    )
    assert result.status is RefundStatus.REJECTED
    assert result.refund_id is None


def test_every_money_call_carries_our_deterministic_key(localstripe: str) -> None:
    client = RecordingClient()
    gateway = StripeGateway(api_key=API_KEY, api_base=localstripe, http_client=client)
    reference = enrolled(gateway, token="tok_9")
    for _ in range(2):
        gateway.charge(**charge_kwargs(reference, "charge:tok_9:2026-11-26"))
    paid = gateway.charge(**charge_kwargs(reference, "charge:tok_9:2026-11-27"))
    assert paid.processor_id is not None
    gateway.refund(charge_id=paid.processor_id, amount_minor=100, idempotency_key="refund:r1")

    posts = [(path, key) for method, path, key in client.sent if method == "POST"]
    assert posts[:3] == [
        ("/v1/customers", "enrol:tok_9:customer"),
        ("/v1/payment_methods", "enrol:tok_9:2030-12:method"),
        (posts[2][0], "enrol:tok_9:2030-12:attach"),
    ]
    assert posts[3:] == [
        ("/v1/payment_intents", "charge:tok_9:2026-11-26"),
        ("/v1/payment_intents", "charge:tok_9:2026-11-26"),
        ("/v1/payment_intents", "charge:tok_9:2026-11-27"),
        ("/v1/refunds", "refund:r1"),
    ]


def test_localstripe_alone_does_not_deduplicate(localstripe: str) -> None:
    # Pins the limitation the proxy below works around: if localstripe learns
    # Idempotency-Key, this fails and the proxy can go.
    gateway = StripeGateway(api_key=API_KEY, api_base=localstripe)
    reference = enrolled(gateway)
    for _ in range(2):
        gateway.charge(**charge_kwargs(reference, "same-key"))
    assert len(get(localstripe, "/v1/payment_intents")["data"]) == 2


def test_same_key_twice_gives_one_payment_intent(localstripe: str) -> None:
    with running_proxy(IdempotencyProxy(localstripe)) as url:
        gateway = StripeGateway(api_key=API_KEY, api_base=url)
        reference = enrolled(gateway)
        first = gateway.charge(**charge_kwargs(reference, "charge:tok_1:2026-11-26"))
        again = gateway.charge(**charge_kwargs(reference, "charge:tok_1:2026-11-26"))
    assert first == again
    assert [pi["id"] for pi in get(localstripe, "/v1/payment_intents")["data"]] == [
        first.processor_id
    ]


def test_a_lost_answer_is_retried_without_charging_twice(localstripe: str) -> None:
    proxy = IdempotencyProxy(localstripe)
    with running_proxy(proxy) as url:
        gateway = StripeGateway(api_key=API_KEY, api_base=url)
        reference = enrolled(gateway)
        # Stripe takes the charge, then the connection drops before we hear back.
        proxy.lose_responses = 1
        waits: list[float] = []
        result = retrying(
            partial(gateway.charge, **charge_kwargs(reference, "x")),
            idempotency_key="charge:tok_1:2026-11-26",
            attempts=3,
            backoff=0.01,
            sleep=waits.append,
        )
    assert result.status is ChargeStatus.SUCCEEDED
    assert len(waits) == 1  # one failed attempt (connection lost), one replayed answer
    intents = get(localstripe, "/v1/payment_intents")["data"]
    assert [pi["id"] for pi in intents] == [result.processor_id]
    assert proxy.forwarded.count("POST /v1/payment_intents") == 1


def test_a_key_reused_for_another_amount_is_a_conflict(localstripe: str) -> None:
    with running_proxy(IdempotencyProxy(localstripe)) as url:
        gateway = StripeGateway(api_key=API_KEY, api_base=url)
        reference = enrolled(gateway)
        gateway.charge(**charge_kwargs(reference, "k", amount=880))
        with pytest.raises(IdempotencyConflict):
            gateway.charge(**charge_kwargs(reference, "k", amount=900))


def test_an_unreachable_stripe_is_a_transient_failure() -> None:
    gateway = StripeGateway(api_key=API_KEY, api_base="http://127.0.0.1:9")
    result = gateway.charge(**charge_kwargs("cus_x/pm_y", "k"))
    assert result.status is ChargeStatus.FAILED
    assert result.processor_id is None


def test_a_bad_api_key_is_a_configuration_error(localstripe: str) -> None:
    gateway = StripeGateway(api_key="not_a_secret_key", api_base=localstripe)
    with pytest.raises(GatewayError):
        gateway.charge(**charge_kwargs("cus_x/pm_y", "k"))


def test_settlement_records_from_balance_transactions(
    stripe_gateway: StripeGateway,
) -> None:
    paid = stripe_gateway.charge(**charge_kwargs(enrolled(stripe_gateway), "charge:tok_1:d1"))
    assert paid.processor_id is not None
    refund = stripe_gateway.refund(
        charge_id=paid.processor_id, amount_minor=130, idempotency_key="refund:r1"
    )
    today = datetime.now(UTC).date()
    records = stripe_gateway.settlement_records(today, today)
    by_kind = {r.kind: r for r in records}
    assert set(by_kind) == {ProcessorRecordKind.CHARGE, ProcessorRecordKind.REFUND}

    charge_record = by_kind[ProcessorRecordKind.CHARGE]
    assert (charge_record.amount_minor, charge_record.currency) == (880, "EUR")
    # localstripe reports every fee as 0.
    assert charge_record.fee_minor == 0 and charge_record.net_minor == 880
    assert charge_record.idempotency_key == "charge:tok_1:d1"
    assert charge_record.metadata["service_day"] == "2026-11-26"
    assert charge_record.payout_id is None
    assert charge_record.payout_date == today

    refund_record = by_kind[ProcessorRecordKind.REFUND]
    assert refund_record.amount_minor == -130
    assert refund_record.idempotency_key == "refund:r1"
    assert refund_record.source_id == refund.refund_id

    assert stripe_gateway.settlement_records(date(2020, 1, 1), date(2020, 1, 2)) == []


def test_localstripe_refuses_the_date_filter_of_balance_transactions(localstripe: str) -> None:
    gateway = StripeGateway(api_key=API_KEY, api_base=localstripe)
    with pytest.raises(GatewayError, match="Unexpected created"):
        gateway.settlement_records(date(2026, 11, 26), date(2026, 11, 26))


def test_webhook_signature_verification() -> None:
    payload = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded"}).encode()
    now = int(time.time())
    event = verify_webhook(payload, sign(payload, SECRET, now), SECRET)
    assert event["id"] == "evt_1"

    with pytest.raises(WebhookSignatureError):
        verify_webhook(payload.replace(b"evt_1", b"evt_2"), sign(payload, SECRET, now), SECRET)
    with pytest.raises(WebhookSignatureError):
        verify_webhook(payload, sign(payload, "whsec_other", now), SECRET)
    with pytest.raises(WebhookSignatureError):
        verify_webhook(payload, sign(payload, SECRET, now - 301), SECRET)
    with pytest.raises(WebhookSignatureError):
        verify_webhook(payload, "", SECRET)
    not_json = b"not json"
    with pytest.raises(WebhookSignatureError, match="not JSON"):
        verify_webhook(not_json, sign(not_json, SECRET, now), SECRET)


def test_webhooks_from_localstripe_verify(stripe_gateway: StripeGateway, localstripe: str) -> None:
    receiver = WebhookReceiver()
    with running_receiver(receiver) as url:
        httpx.post(
            f"{localstripe}/_config/webhooks/settlement-test",
            data={"url": url, "secret": SECRET, "events[]": "payment_intent.succeeded"},
            timeout=5,
        ).raise_for_status()
        paid = stripe_gateway.charge(**charge_kwargs(enrolled(stripe_gateway), "k"))
        # localstripe sends about 1 s later; events of earlier tests may still arrive.
        deadline = time.monotonic() + 10
        ours: list[tuple[bytes, str]] = []
        while not ours and time.monotonic() < deadline:
            receiver.arrived.wait(timeout=0.2)
            ours = [d for d in receiver.deliveries if (paid.processor_id or "?").encode() in d[0]]
    assert ours, "localstripe sent no webhook for the charge"
    body, signature = ours[0]
    event = verify_webhook(body, signature, SECRET)
    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"]["id"] == paid.processor_id
    with pytest.raises(WebhookSignatureError):
        verify_webhook(body + b" ", signature, SECRET)
