"""Errors of the validators package. They know nothing of HTTP: the shell maps `kind`."""

from __future__ import annotations

from typing import Any, ClassVar


class ValidatorsError(Exception):
    code: ClassVar[str] = "invalid_request"
    kind: ClassVar[str] = "invalid"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.extra = extra


class NotAuthenticated(ValidatorsError):
    code = "not_authenticated"
    kind = "unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class InvalidDeviceToken(ValidatorsError):
    code = "invalid_device_token"
    kind = "unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(ValidatorsError):
    code = "forbidden"
    kind = "forbidden"


class NotFound(ValidatorsError):
    code = "not_found"
    kind = "not_found"


class Conflict(ValidatorsError):
    code = "conflict"
    kind = "conflict"


class InvalidRequest(ValidatorsError):
    code = "invalid_request"
    kind = "invalid"


class Unavailable(ValidatorsError):
    code = "unavailable"
    kind = "unavailable"


class NoTariffForDay(ValidatorsError):
    code = "no_tariff_for_day"
    kind = "invalid"
