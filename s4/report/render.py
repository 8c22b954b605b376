"""HTML rendering (Jinja2): the fleet report and one self-contained page per client."""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from s4.report import charts, frontend
from s4.report.analysis import needs_action, versions_text, worst
from s4.report.history import trend_direction

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["needs_action"] = needs_action
    env.filters["sparkline"] = lambda series: Markup(charts.sparkline(series or []))
    env.filters["trend"] = lambda series: trend_direction(series or [])
    env.filters["dash"] = lambda v: "-" if v is None or v == "" else v
    return env


def _counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f["status"]] = out.get(f["status"], 0) + 1
    return out


def _product_rows(findings: list[dict[str, Any]]) -> list[tuple[str, dict[str, int]]]:
    products = sorted({f["product"] for f in findings})
    return [(p, _counts([f for f in findings if f["product"] == p])) for p in products]


def _client_rows(findings: list[dict[str, Any]], client_ids: list[str]) -> list[tuple[str, dict[str, int]]]:
    return [(c, _counts([f for f in findings if c in f["clients"]])) for c in client_ids]


def fleet_trend(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Sum of the host scores of each gather run in the trend."""
    totals: dict[tuple[str, int], float] = {}
    for series in report["debt"]["trend"]["hosts"].values():
        for p in series:
            key = (p["date"], int(p["run"]))
            totals[key] = totals.get(key, 0) + int(p["score"])
    return [{"date": d, "run": run, "score": totals[(d, run)]} for d, run in sorted(totals)]


def render_report(report: dict[str, Any]) -> str:
    as_of = _dt.date.fromisoformat(report["as_of"])
    findings = report["findings"]
    client_ids = sorted(report["clients"])
    ctx = {
        "r": report,
        "chart_product": Markup(charts.stacked_bars("chart-status-by-product", "Findings by product and status",
                                                    _product_rows(findings))),
        "chart_client": Markup(charts.stacked_bars("chart-status-by-client", "Findings by client and status",
                                                   _client_rows(findings, client_ids))),
        "chart_trend": Markup(charts.trend_chart("chart-debt-trend", "Fleet technical debt per gather run",
                                                 fleet_trend(report))),
        "chart_timeline": Markup(charts.timeline("chart-eol-timeline", "Support end dates (past year and ahead)",
                                                 report["timeline"], as_of, report["eol_soon_days"])),
    }
    return _env().get_template("report.html.j2").render(**ctx)


def _own(f: dict[str, Any], client_id: str, own_sites: set[tuple[str, str]]) -> dict[str, Any]:
    """A finding as one client may see it: no other client's id or site."""
    g = dict(f)
    g["clients"] = [client_id]
    g["affected_sites"] = [a for a in f["affected_sites"] if (a["host"], a["site"]) in own_sites]
    return g


def grouped(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings merged per (host, site, product, target): a site shipping 30 copies of jQuery is one to-do."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for f in findings:
        rec = f.get("recommended") or {}
        key = (f["host"], f["site"] or "", f["product"], rec.get("product"), rec.get("version") or rec.get("cycle"))
        groups.setdefault(key, []).append(f)
    out = []
    for fs in groups.values():
        first = fs[0]
        ends = [f["support_end"] for f in fs if f.get("support_end")]
        out.append({**first, "status": worst([f["status"] for f in fs]),
                    "version": versions_text([f["version"] for f in fs]),
                    "support_end": min(ends) if ends else None, "copies": len(fs)})
    return out


def client_view(report: dict[str, Any], client_id: str) -> dict[str, Any]:
    """What one client sees: their hosts, sites, findings, their to-dos and Smartt's steps - and nothing that
    names another client or another client's site (shared hosting)."""
    client = report["clients"][client_id]
    own_sites = {(s["host"], s["name"]) for h in report["hosts"] for s in h["sites"] if s.get("client") == client_id}
    findings = [_own(f, client_id, own_sites) for f in report["findings"] if client_id in f["clients"]]
    hosts = sorted({f["host"] for f in findings} | set(client["hosts"]))
    own_prefixes = tuple(f"{h}/{s}#" for h, s in own_sites)

    def visible(step_id: str) -> bool:
        return "/" not in step_id or step_id.startswith(own_prefixes)

    def clean(step: dict[str, Any]) -> dict[str, Any]:
        return {**step, "depends_on": [d for d in step["depends_on"] if visible(d)]}

    site_plans = [p for p in report["plans"]["sites"].values() if p["client"] == client_id]
    host_plans = [report["plans"]["hosts"][h] for h in hosts if h in report["plans"]["hosts"]]
    their_steps = [(p["site"], clean(s)) for p in site_plans for s in p["steps"] if s["responsible"] == "client"]
    provider_steps = ([(p["site"], clean(s)) for p in site_plans for s in p["steps"] if s["responsible"] == "provider"]
                      + [(p["host"], clean(s)) for p in host_plans for s in p["steps"]])
    interop = [{**i, "clients": [client_id],
                "sites": [a for a in i["sites"] if (a["host"], a["site"]) in own_sites]}
               for i in report["interop"] if client_id in i["clients"]]
    return {
        "client": client, "client_id": client_id, "findings": findings,
        "unsupported": [f for f in findings if needs_action(f)],
        "must_do": grouped([f for f in findings if f["responsible"] == "client" and needs_action(f)]),
        "provider_does": grouped([f for f in findings if f["responsible"] == "provider" and needs_action(f)]),
        "their_steps": their_steps, "provider_steps": provider_steps,
        "hosts": [h for h in report["hosts"] if h["name"] in hosts],
        "sites": [s for h in report["hosts"] for s in h["sites"] if s.get("client") == client_id],
        "interop": interop,
        "licences": [lic for lic in report["licences"]
                     if lic.get("client") == client_id or (not lic.get("client") and lic["host"] in hosts)],
        "debt": report["debt"]["clients"].get(client_id, {"score": 0, "by_status": {}}),
        "frontend": frontend.client_rows(findings, needs_action, versions_text), "vuln_source": frontend.source_text(),
        "unversioned": [u for u in report["unversioned"] if client_id in u["clients"]],
        "profiles": sorted({str(h["poc_profile"]["profile"]) for h in report["hosts"]
                            if h["name"] in hosts and h.get("poc_profile")}),
        "trend": report["debt"]["trend"]["clients"].get(client_id, []),
        "not_gathered": [n for n in report["not_gathered"] if client_id in n["clients"]],
        "chart_product": Markup(charts.stacked_bars("chart-status-by-product", "Your software by product and status",
                                                    _product_rows(findings))),
    }


def render_client(report: dict[str, Any], client_id: str) -> str:
    return _env().get_template("client.html.j2").render(r=report, **client_view(report, client_id))
