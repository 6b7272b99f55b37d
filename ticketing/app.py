"""The app factory: settings in, a FastAPI app out, every package's routers mounted."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine

from fare import InvalidJourney, NoFare, Tariff, TariffError
from fare import api as fare_api
from settlement import api as settlement_api
from settlement.context import SettlementContext
from settlement.errors import SettlementError
from settlement.simulated import FeeSchedule
from ticketing import accounts_api, auth
from ticketing import api as shell_api
from ticketing.db import SessionFactory, make_engine, make_session_factory, unit_of_work
from ticketing.deps import open_request_session
from ticketing.errors import install_error_handlers
from ticketing.limits import BodySizeLimit
from ticketing.logs import configure_logging
from ticketing.metrics import install_metrics
from ticketing.settings import Settings, load_settings, secret_bytes
from validators import api as validators_api
from validators import cardkeys, riders_api, tariffs
from validators.card import CardRejected
from validators.cardkeys import KeyWrapper, OpeningKeys
from validators.context import ValidatorsContext
from validators.errors import ValidatorsError
from validators.redaction import PanRedactingFilter
from validators.schema import utc_now
from validators.tariffs import TariffCache
from validators.tokens import TokenKey
from validators.web import Principal

DOMAIN_ERRORS: tuple[type[Exception], ...] = (ValidatorsError, CardRejected, SettlementError)
FARE_ERRORS: dict[type[Exception], tuple[int, str]] = {
    InvalidJourney: (422, "invalid_journey"),
    NoFare: (422, "no_fare"),
    TariffError: (422, "invalid_tariff"),
}
DEMO_TARIFF = Path(__file__).parent / "demo" / "dijon"


def derived(secret: bytes, purpose: str) -> bytes:
    """One configured secret, one independent key per purpose."""
    return hmac.digest(secret, f"ticketing {purpose} v1".encode(), hashlib.sha256)


def validators_context(settings: Settings) -> ValidatorsContext:
    assert settings.card_token_key is not None and settings.card_key_encryption_key is not None
    token_secret = secret_bytes(settings.card_token_key)
    wrapper = KeyWrapper(secret_bytes(settings.card_key_encryption_key))
    return ValidatorsContext(
        key_wrapper=wrapper,
        opening_keys=OpeningKeys(wrapper),
        token_key=TokenKey(settings.card_token_key_id, token_secret),
        # Validators hold this one (deny-list hashes); it is not the token key.
        device_key=TokenKey("dl-1", derived(token_secret, "deny list")),
        tariffs=TariffCache(),
        default_tariff_dir=settings.tariff_dir or DEMO_TARIFF,
    )


def settlement_context(settings: Settings) -> SettlementContext:
    key = settings.stripe_api_key
    return SettlementContext(
        gateway=settings.payment_gateway.value,
        fees=FeeSchedule(
            basis_points=settings.simulated_fee_basis_points,
            fixed_minor=settings.simulated_fee_fixed_minor,
        ),
        stripe_api_key=key.get_secret_value() if key is not None else None,
        stripe_api_base=settings.stripe_api_base,
    )


def bootstrap(session_factory: SessionFactory, ctx: ValidatorsContext) -> None:
    """What a new installation needs before its first request: a card key and a tariff."""
    with unit_of_work(session_factory) as session:
        now = utc_now()
        cardkeys.ensure_key(session, wrapper=ctx.key_wrapper, now=now)
        tariffs.ensure_default(session, ctx.default_tariff_dir, now=now)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    session_factory: SessionFactory | None = None,
) -> FastAPI:
    """Build the app. Tests pass a session factory bound to their rolled-back connection."""
    assert settings.jwt_secret is not None, "resolve_secrets() must run first"
    engine = engine or make_engine(settings.database_url)
    ctx = validators_context(settings)
    factory = session_factory or make_session_factory(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        bootstrap(factory, ctx)
        yield

    app = FastAPI(
        title="ticketing",
        lifespan=lifespan,
        version="0.1.0",
        summary="One contactless payment system for bus, tram, bike-share and parking.",
        dependencies=[Depends(open_request_session, scope="function")],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.validators = ctx
    app.state.settlement = settlement_context(settings)
    jwt_key = auth.derive_key(secret_bytes(settings.jwt_secret), settings.jwt_key_id)
    app.state.jwt_key = jwt_key
    jwt_keys = {jwt_key.kid: jwt_key}
    app.state.jwt_keys = jwt_keys

    def verify_user_token(token: str) -> Principal:
        claims = auth.verify_token(token, jwt_keys)
        return Principal(claims.user_id, claims.email, claims.role)

    app.state.verify_user_token = verify_user_token

    def active_tariff(request: Request) -> Tariff:
        return ctx.tariff_on(request.state.db, utc_now().date()).tariff

    app.state.active_tariff = active_tariff

    install_error_handlers(app, DOMAIN_ERRORS, FARE_ERRORS)
    install_metrics(app)
    app.add_middleware(BodySizeLimit)
    app.include_router(shell_api.router)
    app.include_router(accounts_api.router)
    app.include_router(riders_api.router)
    app.include_router(validators_api.router)
    app.include_router(fare_api.router)
    app.include_router(settlement_api.router)
    app.include_router(settlement_api.riders_router)
    return app


def app_from_env() -> FastAPI:
    """Entry point of `uvicorn --factory` in every worker process."""
    settings = load_settings()
    configure_logging(
        json_lines=settings.is_production, level=settings.log_level, filters=[PanRedactingFilter()]
    )
    return create_app(settings)
