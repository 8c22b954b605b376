"""Gather history: every discovery run, per-host results and components with first/last seen (docs/CONTRACTS.md §3).

Kept in the state store (``s4.state``, docs/STATE.md): ``gather_runs``, ``run_hosts`` (a run's status per host,
pointing at a snapshot), ``snapshots`` (a host's facts stored once per distinct content: sha256 of the canonical
JSON without the keys that change on every gather, zlib-compressed) and ``components`` (first/last seen).

``site`` ('' for host-level components) is an extension: site apps (kind ``webapp``) and front-end libraries
(kind ``frontend``) are tracked too, so a WordPress or jQuery upgrade shows as a change.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from s4.state import schema as S
from s4.state.store import StateError, Store, inserted_id, now, open_store

#: top-level facts keys that change on every gather: kept per run, left out of the snapshot and its hash
VOLATILE_KEYS = ("gathered_at", "timings")

Key = tuple[str, str, str]  # (site, product, kind)


@dataclass
class HostChanges:
    host: str
    first_run: bool = False
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    changed: list[dict[str, str]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "first_run": self.first_run, "added": self.added, "removed": self.removed,
                "changed": self.changed}

    def lines(self) -> list[str]:
        out = []
        for c in self.changed:
            where = f" (site {c['site']})" if c["site"] else ""
            out.append(f"{self.host}: {c['product']} {c['from']} -> {c['to']}{where}")
        for c in self.added:
            where = f" (site {c['site']})" if c["site"] else ""
            out.append(f"{self.host}: + {c['product']} {c['version']}{where}")
        for c in self.removed:
            where = f" (site {c['site']})" if c["site"] else ""
            out.append(f"{self.host}: - {c['product']} {c['version']}{where}")
        return out


@dataclass
class RunResult:
    run_id: int
    hosts_ok: int
    hosts_failed: int
    changes: dict[str, HostChanges]

    @property
    def any_change(self) -> bool:
        return any(c.any for c in self.changes.values())

    def summary(self) -> list[str]:
        lines = [f"run {self.run_id}: {self.hosts_ok} host(s) ok, {self.hosts_failed} failed"]
        for host in sorted(self.changes):
            ch = self.changes[host]
            if ch.first_run:
                n = len(ch.added)
                lines.append(f"{host}: first run, {n} component(s) recorded")
            elif ch.any:
                lines.extend(ch.lines())
            else:
                lines.append(f"{host}: no change")
        return lines


def components_of(facts: Mapping[str, Any]) -> set[tuple[str, str, str, str]]:
    """(site, product, kind, version) of everything tracked in one host's s4_software facts."""
    out: set[tuple[str, str, str, str]] = set()
    for c in facts.get("components") or []:
        if c.get("product") and c.get("version"):
            out.add(("", str(c["product"]), str(c.get("kind") or ""), str(c["version"])))
    for s in facts.get("sites") or []:
        site = str(s.get("name") or s.get("docroot") or "?")
        for a in s.get("apps") or []:
            if a.get("product") and a.get("version"):
                out.add((site, str(a["product"]), "webapp", str(a["version"])))
        for lib in s.get("libraries") or []:
            if lib.get("product") and lib.get("version"):
                out.add((site, str(lib["product"]), "frontend", str(lib["version"])))
    return out


def diff_components(old: Iterable[tuple[str, str, str, str]], new: Iterable[tuple[str, str, str, str]],
                    host: str) -> HostChanges:
    """Changes between two component sets; a product whose version moved is `changed`, not added+removed."""
    by_old: dict[Key, set[str]] = {}
    by_new: dict[Key, set[str]] = {}
    for site, product, kind, version in old:
        by_old.setdefault((site, product, kind), set()).add(version)
    for site, product, kind, version in new:
        by_new.setdefault((site, product, kind), set()).add(version)
    ch = HostChanges(host)
    for key in sorted(set(by_old) | set(by_new)):
        site, product, kind = key
        o, n = by_old.get(key, set()), by_new.get(key, set())
        gone, came = sorted(o - n), sorted(n - o)
        while gone and came:
            ch.changed.append({"site": site, "product": product, "kind": kind, "from": gone.pop(0), "to": came.pop(0)})
        for v in came:
            ch.added.append({"site": site, "product": product, "kind": kind, "version": v})
        for v in gone:
            ch.removed.append({"site": site, "product": product, "kind": kind, "version": v})
    return ch


