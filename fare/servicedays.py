"""The service day: local calendar date of a moment, shifted so that a day starts at
`service_day_start` (04:30 by default). Local wall-clock time makes DST days 23 or 25
hours long, which is correct."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fare.tariff import Config


def service_day_of(moment: datetime, config: Config) -> date:
    local = moment.astimezone(config.timezone)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    if seconds < config.service_day_start_s:
        return local.date() - timedelta(days=1)
    return local.date()
