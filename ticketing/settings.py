"""Settings from the environment (prefix `TICKETING_`), and the secrets they need.

In development a missing secret is generated once and kept under the data directory
(mode 0600), so `uv run ticketing serve` works with no configuration and a restart keeps
tokens, card tokens and card keys valid. In production every secret must be given, and a
placeholder or a short one stops the process at start, naming the setting.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite:///./ticketing.db"

# Values people paste from examples; refusing them in production is cheaper than a breach.
PLACEHOLDERS = frozenset(
    {"changeme", "change-me", "changethis", "secret", "password", "example", "test", "xxx"}
)
MIN_SECRET_BYTES = 32


class Environment(StrEnum):
    development = "development"
    production = "production"


class Gateway(StrEnum):
    simulated = "simulated"
    stripe = "stripe"


class SettingsError(Exception):
    """A setting is missing or unsafe; the message names it."""


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at psycopg 3, the driver this project ships."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETING_", extra="ignore")

    env: Environment = Environment.development
    database_url: str = DEFAULT_SQLITE_URL
    data_dir: Path = Path("./ticketing-data")
    log_level: str = "INFO"

    # Secrets. None means "not given": generated in development, refused in production.
    jwt_secret: SecretStr | None = None
    jwt_key_id: str = "jwt-1"
    # Rotation: keys that signed tokens still alive, as "kid=secret,kid=secret". They
    # verify, never sign; drop one once its tokens have expired (access_token_minutes).
    jwt_previous_keys: SecretStr | None = None
    access_token_minutes: Annotated[int, Field(gt=0, le=24 * 60)] = 60
    card_token_key: SecretStr | None = None
    card_token_key_id: str = "tok-1"  # noqa: S105 (a key id, not a key)
    # Rotation: token keys that made tokens still worth linking to the current key's, as
    # "kid=secret,kid=secret", newest first. They never make tokens; drop one when its
    # cards are carried forward or no longer matter (docs/privacy.md, key rotation).
    card_token_previous_keys: SecretStr | None = None
    # The deny-list key validators hold (validators.denylist). Unset, it is derived from
    # the oldest token key configured, so it must be set to the value validators hold
    # (`ticketing keys deny-list-key`) before that key is dropped; production refuses
    # previous token keys without it.
    card_deny_list_key: SecretStr | None = None
    card_deny_list_key_id: str = "dl-1"
    # Wraps the card-decryption private keys kept in the database (see validators.cardkeys).
    card_key_encryption_key: SecretStr | None = None

    tariff_dir: Path | None = None
    payment_gateway: Gateway = Gateway.simulated
    stripe_api_key: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr | None = None
    simulated_fee_basis_points: Annotated[int, Field(ge=0)] = 20
    simulated_fee_fixed_minor: Annotated[int, Field(ge=0)] = 5

    login_max_failures: Annotated[int, Field(gt=0)] = 5
    login_lock_minutes: Annotated[int, Field(gt=0)] = 15
    # Per device and window on POST /v1/devices/taps (validators.ratelimit.IntakeLimits):
    # a validator posts a few taps a second; one emptying its offline queue after a
    # tunnel posts 1000-tap batches every few seconds and must never be refused.
    intake_window_seconds: Annotated[int, Field(gt=0, le=3600)] = 60
    intake_requests_per_window: Annotated[int, Field(gt=0)] = 600
    intake_taps_per_window: Annotated[int, Field(gt=0)] = 30_000

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


SecretName = Literal["jwt_secret", "card_token_key", "card_key_encryption_key"]
SECRET_NAMES: tuple[SecretName, ...] = ("jwt_secret", "card_token_key", "card_key_encryption_key")


def secret_bytes(value: SecretStr) -> bytes:
    """Secrets are given as base64url (as generated) or as plain text of enough length."""
    raw = value.get_secret_value()
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        decoded = b""
    return decoded if len(decoded) >= MIN_SECRET_BYTES else raw.encode()


def _check_secret(name: str, value: SecretStr) -> None:
    raw = value.get_secret_value()
    env_name = f"TICKETING_{name.upper()}"
    if raw.strip().lower() in PLACEHOLDERS:
        raise SettingsError(f"{env_name} is a placeholder; set a random value.")
    if len(secret_bytes(value)) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"{env_name} is too short: give at least {MIN_SECRET_BYTES} random bytes "
            "(for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
        )


def _persisted_secret(data_dir: Path, name: str) -> SecretStr:
    """Read the development secret kept under data_dir, creating it (0600) on first use."""
    secret_dir = data_dir / "secrets"
    secret_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = secret_dir / name
    if not path.exists():
        value = base64.urlsafe_b64encode(secrets.token_bytes(MIN_SECRET_BYTES)).decode()
        # O_EXCL: two workers starting together must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(value)
    return SecretStr(path.read_text().strip())


def resolve_secrets(settings: Settings) -> Settings:
    """Return settings with every secret present, or raise SettingsError naming the problem."""
    updates: dict[str, SecretStr] = {}
    for name in SECRET_NAMES:
        value: SecretStr | None = getattr(settings, name)
        if value is None:
            if settings.is_production:
                raise SettingsError(
                    f"TICKETING_{name.upper()} is required when TICKETING_ENV=production."
                )
            value = _persisted_secret(settings.data_dir, name)
        _check_secret(name, value)
        updates[name] = value
    resolved = settings.model_copy(update=updates)
    token_keys(resolved)
    previous = settings.card_token_previous_keys
    if settings.card_deny_list_key is not None:
        _check_secret("card_deny_list_key", settings.card_deny_list_key)
    elif settings.is_production and previous is not None and previous.get_secret_value():
        raise SettingsError(
            "TICKETING_CARD_DENY_LIST_KEY is required with TICKETING_CARD_TOKEN_PREVIOUS_KEYS "
            "in production: set it to the key validators hold (`ticketing keys "
            "deny-list-key` prints it) so that dropping an old token key never changes it."
        )
    stripe_in_production = settings.is_production and settings.payment_gateway is Gateway.stripe
    if stripe_in_production and settings.stripe_api_key is None:
        raise SettingsError("TICKETING_STRIPE_API_KEY is required with the stripe gateway.")
    return resolved


def token_keys(settings: Settings) -> list[tuple[str, bytes]]:
    """The card-token keys as (kid, secret), the current one first, then the previous
    ones newest first; or SettingsError naming the problem (a malformed item, a short or
    placeholder secret, a bad kid, a kid used twice). `ticketing.app` makes the ring."""
    assert settings.card_token_key is not None, "resolve_secrets() must run first"
    name = "TICKETING_CARD_TOKEN_PREVIOUS_KEYS"
    if not _KID.fullmatch(settings.card_token_key_id):
        raise SettingsError(f"TICKETING_CARD_TOKEN_KEY_ID: {_KID_RULE}.")
    keys = [(settings.card_token_key_id, secret_bytes(settings.card_token_key))]
    given = settings.card_token_previous_keys
    for item in (given.get_secret_value() if given else "").split(","):
        if not item.strip():
            continue
        kid, sep, secret = item.strip().partition("=")
        if not sep or not kid or not secret:
            raise SettingsError(f"{name} must read 'kid=secret,kid=secret'.")
        if not _KID.fullmatch(kid):
            raise SettingsError(f"{name}, key {kid!r}: {_KID_RULE}.")
        try:
            _check_secret("card_token_previous_keys", SecretStr(secret))
        except SettingsError as exc:
            raise SettingsError(f"{name}, key {kid!r}: {exc}") from None
        if kid in {k for k, _ in keys}:
            raise SettingsError(f"{name}: key id {kid!r} is used twice (or is the current one).")
        keys.append((kid, secret_bytes(SecretStr(secret))))
    return keys


# What validators.tokens accepts as a key id (a token is "kid:mac", so never a ":").
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_KID_RULE = "a key id is 1 to 32 characters of A-Z, a-z, 0-9, '_' or '-'"


def load_settings() -> Settings:
    return resolve_secrets(Settings())
