"""The app factory: settings in, a FastAPI app out, every package's routers mounted."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from fare import InvalidJourney, NoFare, Tariff, TariffError
from fare import api as fare_api
from settlement import api as settlement_api
from settlement import disputes, disputes_api, lookup_api, privacy_api, receipts_api
from settlement import riders_api as settlement_riders_api
from settlement import webhooks_api as settlement_webhooks_api
from settlement.context import SettlementContext
from settlement.errors import SettlementError
from settlement.simulated import FeeSchedule
from settlement.web import dispute_pages
from settlement.web import pages as web_pages
from ticketing import accounts_api, auth
from ticketing import api as shell_api
from ticketing.db import SessionFactory, make_engine, make_session_factory, unit_of_work
from ticketing.deps import open_request_session
from ticketing.errors import install_error_handlers
from ticketing.limits import BodySizeLimit
from ticketing.logs import configure_logging
from ticketing.metrics import install_metrics
from ticketing.openapi_doc import install_openapi
from ticketing.settings import Gateway, Settings, load_settings, secret_bytes, token_keys
from ticketing.users import User
from validators import api as validators_api
from validators import cardkeys, riders, riders_api, tariffs
from validators.card import CardRejected
from validators.cardkeys import KeyWrapper, OpeningKeys
from validators.context import ValidatorsContext
from validators.errors import ValidatorsError
from validators.ratelimit import IntakeLimits
from validators.redaction import PanRedactingFilter
from validators.schema import utc_now
from validators.tariffs import TariffCache
from validators.tokens import KeyRing, TokenKey
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


def token_key_ring(settings: Settings) -> KeyRing:
    """The card-token keys of the settings: the current one, then the previous ones."""
    (kid, secret), *previous = token_keys(settings)
    return KeyRing(TokenKey(kid, secret), tuple(TokenKey(k, s) for k, s in previous))


def validators_context(settings: Settings) -> ValidatorsContext:
    assert settings.card_token_key is not None and settings.card_key_encryption_key is not None
    ring = token_key_ring(settings)
    wrapper = KeyWrapper(secret_bytes(settings.card_key_encryption_key))
    # Validators hold this one (deny-list hashes); it is not a token key. Derived from
    # the oldest token key unless given, so starting a token-key rotation leaves it as is.
    given = settings.card_deny_list_key
    deny_list_secret = secret_bytes(given) if given else derived(ring.keys[-1].secret, "deny list")
    return ValidatorsContext(
        key_wrapper=wrapper,
        opening_keys=OpeningKeys(wrapper),
        token_keys=ring,
        device_key=TokenKey(settings.card_deny_list_key_id, deny_list_secret),
        tariffs=TariffCache(),
        default_tariff_dir=settings.tariff_dir or DEMO_TARIFF,
        keep_envelopes_for_enrolment=settings.payment_gateway is Gateway.stripe,
        intake_limits=IntakeLimits(
            requests=settings.intake_requests_per_window,
            taps=settings.intake_taps_per_window,
            window_s=settings.intake_window_seconds,
        ),
    )


def settlement_context(settings: Settings) -> SettlementContext:
    key = settings.stripe_api_key
    webhook = settings.stripe_webhook_secret
    return SettlementContext(
        gateway=settings.payment_gateway.value,
        fees=FeeSchedule(
            basis_points=settings.simulated_fee_basis_points,
            fixed_minor=settings.simulated_fee_fixed_minor,
        ),
        stripe_api_key=key.get_secret_value() if key is not None else None,
        stripe_api_base=settings.stripe_api_base,
        stripe_webhook_secret=webhook.get_secret_value() if webhook is not None else None,
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
        try:
            bootstrap(factory, ctx)
        except (OperationalError, InterfaceError):
            # Serve anyway: /readyz reports the database, requests answer 503 until it
            # is back, and the next start completes the bootstrap.
            logging.getLogger(__name__).warning("database not ready at start-up")
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
    previous = settings.jwt_previous_keys
    jwt_keys = auth.verification_keys(
        jwt_key,
        previous.get_secret_value() if previous else None,
        decode=lambda secret: secret_bytes(SecretStr(secret)),
    )
    app.state.jwt_keys = jwt_keys

    def verify_user_token(token: str) -> Principal:
        claims = auth.verify_token(token, jwt_keys)
        return Principal(claims.user_id, claims.email, claims.role)

    app.state.verify_user_token = verify_user_token
    # What other packages must forget when a rider erases their account.
    app.state.on_user_erased = [riders.forget_user, disputes.forget_user]
    login_policy = auth.LoginPolicy(
        settings.login_max_failures, timedelta(minutes=settings.login_lock_minutes)
    )

    # The web pages' login (settlement.web) checks passwords through these hooks: the
    # shell owns passwords and tokens, the domain package never imports the shell.
    def authenticate_password(session: Session, email: str, password: str) -> Principal | None:
        outcome = auth.authenticate(
            session, email=email, password=password, policy=login_policy, now=auth.utc_now()
        )
        if not isinstance(outcome, User) or outcome.id is None:
            return None  # the failure count it updated is committed by the request
        return Principal(outcome.id, outcome.email, outcome.role)

    def issue_user_token(principal: Principal) -> str:
        # issue_token reads only id, email and role: a detached User carries them.
        p = principal
        user = User.model_construct(id=p.user_id, email=p.email, role=p.role)
        lifetime = timedelta(minutes=settings.access_token_minutes)
        return auth.issue_token(user, jwt_key, lifetime=lifetime, now=auth.utc_now()).access_token

    app.state.authenticate_password = authenticate_password
    app.state.issue_user_token = issue_user_token
    app.state.web_csrf_key = derived(secret_bytes(settings.jwt_secret), "web csrf")

    def active_tariff(request: Request) -> Tariff:
        return ctx.tariff_on(request.state.db, utc_now().date()).tariff

    app.state.active_tariff = active_tariff

    install_error_handlers(app, DOMAIN_ERRORS, FARE_ERRORS)
    install_metrics(app)
    install_openapi(app)
    app.add_middleware(BodySizeLimit)
    app.include_router(shell_api.router)
    app.include_router(accounts_api.router)
    app.include_router(riders_api.router)
    app.include_router(privacy_api.router)
    app.include_router(lookup_api.router)
    app.include_router(validators_api.router)
    app.include_router(fare_api.router)
    app.include_router(settlement_api.router)
    app.include_router(settlement_riders_api.router)
    app.include_router(disputes_api.riders_router)
    app.include_router(disputes_api.finance_router)
    app.include_router(receipts_api.router)
    app.include_router(web_pages.router)
    app.include_router(dispute_pages.router)
    app.include_router(settlement_webhooks_api.router)
    return app


def app_from_env() -> FastAPI:
    """Entry point of `uvicorn --factory` in every worker process."""
    settings = load_settings()
    configure_logging(
        json_lines=settings.is_production, level=settings.log_level, filters=[PanRedactingFilter()]
    )
    return create_app(settings)