def split_facts(facts: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stable part, volatile part) of one host's facts; the stable part is what a snapshot holds."""
    stable = {k: v for k, v in facts.items() if k not in VOLATILE_KEYS}
    volatile = {k: facts[k] for k in VOLATILE_KEYS if k in facts}
    return stable, volatile


def encode_snapshot(stable: Mapping[str, Any]) -> tuple[str, int, bytes]:
    """(sha256 hex, size, zlib blob) of the canonical JSON of ``stable``."""
    canon = json.dumps(stable, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()
    return hashlib.sha256(canon).hexdigest(), len(canon), zlib.compress(canon, 6)


def decode_snapshot(data: bytes, volatile_json: str | None) -> dict[str, Any]:
    facts = json.loads(zlib.decompress(data))
    if volatile_json:
        facts.update(json.loads(volatile_json))
    return facts


def _insert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT (with ON CONFLICT support) for ``table``."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def snapshot_id(conn: Connection, host: str, sha: str, size: int, blob: bytes, created_at: str) -> int:
    """The id of ``host``'s snapshot with hash ``sha``, stored now when it is new (concurrent writers of the same
    content end up with the same row)."""
    row = conn.execute(select(S.snapshots.c.id).where(S.snapshots.c.host == host, S.snapshots.c.sha256 == sha)).first()
    if row is None:
        conn.execute(_insert(conn, S.snapshots).values(host=host, sha256=sha, size=size, data=blob,
                                                       created_at=created_at)
                     .on_conflict_do_nothing(index_elements=["host", "sha256"]))
        row = conn.execute(select(S.snapshots.c.id).where(S.snapshots.c.host == host,
                                                          S.snapshots.c.sha256 == sha)).first()
    assert row is not None
    return int(row[0])


_LATEST = None  # no upper bound (a huge sentinel overflows PostgreSQL INTEGER columns)


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)] if items else []


def _component_rows(host: str, comps: Iterable[tuple[str, str, str, str]], run_id: int, seen_at: str, *,
                    first_run: int | None = None, first_at: str | None = None) -> list[dict[str, Any]]:
    return [{"host": host, "site": site, "product": product, "version": version, "kind": kind,
             "first_seen_run": first_run if first_run is not None else run_id, "last_seen_run": run_id,
             "first_seen_at": first_at or seen_at, "last_seen_at": seen_at}
            for site, product, kind, version in sorted(comps)]


