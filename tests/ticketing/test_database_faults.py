"""A database that stops answering or refuses writes: a clean 503, nothing half-stored."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from ticketing.app import create_app
from ticketing.db import make_engine, upgrade
from ticketing.settings import Settings

SECRET = "k" * 43


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp_path / "data",
        jwt_secret=SECRET,
        card_token_key=SECRET,
        card_key_encryption_key=SECRET,
    )


def test_a_read_only_database_answers_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    upgrade(make_engine(f"sqlite:///{path}"))
    settings = settings_for(f"sqlite:///{path}", tmp_path)
    with TestClient(create_app(settings)):  # a first start while writable: keys, tariff
        pass
    read_only = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    app = create_app(settings, engine=read_only)

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/v1/riders", json={"email": "ro@example.org", "password": "long enough"}
        )

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"] == "database_unavailable"


def test_an_unreachable_database_answers_503_and_readyz_says_so(tmp_path: Path) -> None:
    settings = settings_for("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path)
    engine = create_engine(settings.database_url, connect_args={"connect_timeout": 1})
    app = create_app(settings, engine=engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        signup = client.post(
            "/v1/riders", json={"email": "a@example.org", "password": "long enough"}
        )
        assert signup.status_code == 503
        assert signup.json()["error"] == "database_unavailable"
