"""Small helpers shared by the report modules: tolerant version keys and date parsing."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from s4.lifecycle.versions import version_tuple


def version_key(version: str | None) -> tuple[int, ...]:
    """A sortable key for a dotted version ("8.4.1" > "8.4" > "8.3.20"): the numeric parts of the upstream version.

    Parsed by the one version parser, ``s4.lifecycle.versions.version_tuple``: a Debian/RPM epoch and revision,
    a banner ("Apache/2.4.62 (Debian)") or a ``v`` prefix are read the same way as by the lifecycle engine.
    """
    return version_tuple(version)


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
