"""What the domain routers need from the HTTP shell, without importing it.

The shell opens one database session per request (and is the only one to commit it) and
knows how to check a person's access token; it hands both over through the request and
app state. Dependency aliases here make routes read as sentences:
`def handler(db: Db, rider: Rider)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
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
