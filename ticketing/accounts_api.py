"""Riders open their own accounts; staff accounts are made with `ticketing users add`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ticketing import auth
from ticketing.deps import CurrentRider, Db
from ticketing.errors import ApiError
from ticketing.users import Role, User

router = APIRouter(tags=["riders"])


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=8, max_length=1024)]


class Account(BaseModel):
    id: int
    email: str
    role: str


def account(user: User) -> Account:
    assert user.id is not None
    return Account(id=user.id, email=user.email, role=user.role)


@router.post(
    "/v1/riders",
    status_code=status.HTTP_201_CREATED,
    response_model=Account,
    operation_id="sign_up",
)
def sign_up(body: SignUp, db: Db) -> Account:
    """Open a rider account (then log in with POST /v1/auth/token)."""
    user = auth.create_user(
        db, email=body.email, password=body.password, role=Role.rider, now=auth.utc_now()
    )
    return account(user)


@router.get("/v1/riders/me", response_model=Account, operation_id="me")
def me(db: Db, rider: CurrentRider) -> Account:
    user = db.get(User, rider.user_id)
    if user is None:
        raise ApiError(404, "not_found", "This account no longer exists.")
    return account(user)


@router.delete(
    "/v1/riders/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="erase_me",
)
def erase_me(request: Request, db: Db, rider: CurrentRider) -> Response:
    """Erase the account: it is deleted and its cards unlinked, at once (GDPR art. 17).
    Financial records stay, tied to card tokens only."""
    user = db.get(User, rider.user_id)
    if user is None:
        raise ApiError(404, "not_found", "This account no longer exists.")
    for forget in request.app.state.on_user_erased:
        forget(db, rider.user_id)
    db.delete(user)
    db.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