class History:
    """The gather history in the state store at ``url`` (a URL, a SQLite path, or None: ``S4_STATE_URL`` / the
    default; see ``s4.state.resolve_url``). ``dry=True``: check mode, nothing is written. ``store``: an open
    :class:`s4.state.Store` to use instead (not closed by :meth:`close`)."""

    def __init__(self, url: str | os.PathLike[str] | None = None, *, dry: bool = False,
                 store: Store | None = None) -> None:
        if store is not None:
            self.store, self._own = store, False
        else:
            opened = open_store(url, dry=dry)
            assert opened is not None
            self.store, self._own = opened, True

    @classmethod
    def existing(cls, url: str | os.PathLike[str] | None = None) -> History | None:
        """The history when the store exists (readers: a SQLite file not created yet means no history)."""
        store = open_store(url, create=False)
        return cls(store=store) if store is not None else None

    def close(self) -> None:
        if self._own:
            self.store.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------------------------------

    @staticmethod
    def _previous_ok_run(conn: Connection, host: str, before: int | None) -> int | None:
        """The host's latest successful run before run ``before`` (``None``: its latest successful run)."""
        rh = S.run_hosts
        query = select(func.max(rh.c.run_id)).where(rh.c.host == host, rh.c.status == "ok")
        if before is not None:
            query = query.where(rh.c.run_id < before)
        return conn.execute(query).scalar()

    @staticmethod
    def _components_last(conn: Connection, host: str, run_id: int) -> set[tuple[str, str, str, str]]:
        """Components of the host's latest successful run ``run_id`` (exact: each was touched by that run)."""
        c = S.components
        rows = conn.execute(select(c.c.site, c.c.product, c.c.kind, c.c.version).where(
            c.c.host == host, c.c.last_seen_run == run_id))
        return {(r[0], r[1], r[2], r[3]) for r in rows}

    @staticmethod
    def _facts_at(conn: Connection, host: str, run_id: int) -> dict[str, Any] | None:
        rh, sn = S.run_hosts, S.snapshots
        row = conn.execute(select(sn.c.data, rh.c.volatile_json).join_from(rh, sn, rh.c.snapshot_id == sn.c.id)
                           .where(rh.c.host == host, rh.c.run_id == run_id)).first()
        return decode_snapshot(row[0], row[1]) if row else None

    def _components_at(self, conn: Connection, host: str, run_id: int) -> set[tuple[str, str, str, str]]:
        """Components of a past run: from its snapshot, else from the first/last seen ranges."""
        facts = self._facts_at(conn, host, run_id)
        if facts is not None:
            return components_of(facts)
        c = S.components
        rows = conn.execute(select(c.c.site, c.c.product, c.c.kind, c.c.version).where(
            c.c.host == host, c.c.first_seen_run <= run_id, c.c.last_seen_run >= run_id))
        return {(r[0], r[1], r[2], r[3]) for r in rows}

    @staticmethod
    def _snapshot_ids(conn: Connection, shas: Mapping[str, str]) -> dict[str, int]:
        """{host: id of its snapshot with the given hash} for the hashes already stored."""
        out: dict[str, int] = {}
        sn = S.snapshots
        hosts = sorted(shas)
        for chunk in _chunks(hosts):
            for r in conn.execute(select(sn.c.id, sn.c.host, sn.c.sha256).where(
                    sn.c.host.in_(chunk), sn.c.sha256.in_(sorted({shas[h] for h in chunk})))):
                if shas.get(r.host) == r.sha256:
                    out[r.host] = int(r.id)
        return out

    def preview(self, results: Mapping[str, Mapping[str, Any]]) -> dict[str, HostChanges]:
        """What :meth:`record_run` would report, without writing (check mode)."""
        out = {}
        with self.store.read() as conn:
            for host, r in results.items():
                if r.get("status") != "ok" or not isinstance(r.get("facts"), Mapping):
                    continue
                prev = self._previous_ok_run(conn, host, _LATEST)
                old = self._components_last(conn, host, prev) if prev is not None else set()
                ch = diff_components(old, components_of(r["facts"]), host)
                ch.first_run = prev is None
                out[host] = ch
        return out

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        g = S.gather_runs
        with self.store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(g).order_by(g.c.id.desc()).limit(limit))]

    def all_runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first (by start time, then id)."""
        g = S.gather_runs
        with self.store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(g).order_by(g.c.started_at, g.c.id))]

    def host_status(self, run_id: int) -> dict[str, str]:
        rh = S.run_hosts
        with self.store.read() as conn:
            return {r.host: r.status for r in conn.execute(select(rh.c.host, rh.c.status).where(rh.c.run_id == run_id))}

    def run_facts(self, run_id: int) -> dict[str, dict[str, Any]]:
        """{host: facts} of the hosts that succeeded in ``run_id``."""
        rh, sn = S.run_hosts, S.snapshots
        with self.store.read() as conn:
            rows = conn.execute(select(rh.c.host, sn.c.data, rh.c.volatile_json)
                                .join_from(rh, sn, rh.c.snapshot_id == sn.c.id)
                                .where(rh.c.run_id == run_id, rh.c.status == "ok"))
            return {r.host: decode_snapshot(r.data, r.volatile_json) for r in rows}

    def latest_facts(self, hosts: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """{host: facts of its latest successful run} (all hosts, or those of ``hosts`` that have one)."""
        rh, sn = S.run_hosts, S.snapshots
        x = rh.alias("x")
        latest = (select(func.max(x.c.run_id)).where(x.c.host == rh.c.host, x.c.status == "ok",
                                                     x.c.snapshot_id.is_not(None)).scalar_subquery())
        q = (select(rh.c.host, sn.c.data, rh.c.volatile_json).join_from(rh, sn, rh.c.snapshot_id == sn.c.id)
             .where(rh.c.status == "ok", rh.c.run_id == latest))
        wanted = set(hosts) if hosts is not None else None
        if wanted is not None:
            q = q.where(rh.c.host.in_(sorted(wanted)))
        with self.store.read() as conn:
            return {r.host: decode_snapshot(r.data, r.volatile_json) for r in conn.execute(q)}

    def current_components(self, host: str) -> list[dict[str, Any]]:
        """Components seen in the host's latest successful run."""
        c = S.components
        with self.store.read() as conn:
            prev = self._previous_ok_run(conn, host, _LATEST)
            if prev is None:
                return []
            rows = conn.execute(select(c).where(c.c.host == host, c.c.last_seen_run == prev)
                                .order_by(c.c.site, c.c.product, c.c.version))
            return [dict(r._mapping) for r in rows]

    def changes_since(self, run_id: int) -> dict[str, HostChanges]:
        """Per host: latest successful run vs that host's state at ``run_id`` (nothing, for a host first gathered
        after it)."""
        out = {}
        rh = S.run_hosts
        with self.store.read() as conn:
            hosts = [r[0] for r in conn.execute(select(rh.c.host).where(rh.c.status == "ok").distinct())]
            for host in sorted(hosts):
                latest = self._previous_ok_run(conn, host, _LATEST)
                base = self._previous_ok_run(conn, host, run_id + 1)
                if latest is None or latest == base:
                    continue
                # a host first gathered after ``run_id`` is a change too: all its software is new
                before = self._components_at(conn, host, base) if base is not None else set()
                ch = diff_components(before, self._components_at(conn, host, latest), host)
                if ch.any:
                    out[host] = ch
        return out

    def stats(self) -> dict[str, int]:
        """Row counts and stored snapshot bytes (``s4 state info``, the benchmark)."""
        with self.store.read() as conn:
            return {
                "runs": int(conn.execute(select(func.count()).select_from(S.gather_runs)).scalar() or 0),
                "run_hosts": int(conn.execute(select(func.count()).select_from(S.run_hosts)).scalar() or 0),
                "snapshots": int(conn.execute(select(func.count()).select_from(S.snapshots)).scalar() or 0),
                "snapshot_bytes": int(conn.execute(select(func.coalesce(func.sum(func.length(S.snapshots.c.data)),
                                                                        0))).scalar() or 0),
                "facts_bytes": int(conn.execute(select(func.coalesce(func.sum(S.snapshots.c.size), 0))).scalar()
                                   or 0),
                "components": int(conn.execute(select(func.count()).select_from(S.components)).scalar() or 0),
            }

    # --- writing -------------------------------------------------------------------------------------------------

    def record_run(self, results: Mapping[str, Mapping[str, Any]], *, playbook: str = "gather_software.yml",
                   started_at: str | None = None, finished_at: str | None = None) -> RunResult:
        """Append one run. ``results``: {host: {"status": "ok"|"failed"|"unreachable", "facts": s4_software}}.

        Hashing and compressing happen before the (short) write transaction."""
        finished = finished_at or now()
        started = started_at or finished
        statuses = {h: (str(r.get("status") or "failed") if isinstance(r.get("facts"), Mapping)
                        or r.get("status") != "ok" else "failed") for h, r in results.items()}
        ok = sum(1 for st in statuses.values() if st == "ok")
        failed = len(results) - ok
        prepared: dict[str, tuple[dict[str, Any], str, int, bytes, str, set[tuple[str, str, str, str]]]] = {}
        for host, r in results.items():
            facts = r.get("facts")
            if statuses[host] == "ok" and isinstance(facts, Mapping):
                stable, volatile = split_facts(facts)
                sha, size, blob = encode_snapshot(stable)
                prepared[host] = (volatile, sha, size, blob, str(facts.get("gathered_at") or finished),
                                  components_of(facts))
        changes: dict[str, HostChanges] = {}
        rh, sn, c = S.run_hosts, S.snapshots, S.components
        ok_hosts = sorted(prepared)
        with self.store.write() as conn:
            run_id = inserted_id(conn.execute(insert(S.gather_runs).values(
                started_at=started, finished_at=finished, playbook=playbook, hosts_ok=ok, hosts_failed=failed)))
            # a few set-wise statements per run, not per host: the transaction stays short with 50+ hosts
            sids = self._snapshot_ids(conn, {h: prepared[h][1] for h in ok_hosts})
            new_snaps = [{"host": h, "sha256": prepared[h][1], "size": prepared[h][2], "data": prepared[h][3],
                          "created_at": finished} for h in ok_hosts if h not in sids]
            if new_snaps:
                conn.execute(_insert(conn, sn).on_conflict_do_nothing(index_elements=["host", "sha256"]), new_snaps)
                sids.update(self._snapshot_ids(conn, {h: prepared[h][1] for h in ok_hosts if h not in sids}))
            rows = []
            for host in sorted(results):
                prep = prepared.get(host)
                vol = prep[0] if prep is not None else None
                rows.append({"run_id": run_id, "host": host, "status": statuses[host] if prep is None else "ok",
                             "snapshot_id": sids.get(host) if prep is not None else None,
                             "volatile_json": json.dumps(vol, sort_keys=True, default=str) if vol else None})
            conn.execute(insert(rh), rows)
            prev: dict[str, int] = {}
            old: dict[str, set[tuple[str, str, str, str]]] = {h: set() for h in ok_hosts}
            for chunk in _chunks(ok_hosts):
                prev.update({str(pr[0]): int(pr[1]) for pr in conn.execute(
                    select(rh.c.host, func.max(rh.c.run_id)).where(rh.c.host.in_(chunk), rh.c.status == "ok",
                                                                     rh.c.run_id < run_id).group_by(rh.c.host))})
                wanted = {(h, prev[h]) for h in chunk if h in prev}
                if wanted:
                    for cr in conn.execute(select(c.c.host, c.c.site, c.c.product, c.c.kind, c.c.version,
                                                  c.c.last_seen_run)
                                           .where(c.c.host.in_(chunk),
                                                  c.c.last_seen_run.in_(sorted({w[1] for w in wanted})))):
                        if (cr.host, cr.last_seen_run) in wanted:
                            old[cr.host].add((cr.site, cr.product, cr.kind, cr.version))
            comp_rows = []
            for host in ok_hosts:
                _vol, _sha, _size, _blob, seen_at, new = prepared[host]
                comp_rows.extend(_component_rows(host, new, run_id, seen_at))
                ch = diff_components(old[host], new, host)
                ch.first_run = host not in prev
                changes[host] = ch
            if comp_rows:
                stmt = _insert(conn, c)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["host", "site", "product", "version", "kind"],
                    set_={"last_seen_run": stmt.excluded.last_seen_run, "last_seen_at": stmt.excluded.last_seen_at}),
                    comp_rows)
        return RunResult(run_id, ok, failed, changes)

    def prune(self, *, keep_days: int | None = None, keep_runs: int | None = None,
              today: _dt.datetime | None = None) -> dict[str, int]:
        """Delete the runs that are neither among the newest ``keep_runs`` nor started within ``keep_days`` days,
        the snapshots no kept run points at, and components last seen before the oldest kept run. A bound left
        None does not keep anything by itself; both None is refused. Returns what was deleted."""
        if keep_days is None and keep_runs is None:
            raise ValueError("prune needs --keep-days and/or --keep-runs")
        if (keep_days is not None and keep_days < 0) or (keep_runs is not None and keep_runs < 0):
            raise ValueError("keep-days and keep-runs must be >= 0")
        g, rh, sn, c = S.gather_runs, S.run_hosts, S.snapshots, S.components
        with self.store.write() as conn:
            keep: set[int] = set()
            if keep_runs:
                keep |= {r[0] for r in conn.execute(select(g.c.id).order_by(g.c.id.desc()).limit(keep_runs))}
            if keep_days is not None:
                cutoff = ((today or _dt.datetime.now(_dt.UTC)) - _dt.timedelta(days=keep_days))
                stamp = cutoff.replace(microsecond=0).isoformat().replace("+00:00", "Z")
                keep |= {r[0] for r in conn.execute(select(g.c.id).where(g.c.started_at >= stamp))}
            doomed = [r[0] for r in conn.execute(select(g.c.id)) if r[0] not in keep]
            n_runs = len(doomed)
            for i in range(0, len(doomed), 500):
                chunk = doomed[i:i + 500]
                conn.execute(delete(rh).where(rh.c.run_id.in_(chunk)))
                conn.execute(delete(g).where(g.c.id.in_(chunk)))
            used = select(rh.c.snapshot_id).where(rh.c.snapshot_id.is_not(None))
            n_snap = conn.execute(delete(sn).where(sn.c.id.not_in(used))).rowcount or 0
            oldest = conn.execute(select(func.min(g.c.id))).scalar()
            n_comp = 0
            if oldest is None:
                n_comp = conn.execute(delete(c)).rowcount or 0
            elif n_runs:
                n_comp = conn.execute(delete(c).where(c.c.last_seen_run < oldest)).rowcount or 0
        return {"runs": n_runs, "snapshots": n_snap, "components": n_comp}

    def prune_facts(self, keep_runs: int) -> int:
        """Keep only the newest ``keep_runs`` runs (the ``keep_facts_runs`` option of smartt.s4.gather_history);
        returns the number of runs deleted. Components keep their first-seen dates."""
        return self.prune(keep_runs=max(1, keep_runs))["runs"]


