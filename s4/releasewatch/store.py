"""Decision store: what was announced, and per client whether the notice was delivered.

Kept in the state store (``s4.state``, docs/STATE.md), tables ``rw_announcements`` and ``rw_deliveries``::

    rw_announcements(id PK, kind, product, cycle, version, title, released, ready_on, decided_on, data_json)
    rw_deliveries(announcement_id, client_id, status, recipients, attempts, last_error, message_id, sent_at)

Delivery ``status``: ``pending`` (to send; a failed attempt goes back to pending with ``last_error``), ``sending``
(claimed by one job: ``claim_token``, ``claimed_at``), ``sent``, ``not-notified`` (the client has no contact address;
becomes ``pending`` once the CMDB lists one).

Overlapping jobs: before sending a client's notice, a job claims every delivery of it in one short write transaction
(:meth:`Store.claim`: ``pending`` rows, or ``sending`` rows whose claim is older than the lease); it sends only when
it got them all, and :meth:`Store.mark_sent` / :meth:`Store.mark_failed` act only on rows holding its token. A job
killed between claim and mark leaves ``sending`` rows that the next job takes over once the lease expired: delivery
is at least once (the notice may be sent twice then), never lost.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from s4.releasewatch.policy import Decision
from s4.state import open_store
from s4.state import schema as S
from s4.state import store as _state

#: None: the state store of ``S4_STATE_URL`` / the default (s4.state.resolve_url)
DEFAULT_PATH: str | None = None

A, D = S.rw_announcements, S.rw_deliveries

#: how long a job's claim on a notice holds before another job may take it over (seconds)
DEFAULT_CLAIM_LEASE = 15 * 60


def new_claim_token() -> str:
    """A random token naming one job's claims."""
    return secrets.token_hex(16)


def _ts(t: _dt.datetime) -> str:
    return t.astimezone(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _claimable(lease_s: int, now: _dt.datetime) -> Any:
    """Rows a job may claim: pending, or being sent by a job whose claim is older than the lease."""
    cutoff = _ts(now - _dt.timedelta(seconds=lease_s))
    return or_(D.c.status == "pending",
               and_(D.c.status == "sending", or_(D.c.claimed_at.is_(None), D.c.claimed_at < cutoff)))


class _Partial(Exception):
    """A claim got only part of a notice's deliveries (rolls its transaction back)."""


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

    def open_deliveries(self, lease_s: int = DEFAULT_CLAIM_LEASE,
                        now: _dt.datetime | None = None) -> list[dict[str, Any]]:
        """Deliveries still to send: ``pending`` and ``sending`` rows, each with ``busy`` True when another job
        holds a claim younger than the lease (the claim token is left out)."""
        now = now or _dt.datetime.now(_dt.UTC)
        free = _claimable(lease_s, now)
        q = (select(D, free.label("free")).where(D.c.status.in_(("pending", "sending")))
             .order_by(D.c.client_id, D.c.announcement_id))
        with self.state.read() as conn:
            out = []
            for r in conn.execute(q):
                row = {k: v for k, v in r._mapping.items() if k not in ("claim_token", "free")}
                row["busy"] = not r.free
                out.append(row)
            return out

    def refresh_contacts(self, contacts: dict[str, list[str]]) -> list[tuple[str, str]]:
        """Not-notified rows of clients that now have contacts become pending (and pending rows get the current
        addresses). Rows being sent (``sending``) are left to the job that claimed them. Returns the
        (announcement, client) pairs that became pending."""
        became = []
        with self.state.write() as conn:
            rows = conn.execute(select(D.c.announcement_id, D.c.client_id, D.c.status, D.c.recipients)
                                .where(D.c.status.in_(("pending", "not-notified")))).all()
            for r in rows:
                now = contacts.get(r.client_id)
                if now is None:
                    continue  # client gone from the CMDB: keep the row as it was
                rec = ",".join(now)
                status = "pending" if now else "not-notified"
                if status != r.status or rec != r.recipients:
                    conn.execute(update(D).where(D.c.announcement_id == r.announcement_id,
                                                 D.c.client_id == r.client_id, D.c.status == r.status)
                                 .values(status=status, recipients=rec))
                    if status == "pending" and r.status != "pending":
                        became.append((r.announcement_id, r.client_id))
        return became

    def claim(self, client_id: str, announcement_ids: Iterable[str], token: str,
              lease_s: int = DEFAULT_CLAIM_LEASE, now: _dt.datetime | None = None) -> bool:
        """Claim every delivery of one notice for the job holding ``token``, in one write transaction: each row
        must be ``pending`` or ``sending`` under an expired lease. All or nothing: when another job holds (or has
        sent) one of them, nothing is claimed and False is returned."""
        ids = sorted(set(announcement_ids))
        if not ids:
            return False
        now = now or _dt.datetime.now(_dt.UTC)
        try:
            with self.state.write() as conn:
                # PostgreSQL: lock the rows in one order first (two jobs claiming overlapping notices cannot
                # deadlock); SQLite holds the database write lock already (BEGIN IMMEDIATE)
                conn.execute(select(D.c.announcement_id).where(D.c.client_id == client_id, D.c.announcement_id.in_(ids))
                             .order_by(D.c.announcement_id).with_for_update())
                res = conn.execute(update(D).where(D.c.client_id == client_id, D.c.announcement_id.in_(ids),
                                                   _claimable(lease_s, now))
                                   .values(status="sending", claim_token=token, claimed_at=_ts(now)))
                if res.rowcount != len(ids):
                    raise _Partial  # release what was claimed: the rollback restores the rows exactly
        except _Partial:
            return False
        return True

    def mark_sent(self, client_id: str, announcement_ids: Iterable[str], message_id: str, sent_at: str,
                  token: str) -> int:
        """The notice was accepted: the rows this job's ``token`` holds become ``sent``. Returns how many; fewer
        than asked means another job took over an expired claim (and may send the notice again)."""
        n = 0
        with self.state.write() as conn:
            for aid in announcement_ids:
                n += conn.execute(update(D).where(D.c.announcement_id == aid, D.c.client_id == client_id,
                                                  D.c.status == "sending", D.c.claim_token == token)
                                  .values(status="sent", attempts=D.c.attempts + 1, last_error=None,
                                          message_id=message_id, sent_at=sent_at, claim_token=None,
                                          claimed_at=None)).rowcount
        return n

    def mark_failed(self, client_id: str, announcement_ids: Iterable[str], error: str, token: str) -> int:
        """The send failed: the rows this job's ``token`` holds go back to ``pending`` with the error and one more
        attempt. Returns how many."""
        n = 0
        with self.state.write() as conn:
            for aid in announcement_ids:
                n += conn.execute(update(D).where(D.c.announcement_id == aid, D.c.client_id == client_id,
                                                  D.c.status == "sending", D.c.claim_token == token)
                                  .values(status="pending", attempts=D.c.attempts + 1, last_error=error,
                                          claim_token=None, claimed_at=None)).rowcount
        return n

def open_copy(url: str | os.PathLike[str] | None = DEFAULT_PATH) -> Store:
    """The store at ``url`` opened for check mode: decisions are made against it and rolled back on close."""
    return Store(url, dry=True)
