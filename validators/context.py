"""What the validators package needs from the configuration, built once by the shell."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session

from fare.servicedays import service_day_of
from validators.cardkeys import KeyWrapper, OpeningKeys
from validators.errors import NoTariffForDay, Unavailable
from validators.intake import IntakeKeys
from validators.ratelimit import IntakeLimits
from validators.tariffs import ActiveTariff, TariffCache
from validators.tokens import KeyRing, TokenKey


@dataclass(slots=True)
class ValidatorsContext:
    key_wrapper: KeyWrapper
    opening_keys: OpeningKeys
    # The current card-token key and the previous ones still linked (validators.tokenlinks).
    token_keys: KeyRing
    device_key: TokenKey
    tariffs: TariffCache
    default_tariff_dir: Path
    # The payment gateway registers cards from their number (Stripe): intake keeps each
    # new card's envelope, sealed, for `settlement.enrolment` (see validators.enrolments).
    keep_envelopes_for_enrolment: bool = False
    intake_limits: IntakeLimits = field(default_factory=IntakeLimits)

    def intake_keys(self, session: Session) -> IntakeKeys:
        return IntakeKeys(self.opening_keys.get(session), self.token_keys, self.device_key)

    def tariff_on(self, session: Session, day: date) -> ActiveTariff:
        active = self.tariffs.for_day(session, day)
        if active is None:
            if self.tariffs.for_day(session, date.max) is None:
                raise Unavailable("No tariff is published: run `ticketing tariff load DIR`.")
            raise NoTariffForDay(f"No tariff was in force on {day.isoformat()}.")
        return active

    def service_day_of(self, session: Session, now: datetime) -> Callable[[datetime], date]:
        """Service days are cut with the timezone and start of the tariff in force now."""
        config = self.tariff_on(session, now.date()).tariff.config
        return lambda moment: service_day_of(moment, config)
