"""Front-end libraries in the report: a vulnerability verdict next to the lifecycle verdict (issue #15 section 3).

Every ``frontend`` finding (a library discovery found in a site's docroot) carries ``vulns``, the verdict of
:mod:`s4.lifecycle.vulns` (Retire.js facts): ``status`` (vulnerable / none-known / unknown), the highest
``severity``, the advisory ``ids`` (CVE, GHSA, else Retire.js/upstream references), the first fixed version and
the advisories themselves (links stay in the JSON: the HTML pages name no URL). Other findings carry
``vulns: null``.

The recommended target of a vulnerable library is never a version with a known advisory: when the lifecycle
engine has no target (lodash, moment, underscore have no lifecycle data) it is the first fixed version; when the
engine's target is itself affected it is raised to the first fixed version above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from s4.lifecycle import vulns as _vulns

FRONTEND_KINDS = frozenset({"frontend"})
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "unknown": 4}


def _db() -> _vulns.VulnDB:
    return _vulns.default_db()


def source_text() -> str:
    """The imported snapshot, e.g. ``Retire.js fd8df0d6f1 (2026-08-22)``."""
    return _db().source_text


def verdict(kind: str, product: str, version: str | None) -> dict[str, Any] | None:
    """The ``vulns`` field of a finding (None for anything but a front-end library)."""
    if kind not in FRONTEND_KINDS:
        return None
    return compact(_db().check(product, version))


def compact(v: _vulns.VulnVerdict) -> dict[str, Any]:
    return {
        "status": v.status,
        "severity": v.severity,
        "count": len(v.advisories),
        "ids": v.ids,
        "fixed_version": v.fixed_version,
        "fixed_note": v.fixed_note,
        "reason": v.reason,
        "source": v.source,
        "advisories": [{"ids": a.ids, "severity": a.severity, "summary": a.summary, "range": a.range_text,
                        "end_of_life": a.end_of_life, "link": a.links[0] if a.links else None}
                       for a in sorted(v.advisories, key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), a.ids))],
    }


def is_vulnerable(finding: dict[str, Any]) -> bool:
    return ((finding.get("vulns") or {}).get("status")) == _vulns.VULNERABLE


def severity(vulns: dict[str, Any] | None) -> str | None:
    """The worst advisory's severity of a known-vulnerable library (``unknown`` when unrated); None otherwise.
    What the debt score weighs (s4.report.findings.debt_points, docs/DEBT.md)."""
    if not vulns or vulns.get("status") != _vulns.VULNERABLE:
        return None
    return str(vulns.get("severity") or "unknown")


def target(rec: dict[str, Any] | None, vulns: dict[str, Any] | None, product: str) -> dict[str, Any] | None:
    """The finding's recommended target, moved past the known advisories of a vulnerable front-end library."""
    if not vulns or vulns.get("status") != _vulns.VULNERABLE:
        return rec
    fixed = vulns.get("fixed_version")
    src = vulns.get("source") or "Retire.js"
    if rec and rec.get("product") not in (None, product):
        return rec                      # a replacement product (alternatives): its own verdict applies
    if rec and rec.get("version"):
        rv = _db().check(product, str(rec["version"]))
        if rv.status != _vulns.VULNERABLE:
            return rec
        if fixed and _vulns.is_above(fixed, str(rec["version"])):
            return {**rec, "version": fixed, "reason": f"{rec.get('reason') or ''}; raised to {fixed}: "
                    f"{rec['version']} has known advisories ({', '.join(rv.ids[:4])}) in {src}".lstrip("; ")}
        return {**rec, "reason": f"{rec.get('reason') or ''}; {rec['version']} still has known advisories "
                f"({', '.join(rv.ids[:4])}) in {src}".lstrip("; ")}
    if fixed:
        return {**(rec or {}), "product": product, "cycle": ".".join(fixed.split(".")[:2]), "version": fixed, "eol": None,
                "basis": "vulnerabilities", "reason": f"first release without a known advisory in {src}"}
    return rec


