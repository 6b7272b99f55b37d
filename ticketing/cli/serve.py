"""`ticketing serve`: the HTTP API (several worker processes share the load)."""

from __future__ import annotations

import os
import shutil
from typing import Annotated

import typer

from ticketing.cli.common import engine_for, migrate, settings_or_exit


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the API. In development the database is migrated first."""
    import uvicorn

    settings = settings_or_exit()
    if not settings.is_production:
        migrate(engine_for(settings))
    if workers > 1:
        # Workers' metrics are summed from files; stale files would double-count.
        metrics_dir = settings.data_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    uvicorn.run(
        "ticketing.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
    )
