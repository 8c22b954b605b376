"""Gather history: every discovery run, per-host results and components with first/last seen (docs/CONTRACTS.md §3).

SQLite, pure Python. Tables::

    runs(id, started_at, finished_at, playbook, hosts_ok, hosts_failed)
    hosts(run_id, host, status, facts_json)
    components(host, site, product, version, kind, first_seen_run, last_seen_run, first_seen_at, last_seen_at)

``site`` ('' for host-level components) is an extension: site apps (kind ``webapp``) and front-end libraries
(kind ``frontend``) are tracked too, so a WordPress or jQuery upgrade shows as a change.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s4.filemodes import private_sqlite

DEFAULT_PATH = Path(".cache/s4/history.sqlite")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    playbook TEXT NOT NULL,
    hosts_ok INTEGER NOT NULL,
    hosts_failed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hosts (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    status TEXT NOT NULL,
    facts_json TEXT,
    PRIMARY KEY (run_id, host)
);
CREATE INDEX IF NOT EXISTS hosts_by_host ON hosts(host, run_id);
CREATE TABLE IF NOT EXISTS components (
    host TEXT NOT NULL,
    site TEXT NOT NULL DEFAULT '',
    product TEXT NOT NULL,
    version TEXT NOT NULL,
    kind TEXT NOT NULL,
    first_seen_run INTEGER NOT NULL REFERENCES runs(id),
    last_seen_run INTEGER NOT NULL REFERENCES runs(id),
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (host, site, product, version, kind)
);
CREATE INDEX IF NOT EXISTS components_last ON components(host, last_seen_run);
"""

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


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


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


