"""Debt trend from the gather history (state store, docs/STATE.md): each past run's facts re-judged as of that run."""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any

from s4.report.findings import EngineLike, build_findings
from s4.report.model import HostInput
from s4.report.util import parse_date


def _runs(rows: list[dict[str, Any]], as_of: _dt.date, limit: int) -> list[tuple[int, str]]:
    out = []
    for run_id, started in ((r["id"], r["started_at"]) for r in rows):
        try:
            d = parse_date(started)
        except ValueError:
            continue
        if d is not None and d <= as_of:
            out.append((int(run_id), str(started)))
    return out[-limit:] if limit > 0 else out


def debt_trend(db_path: str | os.PathLike[str] | None, hosts: list[HostInput], engine: EngineLike, as_of: _dt.date,
               soon_days: int, limit: int = 12) -> dict[str, Any]:
    """Per run (newest ``limit`` runs started on or before ``as_of``): debt per host and per client.

    Runs are judged as of their own date, so the series shows how the debt grew or shrank. Hosts and clients are
    those of the current CMDB; a host missing from a run has no point for it. ``db_path``: the state store URL or
    SQLite path (``s4.state.resolve_url``); None: no trend.
    """
    from s4.history import History
    from s4.state import StateError, display_url, resolve_url

    result: dict[str, Any] = {"source": None, "runs": [], "hosts": {}, "clients": {}, "note": ""}
    hist = None
    try:
        if db_path:
            result["source"] = display_url(resolve_url(db_path))
            hist = History.existing(db_path)
    except StateError as exc:
        result["note"] = f"cannot open the history database: {exc}"
        return result
    if hist is None:
        result["note"] = "no gather history database: the trend starts with the next gather run"
        return result
    by_name = {h.name: h for h in hosts}
    try:
        runs = _runs(hist.all_runs(), as_of, limit)
        for run_id, started in runs:
            run_date = parse_date(started) or as_of
            run_hosts = []
            for host, facts in sorted(hist.run_facts(run_id).items()):
                base = by_name.get(str(host))
                if base is None:
                    continue
                if not isinstance(facts, dict) or facts.get("schema") != 1:
                    continue
                run_hosts.append(HostInput(name=base.name, service=base.service, public=base.public,
                                           clients=base.clients, sites=base.sites, licences=[],
                                           domain=base.domain, facts=facts))
            if not run_hosts:
                continue
            findings, _ = build_findings(run_hosts, engine, run_date, soon_days)
            point = {"run": run_id, "date": run_date.isoformat(), "started_at": started}
            result["runs"].append(point)
            for h in run_hosts:
                score = int(sum(f["debt"] for f in findings if f["host"] == h.name))
                result["hosts"].setdefault(h.name, []).append({"run": run_id, "date": point["date"], "score": score})
            clients = sorted({c for h in run_hosts for c in h.client_ids} | {c for f in findings for c in f["clients"]})
            for c in clients:
                score = int(sum(f["debt"] for f in findings if c in f["clients"]))
                result["clients"].setdefault(c, []).append({"run": run_id, "date": point["date"], "score": score})
    except Exception as exc:  # sqlalchemy errors: the trend is optional, the report is not
        result["note"] = f"history database unreadable ({type(exc).__name__}); no trend"
    finally:
        hist.close()
    if not result["runs"] and not result["note"]:
        result["note"] = "no gather run on or before the as-of date in the history database"
    return result


def trend_direction(series: list[dict[str, Any]]) -> str:
    """"up", "down", "flat" or "new" from the first to the last point."""
    if len(series) < 2:
        return "new"
    a, b = series[0]["score"], series[-1]["score"]
    return "up" if b > a else "down" if b < a else "flat"
