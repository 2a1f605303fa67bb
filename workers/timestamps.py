"""Timestamps as the exports and services write them, read one way everywhere (sources and checks)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_DOTNET_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$", re.ASCII)
_GENERALIZED_TIME = re.compile(r"\d{14}(\.\d+)?Z?", re.ASCII)
_GT_FIELDS = ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))


def parse_time(value: Any) -> datetime | None:
    """ISO 8601, AD generalized time (20261120054000.0Z) or ConvertTo-Json's /Date(ms)/.

    Anything else, including an impossible date (month 13, year 33658), is None.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    try:
        m = _DOTNET_DATE.match(text)
        if m:
            return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
        if _GENERALIZED_TIME.fullmatch(text):  # what strptime("%Y%m%d%H%M%S") reads, 10x cheaper
            y, mo, d, h, mi, sec = (int(text[a:b]) for a, b in _GT_FIELDS)
            return datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):  # out-of-range dates, too many digits
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
