"""Small helpers shared by the report modules: tolerant version keys and date parsing."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

_NUM = re.compile(r"\d+")


def version_key(version: str | None) -> tuple[int, ...]:
    """A sortable key for a dotted version ("8.4.1" > "8.4" > "8.3.20"); non-numeric parts are ignored.

    Only the upstream part counts: a Debian epoch ("1:") and revision ("-1+deb11u5") are stripped first.
    """
    if not version:
        return ()
    v = str(version)
    if ":" in v.split(".")[0]:
        v = v.split(":", 1)[1]
    v = v.split("-", 1)[0].split("+", 1)[0].split("~", 1)[0]
    return tuple(int(x) for x in _NUM.findall(v))


def cycle_of(version: str | None, parts: int = 2) -> str | None:
    """The first ``parts`` numeric fields of a version ("7.4.33" -> "7.4")."""
    key = version_key(version)
    if not key:
        return None
    return ".".join(str(x) for x in key[:parts])


def parse_date(value: Any) -> _dt.date | None:
    """A date from a ``date``, ``datetime`` or ISO string (``None`` and "" give ``None``)."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    text = str(value).strip()
    try:
        return _dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


def iso(value: _dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None
