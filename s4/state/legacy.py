"""Import of the SQLite files older versions kept (``.cache/s4/history.sqlite``, ``.cache/s4/release_watch.sqlite``).

Each file is imported once (an ``s4_meta`` row ``imported:<name>:<absolute path>`` records it) inside the caller's
migration transaction, so concurrent first opens import it once. The old file is left in place, read-only here.
Run ids are renumbered when the store already has runs; components keep their first/last seen dates.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from s4.state import schema as S
from s4.state.store import inserted_id


def _key(name: str, path: Path) -> str:
    return f"imported:{name}:{path.resolve()}"


def already_imported(conn: Connection, files: Mapping[str, Path]) -> list[str] | None:
    """Names among ``files`` already imported (None when the store has no schema yet)."""
    try:
        keys = {r[0] for r in conn.execute(select(S.meta.c.key).where(S.meta.c.key.like("imported:%")))}
    except Exception:  # no s4_meta table yet
        return None
    return [name for name, path in files.items() if _key(name, path) in keys]


def _ro(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def import_files(conn: Connection, files: Mapping[str, Path]) -> list[str]:
    """Import each not yet imported legacy file; returns one line per import."""
    done = []
    for name, path in sorted(files.items()):
        key = _key(name, path)
        if conn.execute(select(S.meta.c.key).where(S.meta.c.key == key)).first():
            continue
        if name == "history.sqlite":
            n = import_history(conn, path)
            what = f"{n} gather run(s)"
        elif name == "release_watch.sqlite":
            a, d = import_release_watch(conn, path)
            what = f"{a} announcement(s), {d} delivery record(s)"
        else:
            raise ValueError(f"unknown legacy file {name}")
        conn.execute(insert(S.meta).values(key=key, value=what))
        done.append(f"imported {path}: {what}")
    return done


def import_history(conn: Connection, path: Path) -> int:
    """Runs, per-host results (facts become deduplicated snapshots) and components of an old history.sqlite."""
    from s4.history import encode_snapshot, snapshot_id, split_facts

    src = _ro(path)
    try:
        runs = src.execute("SELECT * FROM runs ORDER BY id").fetchall()
        id_map: dict[int, int] = {}
        for r in runs:
            new_id = inserted_id(conn.execute(insert(S.gather_runs).values(
                started_at=r["started_at"], finished_at=r["finished_at"], playbook=r["playbook"],
                hosts_ok=r["hosts_ok"], hosts_failed=r["hosts_failed"])))
            id_map[int(r["id"])] = int(new_id)
            for h in src.execute("SELECT host, status, facts_json FROM hosts WHERE run_id = ? ORDER BY host",
                                 (r["id"],)):
                sid, volatile = None, None
                facts = _json(h["facts_json"])
                if isinstance(facts, dict):
                    stable, vol = split_facts(facts)
                    sha, size, blob = encode_snapshot(stable)
                    sid = snapshot_id(conn, h["host"], sha, size, blob, r["finished_at"])
                    volatile = json.dumps(vol, sort_keys=True, default=str) if vol else None
                conn.execute(insert(S.run_hosts).values(run_id=new_id, host=h["host"], status=h["status"],
                                                        snapshot_id=sid, volatile_json=volatile))
        rows = src.execute("SELECT * FROM components").fetchall()
        for c in rows:
            first, last = id_map.get(int(c["first_seen_run"])), id_map.get(int(c["last_seen_run"]))
            if first is None or last is None:
                continue
            key = {"host": c["host"], "site": c["site"] or "", "product": c["product"], "version": c["version"],
                   "kind": c["kind"]}
            existing = conn.execute(select(S.components).where(
                *[getattr(S.components.c, k) == v for k, v in key.items()])).first()
            if existing is None:
                conn.execute(insert(S.components).values(**key, first_seen_run=first, last_seen_run=last,
                                                         first_seen_at=c["first_seen_at"],
                                                         last_seen_at=c["last_seen_at"]))
        return len(runs)
    finally:
        src.close()


def import_release_watch(conn: Connection, path: Path) -> tuple[int, int]:
    """Announcements and delivery records of an old release_watch.sqlite (existing ids are kept as they are)."""
    src = _ro(path)
    try:
        a_count = d_count = 0
        known = {r[0] for r in conn.execute(select(S.rw_announcements.c.id))}
        for a in src.execute("SELECT * FROM announcements"):
            if a["id"] in known:
                continue
            conn.execute(insert(S.rw_announcements).values(**{k: a[k] for k in a.keys()}))  # noqa: SIM118
            a_count += 1
        have = {(r[0], r[1]) for r in conn.execute(select(S.rw_deliveries.c.announcement_id,
                                                          S.rw_deliveries.c.client_id))}
        for d in src.execute("SELECT * FROM deliveries"):
            if (d["announcement_id"], d["client_id"]) in have:
                continue
            conn.execute(insert(S.rw_deliveries).values(**{k: d[k] for k in d.keys()}))  # noqa: SIM118
            d_count += 1
        return a_count, d_count
    finally:
        src.close()


def _json(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
