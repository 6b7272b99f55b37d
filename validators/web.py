"""What the domain routers need from the HTTP shell, without importing it.

The shell opens one database session per request (and is the only one to commit it) and
knows how to check a person's access token; it hands both over through the request and
app state. Dependency aliases here make routes read as sentences:
`def handler(db: Db, rider: Rider)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import AfterValidator, BeforeValidator
from sqlmodel import Session

from validators.errors import Forbidden, NotAuthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    email: str
    role: str


def request_session(request: Request) -> Session:
    session: Session = request.state.db
    return session


def app_state(request: Request) -> Any:
    return request.app.state


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("This operation needs a bearer token.")
    return token.strip()


def current_principal(request: Request) -> Principal:
    verify: Callable[[str], Principal] = request.app.state.verify_user_token
    return verify(bearer_token(request))


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise Forbidden("Your account's role may not do this.")
        return principal

    return check


Db = Annotated[Session, Depends(request_session)]
State = Annotated[Any, Depends(app_state)]
Rider = Annotated[Principal, Depends(require_role("rider"))]
Finance = Annotated[Principal, Depends(require_role("finance", "admin"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


def _iso_date(value: object) -> object:
    # Pydantic would also read "0" or "1700000000" as dates (Unix time); a service day
    # in a URL is always written YYYY-MM-DD.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


def _plausible(value: date) -> date:
    # Day arithmetic (a week back, a month back) must never leave the calendar.
    if not date(2000, 1, 1) <= value <= date(2099, 12, 31):
        raise ValueError("a service day lies between 2000-01-01 and 2099-12-31")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_plausible)]

# Surrogate keys are 32-bit integers: anything outside is simply not found, never sent to
# the database (where it would overflow).
DbId = Annotated[int, Path(ge=1, le=2_147_483_647)]
