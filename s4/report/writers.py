"""Output files: findings.json/.csv (schema: findings.schema.json), impact/interop/licences/plans/debt JSON, HTML."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from s4.filemodes import private_dir, private_file, write_private
from s4.report.frontend import vuln_text

SCHEMA_PATH = Path(__file__).with_name("findings.schema.json")

CSV_COLUMNS = [
    "id", "as_of", "host", "service", "public", "scope", "site", "domain", "clients", "product", "kind", "version",
    "raw_version", "cycle", "install_source", "packages", "paths", "status", "engine_status", "support_source", "eol",
    "security_end", "support_end", "days_left", "latest_in_cycle", "releases_behind", "recommended_product",
    "recommended_cycle", "recommended_version", "alternatives", "responsible", "affected_sites", "units", "exposure",
    "debt", "vulns", "gathered_at", "reason", "evidence",
]
IMPACT_CSV_COLUMNS = ["product", "cycle", "status", "support_end", "eol", "versions", "hosts", "services", "units",
                      "sites", "clients", "responsible", "recommended", "findings"]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(v: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula (facts come from managed hosts) gets a leading
    apostrophe. Numbers stay numbers."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    text = str(v)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def findings_csv(findings: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for f in findings:
        rec = f.get("recommended") or {}
        row = dict(f)
        row.update({
            "clients": ";".join(f["clients"]), "packages": ";".join(f["packages"]), "paths": ";".join(f["paths"]),
            "recommended_product": rec.get("product"), "recommended_cycle": rec.get("cycle"),
            "recommended_version": rec.get("version"),
            "alternatives": ";".join(str(a.get("product")) for a in f["alternatives"]),
            "affected_sites": ";".join(f"{a['site']}@{a['host']}" for a in f["affected_sites"]),
            "units": ";".join(f["units"]),
            "vulns": vuln_text(f.get("vulns")),
        })
        w.writerow([_cell(row.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue()


def impact_csv(impact: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(IMPACT_CSV_COLUMNS)
    for g in impact:
        rec = g.get("recommended") or {}
        w.writerow([_cell(x) for x in (
            g["product"], g["cycle"], g["status"], g["support_end"], g["eol"], ";".join(g["versions"]),
            ";".join(g["hosts"]), ";".join(g["services"]), ";".join(g["units"]),
            ";".join(f"{s['site']}@{s['host']}" for s in g["sites"]), ";".join(g["clients"]),
            ";".join(g["responsible"]), f"{rec.get('product')} {rec.get('version') or rec.get('cycle')}" if rec else "",
            g["findings"])])
    return buf.getvalue()


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def findings_document(report: dict[str, Any]) -> dict[str, Any]:
    """The findings.json document (validated by findings.schema.json)."""
    return {"schema": report["schema"], "as_of": report["as_of"], "eol_soon_days": report["eol_soon_days"],
            "summary": report["summary"], "not_gathered": report["not_gathered"], "findings": report["findings"]}


def render_files(report: dict[str, Any]) -> dict[str, str]:
    """Relative path -> content of every output file."""
    from s4.report.render import render_client, render_report

    files = {
        "findings.json": _json(findings_document(report)),
        "findings.csv": findings_csv(report["findings"]),
        "impact.json": _json({"as_of": report["as_of"], "impact": report["impact"]}),
        "impact.csv": impact_csv(report["impact"]),
        "interop.json": _json({"as_of": report["as_of"], "interop": report["interop"]}),
        "licences.json": _json({"as_of": report["as_of"], "eol_soon_days": report["eol_soon_days"],
                                "licences": report["licences"]}),
        "plans.json": _json({"as_of": report["as_of"], "plans": report["plans"]}),
        "debt.json": _json({"as_of": report["as_of"], "debt": report["debt"]}),
        "unversioned.json": _json({"as_of": report["as_of"], "unversioned": report["unversioned"]}),
        "responsible.json": _json({"as_of": report["as_of"], "responsible": {
            party: [f["id"] for f in fs] for party, fs in report["responsible"].items()}}),
        "report.html": render_report(report),
    }
    for client_id in report["clients"]:
        files[f"clients/{client_id}.html"] = render_client(report, client_id)
    return files


def _write_if_changed(path: Path, content: str) -> bool:
    """Write a report file as 0600 in a 0700 directory (reports map EOL software per host and client); an
    unchanged file of an older run is only tightened."""
    data = content.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        private_file(path)
        return False
    private_dir(path.parent)
    write_private(path, data)
    return True


def write_report(report: dict[str, Any], out_dir: str | Path, *, check: bool = False) -> dict[str, Any]:
    """Write every file into ``out_dir`` (only those whose content changed; none in ``check`` mode).

    Client pages of clients no longer in the report are removed. Returns ``files``, ``changed`` and ``removed``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"report directory {out} exists and is not a directory")
    if not check:
        private_dir(out)
    files = render_files(report)
    changed, removed = [], []
    for rel, content in files.items():
        path = out / rel
        if check:
            if not path.is_file() or path.read_bytes() != content.encode("utf-8"):
                changed.append(rel)
        elif _write_if_changed(path, content):
            changed.append(rel)
    stale_dir = out / "clients"
    if stale_dir.is_dir():
        for p in sorted(stale_dir.glob("*.html")):
            rel = f"clients/{p.name}"
            if rel not in files:
                removed.append(rel)
                if not check:
                    p.unlink()
    return {"dir": str(out), "files": sorted(files), "changed": changed, "removed": removed}
