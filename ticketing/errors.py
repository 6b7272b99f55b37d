"""One error shape for every 4xx/5xx: `{"error": "<snake_case>", "detail": "<sentence>"}`.

Domain packages raise their own exceptions, which know nothing of HTTP; each carries a
`code` (snake_case) and a `kind`. The map below turns a kind into a status, so a new
domain error needs no change here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
# Driver errors outside OperationalError that still mean "the database cannot take this
# now": 25006, a read-only database (a replica after failover, read-only switched on).
UNAVAILABLE_SQLSTATES = frozenset({"25006"})

KIND_STATUS: Mapping[str, int] = {
    "invalid": 422,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
}


class ApiError(Exception):
    """An error raised by the shell itself (auth, throttling)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **extra}, status, headers=headers)


def _status_code_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def install_error_handlers(
    app: FastAPI,
    domain_errors: tuple[type[Exception], ...],
    named_errors: Mapping[type[Exception], tuple[int, str]],
) -> None:
    """`domain_errors` carry their own `code` and `kind`; `named_errors` (the fare
    engine's, which stays free of such conventions) get theirs from the map."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.detail, exc.headers)

    async def domain_error(_: Request, exc: Exception) -> JSONResponse:
        kind = getattr(exc, "kind", "invalid")
        code = getattr(exc, "code", "invalid_request")
        extra = getattr(exc, "extra", None) or {}
        headers = getattr(exc, "headers", None)
        return error_response(KIND_STATUS.get(kind, 400), code, str(exc), headers, **extra)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = [
            {
                "field": ".".join(str(part) for part in error["loc"]),
                "problem": str(error["msg"]),
            }
            for error in exc.errors()
        ]
        summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:5])
        return error_response(
            422, "validation_error", f"The request is not valid: {summary}.", fields=fields
        )

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else _status_code_name(exc.status_code)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such path."
        elif exc.status_code == 405:
            detail = "This method is not allowed on this path."
        return error_response(
            exc.status_code, _status_code_name(exc.status_code), detail, exc.headers
        )

    async def database_down(_: Request, exc: Exception) -> JSONResponse:
        # The database is unreachable, read-only or out of space: nothing was stored (the
        # request's transaction rolled back), and the same request may be sent again.
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_response(
            503,
            "database_unavailable",
            "The database is unavailable; nothing was stored. Retry shortly.",
            {"Retry-After": str(RETRY_AFTER_S)},
        )

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The message may hold anything; the log gets the traceback, the client a sentence.
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong on our side.")

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DBAPIError)
        if getattr(exc.orig, "sqlstate", None) in UNAVAILABLE_SQLSTATES:
            return await database_down(request, exc)
        return await unexpected(request, exc)

    async def named_error(_: Request, exc: Exception) -> JSONResponse:
        for error_type, (status, code) in named_errors.items():
            if isinstance(exc, error_type):
                extra = {"leg_index": exc.leg_index} if hasattr(exc, "leg_index") else {}
                return error_response(status, code, str(exc), **extra)
        raise exc

    app.add_exception_handler(ApiError, api_error)
    for error_type in named_errors:
        app.add_exception_handler(error_type, named_error)
    for error_type in domain_errors:
        app.add_exception_handler(error_type, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(OperationalError, database_down)
    app.add_exception_handler(InterfaceError, database_down)
    app.add_exception_handler(InternalError, database_error)
    app.add_exception_handler(Exception, unexpected)
