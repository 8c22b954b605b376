"""Published report runs: every eol_report / release_watch run that published somewhere (docs/STATE.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from s4.redact import is_secret_key
from s4.state import schema as S
from s4.state.store import Store, inserted_id, now

KINDS = ("eol_report", "release_watch")
_OPERATOR_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")


def record_run(store: Store, kind: str, *, counts: Mapping[str, int], destination: str | None = None,
               as_of: str | None = None, started_at: str | None = None, finished_at: str | None = None,
               operator: str | None = None, job_id: str | None = None) -> int:
    """Record a published run; returns its id. ``counts`` are plain integers (hosts, findings, notices ...)."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    clean: dict[str, int] = {}
    for k, v in counts.items():
        if is_secret_key(k) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", str(k)):
            raise ValueError(f"count name {str(k)[:40]!r} is not allowed")
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"count {k} must be an integer")
        clean[str(k)] = v
    if operator is not None and not _OPERATOR_RE.match(operator):
        raise ValueError("operator name is not allowed")
    if destination is not None and ("@" in destination.split(":", 1)[0] and "://" in destination):
        raise ValueError("destination must not carry credentials")
    finished = finished_at or now()
    with store.write() as conn:
        return inserted_id(conn.execute(insert(S.report_runs).values(
            kind=kind, started_at=started_at or finished, finished_at=finished, as_of=as_of,
            destination=destination, counts_json=json.dumps(clean, sort_keys=True), operator=operator,
            job_id=job_id)))


def runs(store: Store, kind: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The newest published runs (of ``kind``), newest first, ``counts`` decoded."""
    r = S.report_runs
    q = select(r).order_by(r.c.id.desc()).limit(limit)
    if kind is not None:
        q = q.where(r.c.kind == kind)
    with store.read() as conn:
        out = []
        for row in conn.execute(q):
            d = dict(row._mapping)
            d["counts"] = json.loads(d.pop("counts_json") or "{}")
            out.append(d)
        return out
