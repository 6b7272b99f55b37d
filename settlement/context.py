"""What the settlement package needs from the configuration, built once by the shell
from plain values (settlement never imports the shell)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlmodel import Session

from settlement.apportionment import ApportionMethod
from settlement.errors import GatewayError
from settlement.processor import Processor, StoredReferencesGateway, StoredSimulatedAcquirer
from settlement.simulated import FeeSchedule
from validators.tariffs import ActiveTariff


class Tariffs(Protocol):
    """Where the tariff in force on a day comes from (`ValidatorsContext` is one)."""

    def tariff_on(self, session: Session, day: date) -> ActiveTariff: ...


@dataclass(frozen=True, slots=True)
class DebtPolicy:
    """Merchant-initiated recovery: Visa allows up to 6 resubmissions within 14 days
    (reference/payments.md §2)."""

    max_attempts: int = 6
    window_days: int = 14


@dataclass(slots=True)
class SettlementContext:
    gateway: str = "simulated"
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: str | None = None
    method: ApportionMethod = ApportionMethod.STANDALONE
    debt_policy: DebtPolicy = field(default_factory=DebtPolicy)
    # Tests (and a future per-tenant setup) may hand in a processor of their own.
    override: Processor | None = None

    def processor(self) -> Processor:
        """A processor for one job or request: the simulated one keeps per-batch state,
        so concurrent requests must not share one."""
        return self.override if self.override is not None else self._build()

    def _build(self) -> Processor:
        if self.gateway == "simulated":
            return StoredSimulatedAcquirer(fees=self.fees)
        if self.gateway == "stripe":
            if not self.stripe_api_key:
                raise GatewayError("The Stripe gateway needs TICKETING_STRIPE_API_KEY.")
            from settlement.stripe_gateway import StripeGateway

            # Another API base is localstripe (tests, compose), which wants a CVC with a
            # card number and refuses the date filter of balance transactions.
            fake = self.stripe_api_base is not None
            return StoredReferencesGateway(
                StripeGateway(
                    api_key=self.stripe_api_key,
                    api_base=self.stripe_api_base,
                    filter_balance_by_date=not fake,
                    placeholder_cvc="000" if fake else None,
                )
            )
        raise GatewayError(f"Unknown payment gateway {self.gateway!r}.")
