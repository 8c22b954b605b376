"""Decision store (SQLite): what was announced, and per client whether the notice was delivered.

Tables::

    announcements(id PK, kind, product, cycle, version, title, released, ready_on, decided_on, data_json)
    deliveries(announcement_id, client_id, status, recipients, attempts, last_error, message_id, sent_at)

Delivery ``status``: ``pending`` (to send; a failed attempt stays pending with ``last_error``), ``sent``,
``not-notified`` (the client has no contact address; becomes ``pending`` once the CMDB lists one).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from s4.filemodes import private_sqlite
from s4.releasewatch.policy import Decision

DEFAULT_PATH = Path(".cache/s4/release_watch.sqlite")

SCHEMA = """
CREATE TABLE IF NOT EXISTS announcements (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    product TEXT NOT NULL,
    cycle TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    released TEXT NOT NULL,
    ready_on TEXT NOT NULL,
    decided_on TEXT NOT NULL,
    data_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    announcement_id TEXT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'not-notified')),
    recipients TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    message_id TEXT,
    sent_at TEXT,
    PRIMARY KEY (announcement_id, client_id)
);
"""


class Store:
    """The decision store at ``path`` (``":memory:"`` for tests); the parent directory is created on open."""

    def __init__(self, path: str | Path = DEFAULT_PATH) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            private_sqlite(self.path)  # 0600 in a 0700 directory: which client runs what
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # announcements
    def announced_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM announcements")}

    def announcements(self) -> list[dict[str, Any]]:
        """Every announcement, newest decision first (data_json merged in, ``decided_on`` added)."""
        rows = self.db.execute("SELECT * FROM announcements ORDER BY decided_on DESC, ready_on DESC, id").fetchall()
        out = []
        for r in rows:
            d = json.loads(r["data_json"])
            d["decided_on"] = r["decided_on"]
            out.append(d)
        return out

    def record(self, decision: Decision, decided_on: str, clients: Iterable[tuple[str, list[str]]]) -> None:
        """Store one announcement and a delivery row per affected client (recipients empty = not notified)."""
        data = decision.to_dict()
        with self.db:
            self.db.execute(
                "INSERT INTO announcements(id, kind, product, cycle, version, title, released, ready_on, decided_on,"
                " data_json) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (decision.id, decision.kind, decision.product, decision.cycle, decision.version, decision.title,
                 data["released"], data["ready_on"], decided_on, json.dumps(data, sort_keys=True)))
            self._add(decision.id, clients)

    def _add(self, announcement_id: str, clients: Iterable[tuple[str, list[str]]]) -> list[str]:
        added = []
        for client_id, recipients in clients:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO deliveries(announcement_id, client_id, status, recipients) VALUES (?,?,?,?)",
                (announcement_id, client_id, "pending" if recipients else "not-notified", ",".join(recipients)))
            if cur.rowcount:
                added.append(client_id)
        return added

    def add_clients(self, announcement_id: str, clients: Iterable[tuple[str, list[str]]]) -> list[str]:
        """Delivery rows for clients an existing announcement did not have yet (a host gathered or onboarded
        later); clients that already have a row are left alone. Returns the clients added."""
        with self.db:
            return self._add(announcement_id, clients)

    # deliveries
    def deliveries(self, status: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT * FROM deliveries"
        args: tuple[Any, ...] = ()
        if status:
            q += " WHERE status = ?"
            args = (status,)
        return [dict(r) for r in self.db.execute(q + " ORDER BY client_id, announcement_id", args)]

    def refresh_contacts(self, contacts: dict[str, list[str]]) -> list[tuple[str, str]]:
        """Not-notified rows of clients that now have contacts become pending (and pending rows get the current
        addresses). Returns the (announcement, client) pairs that became pending."""
        became = []
        with self.db:
            for r in self.db.execute("SELECT announcement_id, client_id, status, recipients FROM deliveries "
                                     "WHERE status != 'sent'").fetchall():
                now = contacts.get(r["client_id"])
                if now is None:
                    continue  # client gone from the CMDB: keep the row as it was
                rec = ",".join(now)
                status = "pending" if now else "not-notified"
                if status != r["status"] or rec != r["recipients"]:
                    self.db.execute("UPDATE deliveries SET status = ?, recipients = ? WHERE announcement_id = ? "
                                    "AND client_id = ?", (status, rec, r["announcement_id"], r["client_id"]))
                    if status == "pending" and r["status"] != "pending":
                        became.append((r["announcement_id"], r["client_id"]))
        return became

    def mark_sent(self, client_id: str, announcement_ids: Iterable[str], message_id: str, sent_at: str) -> None:
        with self.db:
            for aid in announcement_ids:
                self.db.execute(
                    "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, last_error = NULL,"
                    " message_id = ?, sent_at = ? WHERE announcement_id = ? AND client_id = ? AND status = 'pending'",
                    (message_id, sent_at, aid, client_id))

    def mark_failed(self, client_id: str, announcement_ids: Iterable[str], error: str) -> None:
        with self.db:
            for aid in announcement_ids:
                self.db.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE announcement_id = ? "
                    "AND client_id = ? AND status = 'pending'", (error, aid, client_id))


def open_copy(path: str | Path) -> Store:
    """An in-memory copy of the store at ``path`` (empty when absent): check mode decides without writing."""
    mem = Store(":memory:")
    p = Path(path)
    if p.is_file():
        src = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True)
        try:
            src.backup(mem.db)
        finally:
            src.close()
    return mem
