"""Shared fixtures: one migrated database per run, each test isolated by a rollback.

The suite runs on SQLite by default and on PostgreSQL when TICKETING_TEST_DATABASE_URL
is set (CI sets it; a PostgreSQL that is not there fails the run, it does not skip).
Code under test commits freely: its session joins the test's outer transaction through
savepoints, and the outer transaction is rolled back after the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from ticketing.app import create_app
from ticketing.db import SessionFactory, make_engine, upgrade
from ticketing.settings import Settings, normalise_database_url

TEST_SECRET = "k" * 43


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TICKETING_TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        # Start from nothing so the run proves the migrations build the whole schema.
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> SessionFactory:
    return sessionmaker(
        bind=connection,
        class_=Session,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
def db(session_factory: SessionFactory) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        card_token_key=TEST_SECRET,
        card_key_encryption_key=TEST_SECRET,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: SessionFactory) -> FastAPI:
    return create_app(settings, engine=engine, session_factory=session_factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def auth_headers(db: Session, client: TestClient) -> Callable[[str], dict[str, str]]:
    """Headers of a freshly created user with the given role, logged in over HTTP."""
    from ticketing import auth
    from ticketing.users import Role

    made: dict[str, dict[str, str]] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in made:
            email = f"{role}-{len(made)}@example.org"
            auth.create_user(
                db, email=email, password="password-123", role=Role(role), now=auth.utc_now()
            )
            db.commit()
            response = client.post(
                "/v1/auth/token", data={"username": email, "password": "password-123"}
            )
            assert response.status_code == 200, response.text
            made[role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return made[role]

    return headers