def upgrade_text(f: dict[str, Any], needs_action: Callable[[dict[str, Any]], bool] | None = None) -> str:
    """What the client upgrades a front-end library to (plain text for the client page); "" when nothing is to do
    (no known advisory and, by ``needs_action``, no lifecycle reason either)."""
    v = f.get("vulns") or {}
    rec = f.get("recommended") or {}
    rec_text = f"{rec.get('product') or f['product']} {rec.get('version') or rec.get('cycle')}" if rec else ""
    if v.get("status") == _vulns.VULNERABLE:
        fixed = v.get("fixed_version")
        if not fixed:
            return (f"{v.get('fixed_note') or 'no fixed version exists'}" +
                    (f"; recommended: {rec_text}" if rec_text and rec.get("product") != f["product"] else ""))
        if rec_text and rec.get("version") and rec.get("version") != fixed:
            return f"{rec_text} (first release without a known advisory: {fixed})"
        return f"{f['product']} {fixed} or later (first release without a known advisory)"
    if needs_action is not None and not needs_action(f):
        return ""
    return rec_text


def vuln_text(vulns: dict[str, Any] | None) -> str:
    """One CSV cell: ``high: CVE-2021-23337, GHSA-35jh-r3h4-6jhm ...; fixed in 4.18.0``."""
    if not vulns:
        return ""
    if vulns.get("status") != _vulns.VULNERABLE:
        return str(vulns.get("status") or "")
    fixed = vulns.get("fixed_version")
    return (f"{vulns.get('severity')}: {', '.join(vulns.get('ids') or [])}; "
            + (f"fixed in {fixed}" if fixed else "no fixed version"))


def client_rows(findings: list[dict[str, Any]],
                needs_action: Callable[[dict[str, Any]], bool] | None = None,
                versions_text: Callable[[list[str]], str] | None = None) -> list[dict[str, Any]]:
    """The client page's front-end section, worst first: one row per site, library and advice (a site shipping 34
    copies of jQuery 1.x with the same advice is one row: its versions, the union of their advisories)."""
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for f in findings:
        if f.get("kind") not in FRONTEND_KINDS:
            continue
        v = f.get("vulns") or {}
        row = {**f, "upgrade": upgrade_text(f, needs_action), "vuln_status": v.get("status") or _vulns.UNKNOWN}
        groups.setdefault((f["host"], f.get("site") or "", f["product"], row["upgrade"]), []).append(row)
    rows = [_merge(rs, versions_text) for rs in groups.values()]
    order = {_vulns.VULNERABLE: 0, _vulns.UNKNOWN: 1, _vulns.NONE_KNOWN: 2}
    return sorted(rows, key=lambda r: (order.get(r["vuln_status"], 9),
                                       SEVERITY_ORDER.get((r.get("vulns") or {}).get("severity") or "", 9),
                                       r["host"], r.get("site") or "", r["product"], r["version"]))


_LIFECYCLE_ORDER = {"eol": 0, "eol-soon": 1, "security-only": 2, "unknown": 3, "supported": 4}


def _merge(rows: list[dict[str, Any]], versions_text: Callable[[list[str]], str] | None) -> dict[str, Any]:
    if len(rows) == 1:
        return rows[0]
    first = rows[0]
    versions = [r["version"] for r in rows]
    vuln = [r["vulns"] for r in rows if (r.get("vulns") or {}).get("status") == _vulns.VULNERABLE]
    merged = {**first, "version": versions_text(versions) if versions_text else ", ".join(versions),
              "status": min((r["status"] for r in rows), key=lambda s: _LIFECYCLE_ORDER.get(s, 9)),
              "paths": sorted({p for r in rows for p in r.get("paths") or []}), "copies": len(rows),
              "debt": sum(int(r.get("debt") or 0) for r in rows)}
    if vuln:
        advisories: dict[tuple[str, ...], dict[str, Any]] = {}
        for v in vuln:
            for a in v["advisories"]:
                advisories.setdefault((*a["ids"], a["range"]), a)
        advs = sorted(advisories.values(), key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9), a["ids"]))
        ids = list(dict.fromkeys(i for a in advs for i in a["ids"]))
        merged["vulns"] = {**vuln[0], "advisories": advs, "count": len(advs), "ids": ids,
                           "severity": min((v["severity"] for v in vuln), key=lambda s: SEVERITY_ORDER.get(s, 9))}
        merged["vuln_status"] = _vulns.VULNERABLE
    return merged
