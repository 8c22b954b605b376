"""Fleet EOL report: findings from gathered facts + CMDB hostvars + the lifecycle engine, rendered as HTML/CSV/JSON.

Typical use (the ``smartt.s4.eol_report`` module does exactly this)::

    from s4.report import build_report, write_report
    report = build_report(hostvars_list, as_of=date(2026, 11, 27), history_db=".cache/s4/history.sqlite")
    write_report(report, "reports/eol/2026-11-27")

See ``s4/report/README.md`` for the output files and the findings schema.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from s4.report import analysis
from s4.report.compat import Compat
from s4.report.findings import EngineLike, build_findings, unversioned_components
from s4.report.history import debt_trend
from s4.report.model import HostInput, ReportInputError, normalise_hosts
from s4.report.targets import poc_stack
from s4.report.writers import write_report

REPORT_SCHEMA = 1

__all__ = ["REPORT_SCHEMA", "ReportInputError", "build_report", "default_engine", "write_report"]


def default_engine() -> EngineLike:
    """The lifecycle engine on the committed catalog (``s4.lifecycle.Engine.load_default()``)."""
    from s4.lifecycle import Engine  # type: ignore[attr-defined,unused-ignore]

    engine: EngineLike = Engine.load_default()
    return engine


STALE_FACTS_DAYS = 30


def _age_days(gathered_at: Any, as_of: _dt.date) -> int | None:
    try:
        d = _dt.date.fromisoformat(str(gathered_at)[:10])
    except ValueError:
        return None
    return (as_of - d).days


def _hosts_view(hosts: list[HostInput], as_of: _dt.date, engine: EngineLike) -> list[dict[str, Any]]:
    out = []
    for h in hosts:
        facts = h.facts or {}
        age = _age_days(facts.get("gathered_at"), as_of) if facts else None
        os_ = facts.get("os") if isinstance(facts.get("os"), dict) else {}
        by_name = {str(s.get("name")): s for s in facts.get("sites") or [] if isinstance(s, dict)}
        names = list(dict.fromkeys([str(s.get("name")) for s in h.sites] + list(by_name)))
        cm = {str(s.get("name")): s for s in h.sites}
        sites = []
        for n in names:
            fs, c = by_name.get(n, {}), cm.get(n, {})
            php = fs.get("php") if isinstance(fs.get("php"), dict) else None
            sites.append({"name": n, "host": h.name, "client": fs.get("client") or c.get("client"),
                          "domain": fs.get("domain") or c.get("domain"),
                          "apps": [f"{a.get('product')} {a.get('version') or ''}".strip()
                                   for a in fs.get("apps") or [] if isinstance(a, dict)],
                          "php": php.get("version") if php else None,
                          "db": c.get("db"), "discovered": bool(fs)})
        out.append({"name": h.name, "service": h.service, "public": h.public, "clients": h.client_ids,
                    "gathered": h.facts is not None, "gathered_at": facts.get("gathered_at"),
                    "facts_age_days": age, "stale": age is not None and age > STALE_FACTS_DAYS,
                    "os": (os_ or {}).get("pretty"), "distro": facts.get("distro"), "sites": sites,
                    "poc_profile": poc_stack(engine, facts, as_of) if h.facts is not None else None,
                    "warnings": [str(w) for w in facts.get("warnings") or []]})
    return out


def build_report(raw_hosts: list[dict[str, Any]], *, engine: EngineLike | None = None,
                 as_of: _dt.date | str | None = None, eol_soon_days: int = 180,
                 history_db: str | Path | None = None, history_limit: int = 12,
                 compat: Compat | None = None) -> dict[str, Any]:
    """Build the whole report model (a JSON-safe dict) for the given in-scope hosts' hostvars."""
    if isinstance(as_of, str):
        try:
            as_of = _dt.date.fromisoformat(as_of)
        except ValueError:
            raise ReportInputError([f"as_of must be a date YYYY-MM-DD, got {as_of!r}"]) from None
    as_of = as_of or _dt.datetime.now(_dt.UTC).date()
    if not isinstance(eol_soon_days, int) or isinstance(eol_soon_days, bool) or eol_soon_days < 0:
        raise ReportInputError([f"eol_soon_days must be a non-negative integer, got {eol_soon_days!r}"])
    hosts = normalise_hosts(raw_hosts)
    engine = engine or default_engine()
    compat = compat or Compat.from_engine(engine)
    findings, not_gathered = build_findings(hosts, engine, as_of, eol_soon_days)
    issues = analysis.interop_issues(findings, hosts, compat)
    licences = analysis.licence_records(hosts, as_of, eol_soon_days)
    debt = analysis.debt_scores(findings, hosts)
    debt["trend"] = debt_trend(history_db, hosts, engine, as_of, eol_soon_days, history_limit)
    hosts_view = _hosts_view(hosts, as_of, engine)
    clients: dict[str, dict[str, Any]] = {}
    for h in hosts:
        for c in h.clients:
            entry = clients.setdefault(str(c["id"]), {"name": c.get("name") or c["id"],
                                                      "contacts": list(c.get("contacts") or []),
                                                      "hosts": [], "sites": []})
            entry["hosts"].append(h.name)
    for hv in hosts_view:
        for s in hv["sites"]:
            if s["client"] in clients:
                clients[s["client"]]["sites"].append(f"{s['name']}@{hv['name']}")
    return {
        "schema": REPORT_SCHEMA,
        "as_of": as_of.isoformat(),
        "eol_soon_days": eol_soon_days,
        "domain": next((h.domain for h in hosts if h.domain), None),
        "summary": analysis.summary(findings, hosts, not_gathered, issues, licences),
        "hosts": hosts_view,
        "clients": dict(sorted(clients.items())),
        "not_gathered": not_gathered,
        "findings": findings,
        "unversioned": unversioned_components(hosts),
        "responsible": analysis.by_responsible(findings),
        "impact": analysis.impact_lists(findings),
        "interop": issues,
        "licences": licences,
        "plans": analysis.uplift_plans(findings, hosts, compat),
        "debt": debt,
        "timeline": analysis.upcoming_eol(findings, as_of, max(eol_soon_days, 730)),
    }
