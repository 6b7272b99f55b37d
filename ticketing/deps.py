"""Dependency aliases of the shell's own routes (auth, health)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from ticketing.auth import TokenClaims, verify_token
from ticketing.db import SessionFactory
from ticketing.errors import ApiError
from ticketing.settings import Settings


def open_request_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: the one place a request's changes are committed.

    Used with scope="function" so the commit happens before the response is sent: a
    client that got 200 can rely on what it wrote being stored.
    """
    factory: SessionFactory = request.app.state.session_factory
    session = factory()
    request.state.db = session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _session(request: Request) -> Session:
    session: Session = request.state.db
    return session


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Db = Annotated[Session, Depends(_session)]
CurrentSettings = Annotated[Settings, Depends(_settings)]


def _rider(request: Request) -> TokenClaims:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "not_authenticated",
            "This operation needs a bearer token.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = verify_token(token.strip(), request.app.state.jwt_keys)
    if claims.role != "rider":
        raise ApiError(403, "forbidden", "Your account's role may not do this.")
    return claims


CurrentRider = Annotated[TokenClaims, Depends(_rider)]
