"""The app factory: settings in, a FastAPI app out, every package's routers mounted."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from ticketing import api as shell_api
from ticketing import auth
from ticketing.db import SessionFactory, make_engine, make_session_factory
from ticketing.deps import open_request_session
from ticketing.errors import install_error_handlers
from ticketing.logs import configure_logging
from ticketing.metrics import install_metrics
from ticketing.settings import Settings, load_settings, secret_bytes
from validators.errors import ValidatorsError
from validators.redaction import PanRedactingFilter
from validators.web import Principal

DOMAIN_ERRORS: tuple[type[Exception], ...] = (ValidatorsError,)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    session_factory: SessionFactory | None = None,
) -> FastAPI:
    """Build the app. Tests pass a session factory bound to their rolled-back connection."""
    assert settings.jwt_secret is not None, "resolve_secrets() must run first"
    engine = engine or make_engine(settings.database_url)
    app = FastAPI(
        title="ticketing",
        version="0.1.0",
        summary="One contactless payment system for bus, tram, bike-share and parking.",
        dependencies=[Depends(open_request_session, scope="function")],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory or make_session_factory(engine)
    jwt_key = auth.derive_key(secret_bytes(settings.jwt_secret), settings.jwt_key_id)
    app.state.jwt_key = jwt_key
    jwt_keys = {jwt_key.kid: jwt_key}

    def verify_user_token(token: str) -> Principal:
        claims = auth.verify_token(token, jwt_keys)
        return Principal(claims.user_id, claims.email, claims.role)

    app.state.verify_user_token = verify_user_token

    install_error_handlers(app, DOMAIN_ERRORS)
    install_metrics(app)
    app.include_router(shell_api.router)
    return app


def app_from_env() -> FastAPI:
    """Entry point of `uvicorn --factory` in every worker process."""
    settings = load_settings()
    configure_logging(
        json_lines=settings.is_production, level=settings.log_level, filters=[PanRedactingFilter()]
    )
    return create_app(settings)
