from __future__ import annotations

from datetime import UTC, datetime


def timestamp(value: datetime | None) -> str | None:
    """ISO-8601 UTC with exactly three fractional digits and ``Z``: 2023-08-11T20:08:37.655Z."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def epoch_ms(seconds: float) -> int:
    return int(seconds * 1000)
