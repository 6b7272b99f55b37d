"""Published tariff versions: a day is always priced with the version active that day.

A version stores the tariff directory's files as published, so it loads exactly as the
directory did and older days can be re-priced with the rules they ran under.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from threading import Lock

from sqlmodel import Session, col, select

from fare import Tariff, load_tariff_files
from fare.loader import read_tariff_dir
from validators.store import TariffVersion

# Before any real version: the bundled tariff is active since the beginning of time.
EPOCH = date(2000, 1, 1)


def publish(
    session: Session,
    *,
    files: Mapping[str, bytes],
    name: str,
    effective_from: date,
    now: datetime,
) -> TariffVersion:
    """Store a new version, active from `effective_from`. Raises fare's TariffError first
    if the tariff is wrong: a broken tariff never becomes active."""
    load_tariff_files(files)
    version = TariffVersion(
        name=name,
        effective_from=effective_from,
        files={path: base64.b64encode(data).decode("ascii") for path, data in files.items()},
        loaded_at=now,
    )
    session.add(version)
    session.flush()
    return version


def publish_directory(
    session: Session, directory: Path, *, effective_from: date, now: datetime
) -> TariffVersion:
    return publish(
        session,
        files=read_tariff_dir(directory),
        name=directory.resolve().name,
        effective_from=effective_from,
        now=now,
    )


def ensure_default(session: Session, directory: Path, *, now: datetime) -> None:
    """A new installation prices with `directory` until someone publishes a tariff."""
    if session.exec(select(TariffVersion.id)).first() is None:
        publish_directory(session, directory, effective_from=EPOCH, now=now)


def version_for(session: Session, day: date) -> int | None:
    """Id of the version active on `day`: the latest effective on or before it (ties:
    newest). Only the id: the files are read once per process, by TariffCache."""
    return session.exec(
        select(TariffVersion.id)
        .where(TariffVersion.effective_from <= day)
        .order_by(col(TariffVersion.effective_from).desc(), col(TariffVersion.id).desc())
    ).first()


@dataclass(frozen=True, slots=True)
class ActiveTariff:
    version_id: int
    tariff: Tariff


class TariffCache:
    """Parsed tariffs by version id: versions never change, so parsing once is enough."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        self._tariffs: dict[int, Tariff] = {}
        # Which version a day uses changes only when a tariff is published; intake asks
        # on every request, so the answer is kept for a few seconds.
        self._versions: dict[date, tuple[float, int | None]] = {}
        self._ttl_s = ttl_s
        self._lock = Lock()

    def for_day(self, session: Session, day: date) -> ActiveTariff | None:
        cached = self._versions.get(day)
        if cached is not None and time.monotonic() - cached[0] < self._ttl_s:
            version_id = cached[1]
        else:
            version_id = version_for(session, day)
            self._versions[day] = (time.monotonic(), version_id)
        if version_id is None:
            return None
        with self._lock:
            tariff = self._tariffs.get(version_id)
            if tariff is None:
                version = session.get(TariffVersion, version_id)
                assert version is not None
                files = {p: base64.b64decode(data) for p, data in version.files.items()}
                tariff = self._tariffs[version_id] = load_tariff_files(files)
        return ActiveTariff(version_id, tariff)
