"""``s4 state`` (upgrade, info) and ``s4 timesheet`` (the provider's POC work per client and month)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_URL_HELP = "state store URL or SQLite path (default: $S4_STATE_URL, else .cache/s4/state.sqlite in the checkout)"


def register(sub: Any) -> None:
    p = sub.add_parser("state", help="the state store: migrate it (upgrade), import old files, show what it holds")
    p.add_argument("what", choices=["upgrade", "info"], help="upgrade: migrate to the newest schema (and import "
                   "old SQLite files); info: URL, schema revision and row counts")
    p.add_argument("--state-url", default=None, help=_URL_HELP)
    p.add_argument("--import-history", type=Path, help="`upgrade`: an old history.sqlite to import")
    p.add_argument("--import-release-watch", type=Path, help="`upgrade`: an old release_watch.sqlite to import")
    p.set_defaults(func=_state)

    t = sub.add_parser("timesheet", help="POC work (builds, go-lives, rollbacks, teardowns) for a client and month",
                       description="Every POC step recorded for the client's POCs that started in the month (UTC): "
                                   "who, when, how long, outcome; the record time-and-materials uplift work is "
                                   "billed from.")
    t.add_argument("--client", required=True, help="client id (CMDB)")
    t.add_argument("--month", required=True, help="YYYY-MM")
    t.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    t.add_argument("--state-url", default=None, help=_URL_HELP)
    t.set_defaults(func=_timesheet)


def _state(args: argparse.Namespace) -> int:
    from s4.history import History
    from s4.state import StateError, display_url, head_revision, open_store, resolve_url, upgrade

    try:
        url = resolve_url(args.state_url)
        if args.what == "upgrade":
            legacy = {}
            for name, path in (("history.sqlite", args.import_history),
                               ("release_watch.sqlite", args.import_release_watch)):
                if path is not None:
                    if not path.is_file():
                        print(f"s4 state: {path} does not exist", file=sys.stderr)
                        return 2
                    legacy[name] = path
            store = open_store(url, migrate=False)
            assert store is not None
            with store:
                # the default store also picks up old files lying next to it (as every open does)
                done = upgrade(store, legacy=legacy, legacy_dir=_default_dir(url))
                print(f"{display_url(url)}: schema at {store.revision()}")
                for line in done:
                    print(line)
            return 0
        store = open_store(url, create=False)
        if store is None:
            print(f"{display_url(url)}: no state store yet (it is created on first use)")
            return 1
        with store:
            print(f"url        {display_url(url)}")
            print(f"schema     {store.revision()} (newest {head_revision()})")
            stats = History(store=store).stats()
            for k, v in stats.items():
                print(f"{k:<14} {v}")
            from sqlalchemy import func, select

            from s4.state import schema as S

            with store.read() as conn:
                for table in (S.rw_announcements, S.rw_deliveries, S.poc_records, S.poc_events, S.report_runs):
                    n = conn.execute(select(func.count()).select_from(table)).scalar()
                    if table is S.rw_deliveries and n:  # per status: 'sending' rows are claimed by a job
                        by = conn.execute(select(table.c.status, func.count()).group_by(table.c.status)
                                          .order_by(table.c.status)).all()
                        print(f"{table.name:<14} {n} ({', '.join(f'{st} {c}' for st, c in by)})")
                        continue
                    print(f"{table.name:<14} {n}")
            for key, value in sorted(store.meta().items()):
                print(f"{key}: {value}")
        return 0
    except StateError as exc:
        print(f"s4 state: {exc}", file=sys.stderr)
        return 2


def _default_dir(url: str) -> Path | None:
    from s4.state import sqlite_path
    from s4.state.store import STATE_FILE

    path = sqlite_path(url)
    return path.parent if path is not None and path.name == STATE_FILE.name else None


def _timesheet(args: argparse.Namespace) -> int:
    from s4.state import StateError, display_url, open_store, resolve_url
    from s4.state import poc as P

    try:
        url = resolve_url(args.state_url)
        store = open_store(url, create=False)
        if store is None:
            print(f"s4 timesheet: no state store at {display_url(url)}", file=sys.stderr)
            return 1
        with store:
            steps = P.timesheet(store, args.client, args.month)
    except (StateError, ValueError) as exc:
        print(f"s4 timesheet: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(P.timesheet_csv(steps) if args.csv else P.timesheet_text(args.client, args.month, steps))
    return 0
