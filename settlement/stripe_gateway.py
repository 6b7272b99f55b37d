"""The Stripe adapter of `PaymentGateway` (reference/payments.md §8-9).

One `stripe.StripeClient` per gateway, built from settings (never the SDK's module
globals), so tests can point one at localstripe while another talks to real Stripe.

- **Enrol**: create a Customer, create a card PaymentMethod from the number (the card
  reaches Stripe exactly once, here), attach it. The reference we keep is
  `"<customer id>/<payment method id>"`. Creating PaymentMethods from raw numbers needs
  Stripe's "raw card data" permission on a live account.
- **Charge**: one off-session PaymentIntent (`confirm=True, off_session=True`), with our
  deterministic key as the `Idempotency-Key` and in `metadata["idempotency_key"]`, so it
  shows in Stripe's exports and in `settlement_records`. The description also goes into
  metadata: localstripe refuses the `description` parameter.
- **Errors**: a card error (HTTP 402) is `declined`; a connection error, rate limit or
  5xx is `failed` (transient: retry with the same key; Stripe replays the stored answer
  to a request it saw, so a retry never charges twice); a reused key with other
  parameters is `IdempotencyConflict`; anything else (bad key, bad request) is a
  `GatewayError`, a bug or misconfiguration no retry fixes.
- **Settlement records**: balance transactions, with their source expanded to find our
  key. Fees come from there (Stripe reports them per balance transaction, not with the
  charge). `payout_id` stays None: Stripe links a payout to its transactions only by
  listing with `payout=po_...` under automatic payouts, which localstripe cannot do;
  `payout_date` is `available_on`, the earliest day the money can be paid out.
- **Webhooks**: `verify_webhook` checks `Stripe-Signature` against the raw body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

import stripe

from settlement.errors import GatewayError, IdempotencyConflict, WebhookSignatureError
from settlement.gateway import (
    CardForEnrolment,
    ChargeResult,
    ChargeStatus,
    EnrolmentResult,
    EnrolmentStatus,
    ProcessorRecord,
    ProcessorRecordKind,
    RefundResult,
    RefundStatus,
)

if TYPE_CHECKING:
    from stripe.params import (
        BalanceTransactionListParams,
        PaymentIntentCreateParams,
        PaymentMethodCreateParamsCard,
        RefundCreateParams,
    )

WEBHOOK_TOLERANCE_S = 300

_KIND_BY_TYPE = {
    "charge": ProcessorRecordKind.CHARGE,
    "payment": ProcessorRecordKind.CHARGE,
    "refund": ProcessorRecordKind.REFUND,
    "payment_refund": ProcessorRecordKind.REFUND,
    "payout": ProcessorRecordKind.PAYOUT,
}

# Errors after which the request may or may not have been applied: retry with the key.
_TRANSIENT_ERRORS: tuple[type[stripe.StripeError], ...] = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,
)


def _transient(error: stripe.StripeError) -> bool:
    if isinstance(error, _TRANSIENT_ERRORS):
        return True
    # Stripe answers 5xx with a generic StripeError subclass; a 409 is a concurrent
    # request with the same key still running.
    status = error.http_status or 0
    return status >= 500 or status == 409


def _message(error: stripe.StripeError) -> str:
    return error.user_message or type(error).__name__


def _to_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, stripe.StripeObject):
        result: dict[str, Any] = value.to_dict()
        return result
    if isinstance(value, dict):
        return value
    return {}


def _error_payload(error: stripe.StripeError) -> dict[str, Any]:
    body = error.json_body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        payload: dict[str, Any] = body["error"]
        return payload
    return {}


def _parse_reference(reference: str) -> tuple[str, str]:
    customer, _, payment_method = reference.partition("/")
    if not customer.startswith("cus_") or not payment_method.startswith("pm_"):
        raise GatewayError("Not a Stripe card reference (expected 'cus_.../pm_...').")
    return customer, payment_method


class StripeGateway:
    """`PaymentGateway` over Stripe (or localstripe, with `api_base`).

    `max_network_retries` defaults to 0: `gateway.retrying` is the one retry policy, and
    it reuses our key just as the SDK would. `http_client` lets tests observe requests.
    `filter_balance_by_date=False` lists every balance transaction and filters here, for
    localstripe, which rejects the `created` filter. `extra_intent_params` are added to
    every PaymentIntent, for what localstripe refuses but a live account may want
    (`description`, `statement_descriptor`, `automatic_payment_methods`).
    `placeholder_cvc` is sent when a card has no CVC (a contactless tap never carries
    one): localstripe refuses a card without it; real Stripe does not need it.
    """

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None = None,
        max_network_retries: int = 0,
        http_client: stripe.HTTPClient | None = None,
        filter_balance_by_date: bool = True,
        extra_intent_params: Mapping[str, Any] | None = None,
        placeholder_cvc: str | None = None,
    ) -> None:
        if not api_key:
            raise GatewayError("The Stripe gateway needs an API key.")
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=http_client,
        )
        self._filter_balance_by_date = filter_balance_by_date
        self._extra_intent_params = dict(extra_intent_params or {})
        self._placeholder_cvc = placeholder_cvc

    def enrol(self, card: CardForEnrolment) -> EnrolmentResult:
        if card.pan is None:
            raise GatewayError("Stripe enrolment needs the card number.")
        expiry = f"{card.exp_year:04d}-{card.exp_month:02d}"
        number: PaymentMethodCreateParamsCard = {
            "number": card.pan,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        }
        cvc = card.cvc if card.cvc is not None else self._placeholder_cvc
        if cvc is not None:
            number["cvc"] = cvc
        try:
            customer = self._client.v1.customers.create(
                params={"metadata": {"card_token": card.card_token}},
                options={"idempotency_key": f"enrol:{card.card_token}:customer"},
            )
            # The expiry is part of the keys: a renewed card re-enrolled within Stripe's
            # 24 h key window must not collide with the old one's parameters.
            method = self._client.v1.payment_methods.create(
                params={"type": "card", "card": number},
                options={"idempotency_key": f"enrol:{card.card_token}:{expiry}:method"},
            )
            self._client.v1.payment_methods.attach(
                method.id,
                params={"customer": customer.id},
                options={"idempotency_key": f"enrol:{card.card_token}:{expiry}:attach"},
            )
        except stripe.CardError as error:
            payload = _error_payload(error)
            return EnrolmentResult(
                status=EnrolmentStatus.DECLINED,
                reference=None,
                decline_code=payload.get("decline_code") or error.code,
                message=_message(error),
            )
        except stripe.IdempotencyError as error:
            raise IdempotencyConflict(_message(error)) from error
        except stripe.StripeError as error:
            if _transient(error):
                return EnrolmentResult(
                    status=EnrolmentStatus.FAILED, reference=None, message=_message(error)
                )
            raise GatewayError(f"Stripe refused the enrolment: {_message(error)}") from error
        return EnrolmentResult(
            status=EnrolmentStatus.ENROLLED, reference=f"{customer.id}/{method.id}"
        )

    def charge(
        self,
        *,
        reference: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        customer, payment_method = _parse_reference(reference)

        def result(
            status: ChargeStatus,
            processor_id: str | None,
            *,
            decline_code: str | None = None,
            message: str | None = None,
        ) -> ChargeResult:
            return ChargeResult(
                status=status,
                idempotency_key=idempotency_key,
                amount_minor=amount_minor,
                currency=currency,
                processor_id=processor_id,
                decline_code=decline_code,
                message=message,
            )

        params: PaymentIntentCreateParams = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer,
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            "metadata": {
                **(metadata or {}),
                "idempotency_key": idempotency_key,
                "description": description,
            },
        }
        if self._extra_intent_params:
            params = cast("PaymentIntentCreateParams", {**params, **self._extra_intent_params})
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as error:
            payload = _error_payload(error)
            intent_payload = payload.get("payment_intent")
            # Stripe names the failed PaymentIntent; localstripe only the charge.
            processor_id = (
                intent_payload.get("id")
                if isinstance(intent_payload, dict)
                else payload.get("charge")
            )
            return result(
                ChargeStatus.DECLINED,
                processor_id,
                decline_code=payload.get("decline_code") or error.code or "card_declined",
                message=_message(error),
            )
        except stripe.IdempotencyError as error:
            raise IdempotencyConflict(_message(error)) from error
        except stripe.StripeError as error:
            if _transient(error):
                return result(ChargeStatus.FAILED, None, message=_message(error))
            raise GatewayError(f"Stripe refused the charge: {_message(error)}") from error

        if intent.status == "succeeded":
            return result(ChargeStatus.SUCCEEDED, intent.id)
        if intent.status in ("requires_action", "requires_payment_method"):
            # Off session nobody can authenticate: the issuer wants the rider, so the
            # card-day is unpaid, as for a decline.
            return result(
                ChargeStatus.DECLINED,
                intent.id,
                decline_code="authentication_required"
                if intent.status == "requires_action"
                else "requires_payment_method",
                message=f"payment intent is {intent.status}",
            )
        # `processing` (or anything new): the outcome arrives by webhook; until then the
        # card-day is neither paid nor declined.
        return result(ChargeStatus.FAILED, intent.id, message=f"payment intent is {intent.status}")

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        params: RefundCreateParams = {
            "amount": amount_minor,
            "metadata": {"idempotency_key": idempotency_key},
        }
        if charge_id.startswith("pi_"):
            params["payment_intent"] = charge_id
        else:
            params["charge"] = charge_id

        def result(
            status: RefundStatus, refund_id: str | None, message: str | None = None
        ) -> RefundResult:
            return RefundResult(
                status=status,
                idempotency_key=idempotency_key,
                charge_id=charge_id,
                amount_minor=amount_minor,
                refund_id=refund_id,
                message=message,
            )

        try:
            refund = self._client.v1.refunds.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.IdempotencyError as error:
            raise IdempotencyConflict(_message(error)) from error
        except stripe.StripeError as error:
            if _transient(error):
                return result(RefundStatus.FAILED, None, _message(error))
            # Unknown or failed charge, more than was charged: final answers.
            return result(RefundStatus.REJECTED, None, _message(error))

        if refund.status == "succeeded":
            return result(RefundStatus.SUCCEEDED, refund.id)
        if refund.status in ("pending", "requires_action"):
            return result(RefundStatus.PENDING, refund.id, f"refund is {refund.status}")
        return result(RefundStatus.REJECTED, refund.id, f"refund is {refund.status}")

    def settlement_records(self, from_day: date, to_day: date) -> list[ProcessorRecord]:
        start = datetime.combine(from_day, time(), UTC)
        end = datetime.combine(to_day + timedelta(days=1), time(), UTC)
        # The PaymentIntent is expanded too: our key is in its metadata, and whether Stripe
        # copies it onto the charge depends on the API version (localstripe does not).
        params: BalanceTransactionListParams = {
            "limit": 100,
            "expand": ["data.source", "data.source.payment_intent"],
        }
        if self._filter_balance_by_date:
            params["created"] = {"gte": int(start.timestamp()), "lt": int(end.timestamp())}
        try:
            page = self._client.v1.balance_transactions.list(params=params)
            transactions = [_to_dict(t) for t in page.auto_paging_iter()]
        except stripe.StripeError as error:
            raise GatewayError(
                f"Stripe balance transactions unavailable: {_message(error)}"
            ) from error

        records = []
        for txn in transactions:
            created = datetime.fromtimestamp(int(txn["created"]), UTC)
            if not start <= created < end:
                continue
            records.append(_record(txn, created.date()))
        records.sort(key=lambda r: (r.created_on, r.processor_id))
        return records


def _record(txn: dict[str, Any], created_on: date) -> ProcessorRecord:
    source = txn.get("source")
    source_dict = _to_dict(source)
    source_id = source_dict.get("id") if source_dict else source
    intent = _to_dict(source_dict.get("payment_intent"))
    metadata = {
        str(k): str(v)
        for k, v in {
            **(intent.get("metadata") or {}),
            **(source_dict.get("metadata") or {}),
        }.items()
    }
    available = txn.get("available_on")
    kind = _KIND_BY_TYPE.get(str(txn.get("type")), ProcessorRecordKind.OTHER)
    if kind is ProcessorRecordKind.OTHER:
        metadata["type"] = str(txn.get("type"))
    return ProcessorRecord(
        processor_id=str(txn["id"]),
        kind=kind,
        currency=str(txn["currency"]).upper(),
        amount_minor=int(txn["amount"]),
        fee_minor=int(txn.get("fee") or 0),
        net_minor=int(txn["net"]),
        created_on=created_on,
        payout_id=None,
        payout_date=datetime.fromtimestamp(int(available), UTC).date() if available else None,
        idempotency_key=metadata.get("idempotency_key"),
        source_id=str(source_id) if source_id else None,
        metadata=metadata,
    )


def verify_webhook(
    payload: bytes, sig_header: str, secret: str, *, tolerance: int = WEBHOOK_TOLERANCE_S
) -> dict[str, Any]:
    """The event, if `sig_header` signs the raw `payload` under `secret` and is recent.

    Verify the raw bytes as received: a re-serialised body no longer matches. Handle the
    returned event idempotently by its `id` (events can arrive twice or out of order).
    """
    try:
        stripe.WebhookSignature.verify_header(payload, sig_header, secret, tolerance)
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureError(
            "The webhook signature does not match its body, or is too old."
        ) from error
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebhookSignatureError("The webhook body is not JSON.") from error
    if not isinstance(event, dict):
        raise WebhookSignatureError("The webhook body is not a JSON object.")
    return event
