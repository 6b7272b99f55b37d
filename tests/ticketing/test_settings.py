from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ticketing.settings import (
    Environment,
    Settings,
    SettingsError,
    normalise_database_url,
    resolve_secrets,
)


def test_development_generates_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    first = resolve_secrets(Settings(data_dir=tmp_path))
    again = resolve_secrets(Settings(data_dir=tmp_path))

    assert first.jwt_secret is not None and again.jwt_secret is not None
    assert first.jwt_secret.get_secret_value() == again.jwt_secret.get_secret_value()
    assert first.card_token_key != first.jwt_secret
    for name in ("jwt_secret", "card_token_key", "card_key_encryption_key"):
        mode = (tmp_path / "secrets" / name).stat().st_mode
        assert stat.S_IMODE(mode) == 0o600


def test_production_refuses_to_start_without_a_secret_and_names_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TICKETING_JWT_SECRET"):
        resolve_secrets(Settings(env=Environment.production, data_dir=tmp_path))
    assert not (tmp_path / "secrets").exists()


@pytest.mark.parametrize(
    ("value", "problem"), [("changeme", "placeholder"), ("short-but-real", "too short")]
)
def test_production_refuses_placeholder_and_short_secrets(
    tmp_path: Path, value: str, problem: str
) -> None:
    settings = Settings(
        env=Environment.production,
        data_dir=tmp_path,
        jwt_secret=value,
        card_token_key="a" * 40,
        card_key_encryption_key="b" * 40,
    )
    with pytest.raises(SettingsError, match=problem):
        resolve_secrets(settings)


def test_environment_variables_configure_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETING_DATABASE_URL", "postgresql://app@db:5432/ticketing")
    monkeypatch.setenv("TICKETING_PAYMENT_GATEWAY", "stripe")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://app@db:5432/ticketing"
    assert settings.payment_gateway.value == "stripe"


def test_url_normalisation_leaves_other_drivers_alone() -> None:
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///./x.db") == "sqlite:///./x.db"