class History:
    """The history database at ``path`` (created with its parent directory on first use)."""

    def __init__(self, path: str | Path = DEFAULT_PATH) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            private_sqlite(self.path)  # 0600 file (and -wal/-shm) in a 0700 directory: it maps EOL software per host
        self.db = sqlite3.connect(str(self.path), timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        if str(self.path) != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _previous_ok_run(self, host: str, before: int) -> int | None:
        row = self.db.execute(
            "SELECT MAX(run_id) FROM hosts WHERE host = ? AND status = 'ok' AND run_id < ?", (host, before)
        ).fetchone()
        return row[0] if row and row[0] is not None else None

    def preview(self, results: Mapping[str, Mapping[str, Any]]) -> dict[str, HostChanges]:
        """What :meth:`record_run` would report, without writing (check mode)."""
        out = {}
        for host, r in results.items():
            if r.get("status") != "ok" or not isinstance(r.get("facts"), Mapping):
                continue
            prev = self._previous_ok_run(host, 1 << 62)
            old = self._components_last(host, prev) if prev is not None else set()
            ch = diff_components(old, components_of(r["facts"]), host)
            ch.first_run = prev is None
            out[host] = ch
        return out

    def _components_last(self, host: str, run_id: int) -> set[tuple[str, str, str, str]]:
        """Components of the host's latest successful run ``run_id`` (exact: each was touched by that run)."""
        rows = self.db.execute(
            "SELECT site, product, kind, version FROM components WHERE host = ? AND last_seen_run = ?",
            (host, run_id)).fetchall()
        return {(r[0], r[1], r[2], r[3]) for r in rows}

    def _components_at(self, host: str, run_id: int) -> set[tuple[str, str, str, str]]:
        """Components of a past run: from its stored facts, else from the first/last seen ranges."""
        row = self.db.execute("SELECT facts_json FROM hosts WHERE host = ? AND run_id = ?", (host, run_id)).fetchone()
        if row and row[0]:
            return components_of(json.loads(row[0]))
        rows = self.db.execute(
            "SELECT site, product, kind, version FROM components WHERE host = ? AND first_seen_run <= ? "
            "AND last_seen_run >= ?", (host, run_id, run_id)).fetchall()
        return {(r[0], r[1], r[2], r[3]) for r in rows}

    def record_run(self, results: Mapping[str, Mapping[str, Any]], *, playbook: str = "gather_software.yml",
                   started_at: str | None = None, finished_at: str | None = None) -> RunResult:
        """Append one run. ``results``: {host: {"status": "ok"|"failed"|"unreachable", "facts": s4_software}}."""
        finished = finished_at or _now()
        started = started_at or finished
        statuses = {h: (str(r.get("status") or "failed") if isinstance(r.get("facts"), Mapping)
                        or r.get("status") != "ok" else "failed") for h, r in results.items()}
        ok = sum(1 for st in statuses.values() if st == "ok")
        failed = len(results) - ok
        changes: dict[str, HostChanges] = {}
        with self.db:
            cur = self.db.execute(
                "INSERT INTO runs(started_at, finished_at, playbook, hosts_ok, hosts_failed) VALUES (?,?,?,?,?)",
                (started, finished, playbook, ok, failed))
            run_id = int(cur.lastrowid or 0)
            for host in sorted(results):
                r = results[host]
                status = statuses[host]
                facts = r.get("facts")
                self.db.execute("INSERT INTO hosts(run_id, host, status, facts_json) VALUES (?,?,?,?)",
                                (run_id, host, status,
                                 json.dumps(facts, sort_keys=True, default=str) if facts is not None else None))
                if status != "ok" or not isinstance(facts, Mapping):
                    continue
                seen_at = str(facts.get("gathered_at") or finished)
                prev = self._previous_ok_run(host, run_id)
                old = self._components_last(host, prev) if prev is not None else set()
                new = components_of(facts)
                for site, product, kind, version in new:
                    self.db.execute(
                        "INSERT INTO components(host, site, product, version, kind, first_seen_run, last_seen_run,"
                        " first_seen_at, last_seen_at) VALUES (?,?,?,?,?,?,?,?,?)"
                        " ON CONFLICT(host, site, product, version, kind) DO UPDATE SET"
                        " last_seen_run = excluded.last_seen_run, last_seen_at = excluded.last_seen_at",
                        (host, site, product, version, kind, run_id, run_id, seen_at, seen_at))
                ch = diff_components(old, new, host)
                ch.first_run = prev is None
                changes[host] = ch
        return RunResult(run_id, ok, failed, changes)

    def prune_facts(self, keep_runs: int) -> int:
        """Drop facts_json of all but the newest ``keep_runs`` runs (components and run rows stay)."""
        with self.db:
            cur = self.db.execute(
                "UPDATE hosts SET facts_json = NULL WHERE facts_json IS NOT NULL AND run_id NOT IN "
                "(SELECT id FROM runs ORDER BY id DESC LIMIT ?)", (keep_runs,))
        return cur.rowcount

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def host_status(self, run_id: int) -> dict[str, str]:
        return {r["host"]: r["status"] for r in self.db.execute(
            "SELECT host, status FROM hosts WHERE run_id = ?", (run_id,))}

    def current_components(self, host: str) -> list[dict[str, Any]]:
        """Components seen in the host's latest successful run."""
        prev = self._previous_ok_run(host, 1 << 62)
        if prev is None:
            return []
        rows = self.db.execute(
            "SELECT * FROM components WHERE host = ? AND last_seen_run = ? ORDER BY site, product, version",
            (host, prev)).fetchall()
        return [dict(r) for r in rows]

    def changes_since(self, run_id: int) -> dict[str, HostChanges]:
        """Per host: latest successful run vs that host's state at ``run_id``."""
        out = {}
        hosts = [r[0] for r in self.db.execute("SELECT DISTINCT host FROM hosts WHERE status = 'ok'")]
        for host in hosts:
            latest = self._previous_ok_run(host, 1 << 62)
            base = self._previous_ok_run(host, run_id + 1)
            if latest is None or base is None or latest == base:
                continue
            ch = diff_components(self._components_at(host, base), self._components_at(host, latest), host)
            if ch.any:
                out[host] = ch
        return out


# --- `s4 history` -------------------------------------------------------------------------------------------------

def register(sub: Any) -> None:
    p = sub.add_parser("history", help="show the gather history (runs, components, changes)")
    p.add_argument("--db", default=str(DEFAULT_PATH), help="history database (default: %(default)s)")
    p.add_argument("what", choices=["runs", "components", "changes"], nargs="?", default="runs")
    p.add_argument("--host", help="host for `components`")
    p.add_argument("--since", type=int, help="run id for `changes` (default: the run before the latest)")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"no history database at {args.db}")
        return 1
    with History(args.db) as h:
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
