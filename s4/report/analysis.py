"""Views over the findings: impact lists, interop issues, licences, who must act, uplift plans, debt scores."""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import Any

from s4.report.compat import Compat
from s4.report.findings import DEBT_FORMULA, DEBT_FORMULA_DOC, DEBT_UNIT, STATUS_ORDER
from s4.report.frontend import is_vulnerable
from s4.report.model import HostInput, ReportInputError
from s4.report.util import parse_date, version_key

ACTION_STATUSES = ("eol", "eol-soon", "security-only")
SEVERITY_OF = {"eol": "critical", "eol-soon": "warning", "security-only": "warning"}


def worst(statuses: list[str]) -> str:
    return min(statuses, key=lambda s: STATUS_ORDER.get(s, 9)) if statuses else "unknown"


def needs_action(f: dict[str, Any]) -> bool:
    if is_vulnerable(f):        # a front-end library with a known advisory is upgraded whatever its lifecycle
        return True
    if f["status"] not in ACTION_STATUSES:
        return False
    rec = f.get("recommended") or {}
    same_cycle = rec.get("product") == f["product"] and rec.get("cycle") == f["cycle"]
    return not (f["status"] == "security-only" and same_cycle)


# ---------------------------------------------------------------- impact lists
def impact_lists(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per product/cycle: the hosts, service classes, units, sites and clients that run it."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        groups[(f["product"], f["cycle"] or f["version"] or "?")].append(f)
    out = []
    for (product, cycle), fs in groups.items():
        sites = {(a["host"], a["site"]): a for f in fs for a in f["affected_sites"]}
        rec = next((f["recommended"] for f in fs if f.get("recommended")), None)
        out.append({
            "product": product, "cycle": cycle, "status": worst([f["status"] for f in fs]),
            "kinds": sorted({f["kind"] for f in fs}),
            "eol": min((f["eol"] for f in fs if f.get("eol")), default=None),
            "support_end": min((f["support_end"] for f in fs if f.get("support_end")), default=None),
            "versions": sorted({f["version"] for f in fs}, key=version_key),
            "hosts": sorted({f["host"] for f in fs}),
            "services": sorted({f["service"] for f in fs}),
            "units": sorted({u for f in fs for u in f["units"]}),
            "sites": [sites[k] for k in sorted(sites, key=lambda k: (k[0], k[1] or ""))],
            "clients": sorted({c for f in fs for c in f["clients"]}),
            "responsible": sorted({f["responsible"] for f in fs}),
            "recommended": rec, "findings": len(fs),
        })
    return sorted(out, key=lambda g: (STATUS_ORDER.get(g["status"], 9), g["product"], version_key(g["cycle"])))


# ---------------------------------------------------------------- interop
def _php_target(f: dict[str, Any] | None) -> str | None:
    if not f or not needs_action(f):
        return None
    rec = f.get("recommended") or {}
    if rec.get("product") == "php" and rec.get("cycle") and rec["cycle"] != f["cycle"]:
        return str(rec["cycle"])
    return None


def php_finding_for_site(findings: list[dict[str, Any]], host: str, site: str) -> dict[str, Any] | None:
    for f in findings:
        if f["host"] == host and f["scope"] == "host" and f["product"] == "php" and any(
                a["site"] == site and a["host"] == host for a in f["affected_sites"]):
            return f
    return None


def interop_issues(findings: list[dict[str, Any]], hosts: list[HostInput], compat: Compat) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    in_scope = {h.name for h in hosts}
    # 1. a DB server used by sites on other hosts (or by several clients)
    for f in findings:
        if f["kind"] != "database" or f["scope"] != "host":
            continue
        users = f["affected_sites"]
        other_hosts = sorted({a["host"] for a in users if a["host"] != f["host"]})
        clients = sorted({a["client"] for a in users if a.get("client")})
        if not other_hosts and len(clients) < 2:
            continue
        issues.append({
            "type": "shared-db-server", "severity": SEVERITY_OF.get(f["status"], "info"),
            "host": f["host"], "product": f["product"], "cycle": f["cycle"], "status": f["status"],
            "sites": users, "hosts": sorted({f["host"], *other_hosts}), "clients": clients,
            "summary": (f"{f['product']} {f['cycle']} on {f['host']} serves {len(users)} site(s) on "
                        f"{len(other_hosts)} other host(s) ({', '.join(other_hosts) or 'none'}) for "
                        f"{len(clients)} client(s): an upgrade or restart of it affects all of them; schedule it "
                        "with every client and check each application's database driver/version support."),
        })
    # sites whose DB server is out of scope: the dependency is named without the host
    for h in hosts:
        for s in h.sites:
            db = s.get("db") or {}
            if isinstance(db, dict) and db.get("server") and db["server"] not in in_scope:
                issues.append({
                    "type": "db-server-out-of-scope", "severity": "warning", "host": h.name,
                    "product": db.get("engine"), "cycle": None, "status": "unknown",
                    "sites": [{"host": h.name, "site": s.get("name"), "client": s.get("client")}],
                    "hosts": [h.name], "clients": [s["client"]] if s.get("client") else [],
                    "summary": (f"site {s.get('name')} on {h.name} uses a {db.get('engine')} database on a host "
                                "outside the S4 scope: its lifecycle is not managed or reported here."),
                })
    # 2. one PHP version serving several sites of a host
    for f in findings:
        if f["product"] != "php" or f["scope"] != "host" or len(f["affected_sites"]) < 2:
            continue
        target = _php_target(f)
        issues.append({
            "type": "shared-php-runtime", "severity": SEVERITY_OF.get(f["status"], "info"),
            "host": f["host"], "product": "php", "cycle": f["cycle"], "status": f["status"],
            "sites": f["affected_sites"], "hosts": [f["host"]], "clients": f["clients"],
            "summary": (f"PHP {f['cycle']} FPM on {f['host']} serves {len(f['affected_sites'])} sites of "
                        f"{len(f['clients'])} client(s)" + (
                            f": moving to PHP {target} must be done site by site (a pool per site on the new "
                            "version) or waits for the slowest site's application upgrade." if target else ".")),
        })
    # 3. an application whose supported PHP range blocks the recommended PHP uplift
    for f in findings:
        if f["kind"] != "webapp":
            continue
        pf = php_finding_for_site(findings, f["host"], f["site"])
        target = _php_target(pf)
        rng = compat.php_range(f["product"], f["version"])
        if pf is None or target is None or rng is None or rng.allows(target):
            continue
        need = compat.first_release_supporting(f["product"], target, at_least=f["version"])
        issues.append({
            "type": "app-blocks-php-uplift", "severity": "critical" if pf["status"] == "eol" else "warning",
            "host": f["host"], "product": f["product"], "cycle": f["cycle"], "status": f["status"],
            "sites": f["affected_sites"], "hosts": [f["host"]], "clients": f["clients"],
            "php": {"current": pf["cycle"], "target": target, "app_range": rng.to_dict(), "app_needs": need},
            "summary": (f"{f['product']} {f['version']} on site {f['site']} supports PHP {rng.spec}, "
                        f"so the site cannot move from PHP {pf['cycle']} to {target} until {f['product']} is "
                        f"upgraded to {need or 'a release supporting it'} or later."),
        })
    sev = {"critical": 0, "warning": 1, "info": 2}
    for i, issue in enumerate(sorted(issues, key=lambda x: (sev[x["severity"]], x["type"], x["host"]))):
        issue["id"] = f"I{i + 1}"
    return sorted(issues, key=lambda x: int(x["id"][1:]))


# ---------------------------------------------------------------- licences
def licence_records(hosts: list[HostInput], as_of: _dt.date, soon_days: int) -> list[dict[str, Any]]:
    """Licence and support records that expired or expire within the window (Smartt keeps them up to date)."""
    out = []
    for h in hosts:
        for lic in h.licences:
            try:
                expires = parse_date(lic.get("expires"))
            except ValueError as exc:
                raise ReportInputError([f"host {h.name}: licence {lic.get('product')!r}: expires: {exc}"]) from None
            if expires is None:
                continue
            days = (expires - as_of).days
            if days > soon_days:
                continue
            out.append({
                "host": h.name, "product": lic.get("product"), "kind": lic.get("kind") or "licence",
                "vendor": lic.get("vendor"), "client": lic.get("client"), "expires": expires.isoformat(),
                "days_left": days, "status": "expired" if days < 0 else "expiring",
                "responsible": "provider",
                "responsible_note": "Smartt keeps software licences and support packages up to date",
            })
    return sorted(out, key=lambda r: (r["days_left"], r["host"], r["product"] or ""))


# ---------------------------------------------------------------- who must act
def by_responsible(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"provider": [], "client": []}
    for f in findings:
        if needs_action(f):
            out.setdefault(f["responsible"], []).append(f)
    return out


# ---------------------------------------------------------------- uplift plans
KIND_ORDER = {"os": 1, "database": 2, "cache": 3, "webserver": 4, "runtime": 5, "appserver": 6, "library": 7,
              "webapp": 8, "frontend": 9}


def _target_text(f: dict[str, Any]) -> str:
    rec = f.get("recommended")
    if not rec:
        alts = ", ".join(a["product"] for a in f.get("alternatives") or [] if a.get("product"))
        return "a supported replacement (no supported target known" + (f"; alternatives: {alts})" if alts else ")")
    name = rec.get("product") or f["product"]
    return f"{name} {rec.get('version') or rec.get('cycle')}"


def versions_text(versions: list[str]) -> str:
    """"1.12.4" / "1.7.1, 2.2.4" / "1.7.1 ... 2.2.4 (34 copies)"."""
    vs = sorted(set(versions), key=version_key)
    if len(versions) <= 3 and len(vs) == len(versions):
        return ", ".join(vs)
    if len(vs) == 1:
        return f"{vs[0]} ({len(versions)} copies)"
    return f"{vs[0]} ... {vs[-1]} ({len(versions)} copies)"


def _major_path(frm: str | None, to: str | None) -> list[str]:
    a, b = version_key(frm)[:1], version_key(to)[:1]
    if not a or not b or b[0] <= a[0]:
        return []
    return [str(x) for x in range(a[0], b[0] + 1)]


def _host_step_text(f: dict[str, Any]) -> tuple[str, str]:
    p, cur, tgt = f["product"], f"{f['product']} {f['cycle'] or f['version']}", _target_text(f)
    rec = f.get("recommended") or {}
    if f["kind"] == "os":
        path = _major_path(f["cycle"], rec.get("cycle"))
        hop = " -> ".join(path) if len(path) > 2 else ""
        return (f"Move the OS from {cur} to {tgt}",
                "Build the POC on the new release (or dist-upgrade one major at a time"
                + (f": {hop}" if hop else "") + "); the runtimes and servers below come from the new release.")
    if p == "postgresql":
        major = version_key(rec.get("cycle"))[:1] != version_key(f["cycle"])[:1]
        return (f"Upgrade {cur} to {tgt}",
                "Major upgrade: dump/restore (pg_dumpall from the old cluster into a new cluster, or pg_upgrade), "
                "then compare row counts/checksums and re-run ANALYZE." if major else
                "Minor upgrade: install the package update and restart.")
    if p in ("mariadb", "mysql"):
        return (f"Upgrade {cur} to {tgt}",
                "Take a consistent dump first (mariadb-dump --single-transaction), upgrade the packages, run "
                "mariadb-upgrade (mysql_upgrade), then verify the table checksums.")
    if p == "php":
        return (f"Install {tgt} FPM beside {cur} and move the sites to it pool by pool",
                "Each site moves only after its application supports the new PHP (see the site plans); "
                "remove the old version once no pool uses it.")
    if f["kind"] == "webserver":
        return (f"Upgrade {cur} to {tgt}", "Validate the configuration (nginx -t / apachectl configtest) before reload.")
    if f["kind"] == "cache":
        return (f"Upgrade {cur} to {tgt}", "Caches are rebuilt after restart; persist/flush as the application needs.")
    return (f"Upgrade {cur} to {tgt}", "")


def uplift_plans(findings: list[dict[str, Any]], hosts: list[HostInput], compat: Compat) -> dict[str, Any]:
    """Ordered steps per host (provider side) and per site (client and provider steps) with dependencies."""
    site_plans: dict[str, dict[str, Any]] = {}
    host_php_deps: dict[tuple[str, str], list[str]] = defaultdict(list)   # (host, php cycle) -> site step ids
    domain = next((h.domain for h in hosts if h.domain), None)
    # every site with a finding of its own, and every site that must move to another PHP version
    site_client: dict[tuple[str, str], str | None] = {}
    for f in findings:
        if f["scope"] == "site":
            site_client.setdefault((f["host"], f["site"]), f["clients"][0] if f["clients"] else None)
        elif f["product"] == "php" and _php_target(f):
            for a in f["affected_sites"]:
                if a["host"] == f["host"]:
                    site_client.setdefault((a["host"], a["site"]), a.get("client"))
    for host, site in sorted(site_client, key=lambda k: (k[0], k[1] or "")):
        sf = [f for f in findings if f["host"] == host and f["site"] == site]
        pf = php_finding_for_site(findings, host, site)
        target = _php_target(pf)
        steps: list[dict[str, Any]] = []
        sid = f"{host}/{site}"

        def add(action: str, f: dict[str, Any] | None, responsible: str, notes: str, deps: list[str],
                _steps: list[dict[str, Any]] = steps, _sid: str = sid) -> str:
            step_id = f"{_sid}#{len(_steps) + 1}"
            _steps.append({"id": step_id, "order": len(_steps) + 1, "action": action, "responsible": responsible,
                           "product": f["product"] if f else None,
                           "from": (f["version"] if f else None), "to": (f.get("recommended") or {}).get("version")
                           if f else None, "depends_on": deps, "notes": notes})
            return step_id

        app_steps = []
        for f in sorted(sf, key=lambda x: (KIND_ORDER.get(x["kind"], 99), x["product"])):
            if f["kind"] == "webapp":
                rng = compat.php_range(f["product"], f["version"])
                if target and rng and not rng.allows(target):
                    need = compat.first_release_supporting(f["product"], target, at_least=f["version"])
                    to = f"{need or 'a release supporting PHP ' + target} or later"
                    rec = f.get("recommended") or {}
                    built = compat.php_range(f["product"], str(rec.get("version") or rec.get("cycle") or ""))
                    if rec.get("profile") and built is not None and built.allows(target):
                        # a packaged app the POC's release replaces: the target is the one that release builds
                        to = f"{rec.get('version') or rec.get('cycle')} (what POC profile {rec['profile']} builds)"
                    app_steps.append(add(
                        f"Upgrade {f['product']} {f['version']} to {to} ({f['version']} supports PHP {rng.spec} only)", f,
                        f["responsible"],
                        f"Required before the site can move to PHP {target}. Test it on the POC copy of the site.", []))
                elif needs_action(f):
                    app_steps.append(add(f"Upgrade {f['product']} {f['version']} to {_target_text(f)}", f,
                                         f["responsible"], "Test it on the POC copy of the site.", []))
        # front-end libraries (and anything else found in the docroot): one step per product and target,
        # however many copies the site ships
        others: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for f in sf:
            if f["kind"] != "webapp" and needs_action(f):
                label = "front-end library" if f["kind"] in ("frontend", "library") else f["kind"]
                others[(label, f["product"], _target_text(f), f["responsible"])].append(f)
        for (label, product, target_text, responsible), fs in sorted(others.items()):
            versions = versions_text([f["version"] for f in fs])
            paths = sorted({p for f in fs for p in f["paths"]})
            note = "Check the site's scripts/plugins against the new API."
            if len(fs) > 1:
                note += f" Copies: {', '.join(paths[:5])}{' ...' if len(paths) > 5 else ''}."
            add(f"Upgrade {label} {product} {versions} to {target_text}", fs[0], responsible, note, [])
            steps[-1]["from"] = versions
        if target and pf is not None:
            php_step = add(f"Move the site from PHP {pf['cycle']} to PHP {target}", pf, "provider",
                           "Switch the site's FPM pool/socket to the new version on the POC, then in production.",
                           list(app_steps))
            host_php_deps[(host, pf["cycle"])].append(php_step)
        if steps:
            poc = f"{site}.poc.{domain}" if domain else "a POC copy"
            add("Test the site on its POC, then go live", None, "client",
                f"Smartt provides the POC ({poc}) at no cost; the client tests and approves go-live.",
                [s["id"] for s in steps])
            site_plans[sid] = {"host": host, "site": site, "client": site_client[(host, site)], "steps": steps}
    host_plans: dict[str, dict[str, Any]] = {}
    for h in hosts:
        hf = [f for f in findings if f["host"] == h.name and f["responsible"] == "provider" and needs_action(f)
              and (f["scope"] == "host" or f["kind"] == "webapp")]
        if not hf:
            continue
        steps = []
        poc_id = f"{h.name}#1"
        profile = next((f["recommended"]["profile"] for f in hf if (f.get("recommended") or {}).get("profile")), None)
        steps.append({"id": poc_id, "order": 1, "action": f"Provision a POC of {h.name} and migrate its data"
                      + (f" (POC profile {profile})" if profile else ""),
                      "responsible": "provider", "product": None, "from": None, "to": None, "depends_on": [],
                      "notes": "Clone, copy all client data and databases, record a data manifest (no cost to clients)."})
        os_id = None
        for f in sorted(hf, key=lambda x: (KIND_ORDER.get(x["kind"], 99), x["product"], version_key(x["version"]))):
            action, notes = _host_step_text(f)
            deps = [poc_id]
            if os_id and f["kind"] != "os":
                deps.append(os_id)
            if f["product"] == "php":
                deps += host_php_deps.get((h.name, f["cycle"]), [])
            if f["kind"] == "database":
                users = [a for a in f["affected_sites"] if a["host"] != h.name]
                if users:
                    notes += " Also used by " + ", ".join(f"{a['site']} on {a['host']}" for a in users) + "."
            step = {"id": f"{h.name}#{len(steps) + 1}", "order": len(steps) + 1, "action": action,
                    "responsible": "provider", "product": f["product"], "from": f["version"],
                    "to": (f.get("recommended") or {}).get("version"), "depends_on": deps, "notes": notes.strip()}
            steps.append(step)
            if f["kind"] == "os":
                os_id = step["id"]
        steps.append({"id": f"{h.name}#{len(steps) + 1}", "order": len(steps) + 1,
                      "action": "Verify configuration, interop and data integrity on the POC, then go live",
                      "responsible": "provider", "product": None, "from": None, "to": None,
                      "depends_on": [s["id"] for s in steps],
                      "notes": "Compare the data manifest (files + DB checksums) before switching."})
        host_plans[h.name] = {"host": h.name, "service": h.service, "steps": steps}
    return {"hosts": host_plans, "sites": site_plans}


# ---------------------------------------------------------------- debt
def debt_scores(findings: list[dict[str, Any]], hosts: list[HostInput]) -> dict[str, Any]:
    """Debt per host (all its findings) and per client (findings whose clients include it)."""
    host_scores = {}
    for h in hosts:
        if h.facts is None:
            continue
        fs = [f for f in findings if f["host"] == h.name]
        host_scores[h.name] = {"score": int(sum(f["debt"] for f in fs)),
                               "by_status": {s: sum(1 for f in fs if f["status"] == s) for s in STATUS_ORDER},
                               "public": h.public}
    client_ids = sorted({c for h in hosts for c in h.client_ids} | {c for f in findings for c in f["clients"]})
    client_scores = {}
    for c in client_ids:
        fs = [f for f in findings if c in f["clients"]]
        client_scores[c] = {"score": int(sum(f["debt"] for f in fs)),
                            "by_status": {s: sum(1 for f in fs if f["status"] == s) for s in STATUS_ORDER}}
    return {"unit": DEBT_UNIT, "formula": DEBT_FORMULA, "formula_doc": DEBT_FORMULA_DOC,
            "hosts": host_scores, "clients": client_scores}


def summary(findings: list[dict[str, Any]], hosts: list[HostInput], not_gathered: list[dict[str, Any]],
            issues: list[dict[str, Any]], licences: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "hosts_in_scope": len(hosts), "hosts_gathered": len(hosts) - len(not_gathered),
        "hosts_not_gathered": len(not_gathered), "findings": len(findings),
        "by_status": {s: sum(1 for f in findings if f["status"] == s) for s in STATUS_ORDER},
        "by_responsible": {r: sum(1 for f in findings if f["responsible"] == r and needs_action(f))
                           for r in ("provider", "client")},
        "sites": len({(f["host"], f["site"]) for f in findings if f["site"]}),
        "clients": len({c for h in hosts for c in h.client_ids}),
        "interop_issues": len(issues), "licences_expiring": len(licences),
    }


def upcoming_eol(findings: list[dict[str, Any]], as_of: _dt.date, horizon_days: int,
                 past_days: int = 365) -> list[dict[str, Any]]:
    """Support ends (product, cycle, date, hosts) from ``past_days`` before ``as_of`` to ``horizon_days`` after."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for f in findings:
        end = f.get("support_end") or f.get("eol")
        if not end:
            continue
        d = parse_date(end)
        if d is None or d > as_of + _dt.timedelta(days=horizon_days) or d < as_of - _dt.timedelta(days=past_days):
            continue
        key = (f["product"], str(f["cycle"]), d.isoformat())
        e = seen.setdefault(key, {"product": f["product"], "cycle": f["cycle"], "date": d.isoformat(),
                                  "days_left": (d - as_of).days, "status": f["status"], "hosts": set()})
        e["hosts"].add(f["host"])
    out = []
    for e in seen.values():
        e["hosts"] = sorted(e["hosts"])
        out.append(e)
    return sorted(out, key=lambda e: (e["date"], e["product"]))


__all__ = ["by_responsible", "debt_scores", "impact_lists", "interop_issues", "licence_records", "summary",
           "upcoming_eol", "uplift_plans"]
