"""Domain errors of the fare engine. They know nothing of HTTP or exit codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FareError(Exception):
    """Base of every error the fare engine raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a tariff. `line` is 1-based (a CSV header is line 1); None when
    the format gives no line (a missing file)."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class TariffError(FareError):
    """A tariff that cannot be used, with every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        count = len(self.problems)
        listed = "; ".join(str(p) for p in self.problems)
        return f"{count} problem{'s' if count != 1 else ''} in the tariff: {listed}"


class InvalidJourney(FareError):
    """Journeys that cannot be priced because they are malformed or name something the
    tariff does not have (route, stop, plan, parking tariff, category, medium)."""

    def __init__(self, detail: str, leg_index: int | None = None) -> None:
        self.detail = detail
        self.leg_index = leg_index
        super().__init__(detail)


class NoFare(FareError):
    """A valid leg that no fare rule prices: its fare is unknown, never zero."""

    def __init__(self, leg_index: int, detail: str) -> None:
        self.leg_index = leg_index
        self.detail = detail
        super().__init__(detail)