# --- `s4 history` -------------------------------------------------------------------------------------------------

def register(sub: Any) -> None:
    p = sub.add_parser("history", help="show or prune the gather history (runs, components, changes, prune)")
    p.add_argument("--state-url", "--db", dest="state_url", default=None,
                   help="state store URL or SQLite path (default: $S4_STATE_URL, else .cache/s4/state.sqlite in "
                        "the checkout)")
    p.add_argument("what", choices=["runs", "components", "changes", "prune"], nargs="?", default="runs")
    p.add_argument("--host", help="host for `components`")
    p.add_argument("--since", type=int, help="run id for `changes` (default: the run before the latest)")
    p.add_argument("--keep-days", type=int, help="`prune`: keep runs started within N days")
    p.add_argument("--keep-runs", type=int, help="`prune`: keep the newest M runs")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    try:
        h = History.existing(args.state_url)
    except StateError as exc:
        print(f"s4 history: {exc}")
        return 1
    if h is None:
        print("no gather history yet (no state store): run playbooks/gather_software.yml")
        return 1
    with h:
        if args.what == "runs":
            for r in h.runs():
                print(f"{r['id']:>5}  {r['started_at']}  {r['finished_at']}  ok={r['hosts_ok']} "
                      f"failed={r['hosts_failed']}  {r['playbook']}")
        elif args.what == "components":
            if not args.host:
                print("--host is required for components")
                return 2
            for c in h.current_components(args.host):
                site = f" [{c['site']}]" if c["site"] else ""
                print(f"{c['product']:<22} {c['version']:<14} {c['kind']:<10} first run {c['first_seen_run']}"
                      f" ({c['first_seen_at']}){site}")
        elif args.what == "prune":
            try:
                gone = h.prune(keep_days=args.keep_days, keep_runs=args.keep_runs)
            except ValueError as exc:
                print(f"s4 history prune: {exc}")
                return 2
            print(f"pruned {gone['runs']} run(s), {gone['snapshots']} snapshot(s), {gone['components']} "
                  "component record(s)")
        else:
            runs = h.runs(2)
            since = args.since if args.since is not None else (runs[1]["id"] if len(runs) > 1 else 0)
            changes = h.changes_since(since)
            if not any(c.any for c in changes.values()):
                print(f"no changes since run {since}")
            for ch in changes.values():
                for line in ch.lines():
                    print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m s4.history")
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    register(sub)
    args = parser.parse_args(["history", *(argv or [])] if argv is not None else None)
    return int(args.func(args))


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
