"""The shell's own routes: access tokens and health."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ticketing import auth
from ticketing.db import current_revision, head_revision
from ticketing.deps import CurrentSettings, Db
from ticketing.errors import ApiError, error_response

router = APIRouter()


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


class Health(BaseModel):
    status: str


@router.post(
    "/v1/auth/token",
    response_model=TokenResponse,
    tags=["auth"],
    operation_id="create_access_token",
    responses={401: {"description": "Wrong email or password"}, 429: {"description": "Locked"}},
)
def create_access_token(
    request: Request,
    db: Db,
    settings: CurrentSettings,
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
) -> TokenResponse | JSONResponse:
    """OAuth2 password flow: `username` is the account's email."""
    now = auth.utc_now()
    policy = auth.LoginPolicy(
        settings.login_max_failures, timedelta(minutes=settings.login_lock_minutes)
    )
    outcome = auth.authenticate(db, email=username, password=password, policy=policy, now=now)
    if isinstance(outcome, ApiError):
        # Answered, not raised, so the request still commits the failure count.
        return error_response(outcome.status, outcome.code, outcome.detail, outcome.headers)
    issued = auth.issue_token(
        outcome,
        request.app.state.jwt_key,
        lifetime=timedelta(minutes=settings.access_token_minutes),
        now=now,
    )
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/healthz", response_model=Health, tags=["health"], operation_id="healthz")
def healthz() -> Health:
    """The process is up (no dependency checked)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    tags=["health"],
    operation_id="readyz",
    responses={503: {"description": "Database unreachable or not migrated"}},
)
def readyz(db: Db) -> Health:
    """The database answers and is migrated to the code's head revision."""
    head = head_revision()
    try:
        current = current_revision(db.connection())
    except Exception as exc:
        raise ApiError(503, "database_unavailable", "The database does not answer.") from exc
    if current != head:
        raise ApiError(
            503,
            "database_not_migrated",
            f"The database is at revision {current}, the code needs {head}: "
            "run `ticketing db upgrade`.",
        )
    return Health(status="ready")
