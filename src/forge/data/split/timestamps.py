"""Timestamps in the formats real data uses, to epoch seconds (UTC).

Naive times are taken as UTC. Two-digit years follow the POSIX `%y` rule (69-99 -> 19xx,
00-68 -> 20xx), which places the tweets' `10/23/17 12:30` in 2017.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

_FORMATS = (
    "%m/%d/%y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%y",
    "%m/%d/%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%a %b %d %H:%M:%S %z %Y",  # Twitter API created_at
    "%Y%m%d",
)
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _epoch(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() // 1)


def parse_timestamp(value: Any) -> int | None:
    """Epoch seconds (UTC) of a timestamp value, or None when it cannot be read.

    Understood: numbers (epoch seconds; milliseconds when above 1e11), datetime objects,
    ISO 8601 (`2017-10-23`, `2017-10-23T12:30:00Z`, with offsets), `M/D/YY H:MM` and
    `M/D/YYYY H:MM[:SS]`, `YYYY/MM/DD`, `DD.MM.YYYY`, RFC 2822 (`Mon, 23 Oct 2017 12:30:00
    +0000`) and the Twitter API form (`Mon Oct 23 12:30:00 +0000 2017`).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _epoch(value)
    if isinstance(value, (int, float)):
        v = float(value)
        if v != v:  # NaN
            return None
        return int(v / 1000) if abs(v) > 1e11 else int(v)
    s = str(value).strip()
    if not s:
        return None
    if _NUMBER.match(s):
        return parse_timestamp(float(s))
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    try:
        return _epoch(datetime.fromisoformat(iso))
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return _epoch(datetime.strptime(s, fmt))
        except ValueError:
            continue
    try:
        return _epoch(parsedate_to_datetime(s))
    except (TypeError, ValueError, IndexError):
        return None
