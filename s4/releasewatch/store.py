"""Decision store: what was announced, and per client whether the notice was delivered.

Kept in the state store (``s4.state``, docs/STATE.md), tables ``rw_announcements`` and ``rw_deliveries``::

    rw_announcements(id PK, kind, product, cycle, version, title, released, ready_on, decided_on, data_json)
    rw_deliveries(announcement_id, client_id, status, recipients, attempts, last_error, message_id, sent_at)

Delivery ``status``: ``pending`` (to send; a failed attempt stays pending with ``last_error``), ``sent``,
``not-notified`` (the client has no contact address; becomes ``pending`` once the CMDB lists one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from s4.releasewatch.policy import Decision
from s4.state import open_store
from s4.state import schema as S
from s4.state import store as _state

#: None: the state store of ``S4_STATE_URL`` / the default (s4.state.resolve_url)
DEFAULT_PATH: str | None = None

A, D = S.rw_announcements, S.rw_deliveries


class Store:
    """The release-watch decisions in the state store at ``url`` (URL, SQLite path, or None for the default).
    ``dry=True``: check mode, every change is rolled back on :meth:`close`. ``store``: an open state store to use
    (left open by :meth:`close`)."""

    def __init__(self, url: str | os.PathLike[str] | None = DEFAULT_PATH, *, dry: bool = False,
                 store: _state.Store | None = None) -> None:
        if store is not None:
            self.state, self._own = store, False
        else:
            opened = open_store(url, dry=dry)
            assert opened is not None
            self.state, self._own = opened, True

    def close(self) -> None:
        if self._own:
            self.state.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # announcements
    def announced_ids(self) -> set[str]:
        with self.state.read() as conn:
            return {r[0] for r in conn.execute(select(A.c.id))}

    def announcements(self) -> list[dict[str, Any]]:
        """Every announcement, newest decision first (data_json merged in, ``decided_on`` added)."""
        with self.state.read() as conn:
            rows = conn.execute(select(A.c.data_json, A.c.decided_on)
                                .order_by(A.c.decided_on.desc(), A.c.ready_on.desc(), A.c.id)).all()
        out = []
        for r in rows:
            d = json.loads(r.data_json)
            d["decided_on"] = r.decided_on
            out.append(d)
        return out

    def record(self, decision: Decision, decided_on: str, clients: Iterable[tuple[str, list[str]]]) -> None:
        """Store one announcement and a delivery row per affected client (recipients empty = not notified).
        An announcement another job recorded meanwhile is kept as it is (its clients are added)."""
        data = decision.to_dict()
        with self.state.write() as conn:
            if conn.execute(select(A.c.id).where(A.c.id == decision.id)).first() is None:
                conn.execute(insert(A).values(
                    id=decision.id, kind=decision.kind, product=decision.product, cycle=decision.cycle,
                    version=decision.version, title=decision.title, released=data["released"],
                    ready_on=data["ready_on"], decided_on=decided_on, data_json=json.dumps(data, sort_keys=True)))
            self._add(conn, decision.id, clients)

    @staticmethod
    def _add(conn: Connection, announcement_id: str, clients: Iterable[tuple[str, list[str]]]) -> list[str]:
        have = {r[0] for r in conn.execute(select(D.c.client_id).where(D.c.announcement_id == announcement_id))}
        added = []
        for client_id, recipients in clients:
            if client_id in have:
                continue
            conn.execute(insert(D).values(announcement_id=announcement_id, client_id=client_id,
                                          status="pending" if recipients else "not-notified",
                                          recipients=",".join(recipients)))
            have.add(client_id)
            added.append(client_id)
        return added

    def add_clients(self, announcement_id: str, clients: Iterable[tuple[str, list[str]]]) -> list[str]:
        """Delivery rows for clients an existing announcement did not have yet (a host gathered or onboarded
        later); clients that already have a row are left alone. Returns the clients added."""
        with self.state.write() as conn:
            return self._add(conn, announcement_id, clients)

    # deliveries
    def deliveries(self, status: str | None = None) -> list[dict[str, Any]]:
        q = select(D).order_by(D.c.client_id, D.c.announcement_id)
        if status:
            q = q.where(D.c.status == status)
        with self.state.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def refresh_contacts(self, contacts: dict[str, list[str]]) -> list[tuple[str, str]]:
        """Not-notified rows of clients that now have contacts become pending (and pending rows get the current
        addresses). Returns the (announcement, client) pairs that became pending."""
        became = []
        with self.state.write() as conn:
            rows = conn.execute(select(D.c.announcement_id, D.c.client_id, D.c.status, D.c.recipients)
                                .where(D.c.status != "sent")).all()
            for r in rows:
                now = contacts.get(r.client_id)
                if now is None:
                    continue  # client gone from the CMDB: keep the row as it was
                rec = ",".join(now)
                status = "pending" if now else "not-notified"
                if status != r.status or rec != r.recipients:
                    conn.execute(update(D).where(D.c.announcement_id == r.announcement_id,
                                                 D.c.client_id == r.client_id, D.c.status != "sent")
                                 .values(status=status, recipients=rec))
                    if status == "pending" and r.status != "pending":
                        became.append((r.announcement_id, r.client_id))
        return became

    def mark_sent(self, client_id: str, announcement_ids: Iterable[str], message_id: str, sent_at: str) -> None:
        with self.state.write() as conn:
            for aid in announcement_ids:
                conn.execute(update(D).where(D.c.announcement_id == aid, D.c.client_id == client_id,
                                             D.c.status == "pending")
                             .values(status="sent", attempts=D.c.attempts + 1, last_error=None,
                                     message_id=message_id, sent_at=sent_at))

    def mark_failed(self, client_id: str, announcement_ids: Iterable[str], error: str) -> None:
        with self.state.write() as conn:
            for aid in announcement_ids:
                conn.execute(update(D).where(D.c.announcement_id == aid, D.c.client_id == client_id,
                                             D.c.status == "pending")
                             .values(attempts=D.c.attempts + 1, last_error=error))


def open_copy(url: str | os.PathLike[str] | None = DEFAULT_PATH) -> Store:
    """The store at ``url`` opened for check mode: decisions are made against it and rolled back on close."""
    return Store(url, dry=True)
