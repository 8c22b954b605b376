"""``s4 eol-report``: the fleet EOL report without Ansible (cron, CI), from a CMDB file and gathered facts.

Facts come from ``--facts-dir`` (one ``<host>.json`` per host holding its ``s4_software`` dict) or, by default,
from the newest successful run of each host in the gather history of the state store (docs/STATE.md), which also
feeds the debt trend. Only the CMDB's in-scope hosts are reported; an in-scope host without facts is listed as not gathered.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_HISTORY = None  # the state store of S4_STATE_URL, else the checkout's default (s4.state.resolve_url)


def _iso_date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _non_negative(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {n}")
    return n


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("eol-report", help="fleet EOL report (HTML, CSV, JSON) from a CMDB and gathered facts",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cmdb", required=True, type=Path, help="CMDB file (docs/CMDB.md), e.g. inventories/lab/cmdb.yml")
    p.add_argument("--facts-dir", type=Path, help="directory of <host>.json s4_software facts (default: history DB)")
    p.add_argument("--state-url", "--history-db", dest="history_db", default=DEFAULT_HISTORY,
                   help="state store URL or SQLite path holding the gather history (default: $S4_STATE_URL, else "
                        ".cache/s4/state.sqlite in the checkout)")
    p.add_argument("--as-of", type=_iso_date, default=None, help="judge as of this date (default: today, UTC)")
    p.add_argument("--eol-soon-days", type=_non_negative, default=180, help="eol-soon / licence window (default 180)")
    p.add_argument("--history-limit", type=_non_negative, default=12, help="gather runs in the debt trend (default 12)")
    p.add_argument("--out", type=Path, help="report directory (default reports/eol/<as-of>)")
    p.add_argument("--check", action="store_true", help="build the report and list the files that would change")
    p.set_defaults(func=run)


def latest_facts(db: str | Path | None, hosts: list[str]) -> dict[str, dict[str, Any]]:
    """The newest successful facts of each host in the state store at ``db`` (hosts without any are left out)."""
    from s4.history import History

    h = History.existing(db)
    if h is None:
        return {}
    with h:
        return h.latest_facts(hosts)


def dir_facts(directory: Path, hosts: list[str]) -> dict[str, Any]:
    if not directory.is_dir():
        raise FileNotFoundError(f"facts directory {directory} does not exist")
    out: dict[str, Any] = {}
    for h in hosts:
        p = directory / f"{h}.json"
        if p.is_file():
            try:
                out[h] = json.loads(p.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ValueError(f"{p}: not JSON: {exc}") from None
    return out


def run(args: argparse.Namespace) -> int:
    from s4 import cmdb as cmdb_mod
    from s4.report import ReportInputError, build_report, write_report
    from s4.state import StateError, resolve_url

    try:
        estate = cmdb_mod.load(args.cmdb)
    except (OSError, cmdb_mod.CmdbError) as exc:
        print(f"s4 eol-report: {exc}", file=sys.stderr)
        return 2
    hosts = sorted(estate.in_scope)
    try:
        args.history_db = resolve_url(args.history_db)
        facts = dir_facts(args.facts_dir, hosts) if args.facts_dir else latest_facts(args.history_db, hosts)
    except (OSError, ValueError, StateError) as exc:
        print(f"s4 eol-report: {exc}", file=sys.stderr)
        return 2
    raw = []
    for h in hosts:
        hv = estate.hostvars(h)
        hv["inventory_hostname"] = h
        hv["s4_software"] = facts.get(h)
        raw.append(hv)
    as_of = args.as_of or _dt.datetime.now(_dt.UTC).date()
    out = args.out or Path("reports/eol") / as_of.isoformat()
    try:
        report = build_report(raw, as_of=as_of, eol_soon_days=args.eol_soon_days, history_db=args.history_db,
                              history_limit=args.history_limit or 1)
        written = write_report(report, out, check=args.check)
    except ReportInputError as exc:
        print(f"s4 eol-report: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"s4 eol-report: cannot write {out}: {exc}", file=sys.stderr)
        return 2
    s = report["summary"]
    verb = "would change" if args.check else "written"
    print(f"{out}/report.html (as of {report['as_of']}): {s['hosts_gathered']}/{s['hosts_in_scope']} hosts gathered, "
          f"{s['findings']} findings {s['by_status']}; {len(written['changed'])} file(s) {verb}")
    for n in report["not_gathered"]:
        print(f"  not gathered: {n['host']}: {n['reason']}")
    return 0
