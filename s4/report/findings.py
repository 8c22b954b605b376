"""Findings: one lifecycle verdict per component found on an in-scope host or in one of its sites.

Everything here is derived from the gathered facts, the CMDB hostvars and the lifecycle engine; the only
policy encoded is who must act (the seed's provider/client split), the eol-soon window and the debt weights.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from s4.report.frontend import severity as frontend_severity
from s4.report.frontend import target as frontend_target
from s4.report.frontend import verdict as frontend_verdict
from s4.report.model import HostInput
from s4.report.targets import poc_stack, profile_target, same_os
from s4.report.util import cycle_of, version_key

# exposure: on a public host these face the internet directly
EXPOSED_KINDS = frozenset({"os", "webserver", "runtime", "appserver", "library", "webapp", "frontend"})
EXPOSURE_PUBLIC = 2.0
EXPOSURE_PUBLIC_BACKEND = 1.25
EXPOSURE_PRIVATE = 1.0
# debt base points per status; eol grows with time past EOL (capped at 3 years)
DEBT_EOL_BASE = 10.0
DEBT_EOL_CAP_DAYS = 1095
DEBT_EOL_SOON = 4.0
DEBT_SECURITY_ONLY = 1.0
# debt base points of a front-end library with known vulnerabilities (Retire.js), by its worst advisory's severity;
# the finding takes the higher of these and its status points (a known critical weighs as much as an EOL release)
DEBT_VULN = {"critical": 10.0, "high": 6.0, "medium": 3.0, "low": 1.0}
DEBT_VULN_UNRATED = 3.0

DB_PRODUCTS = {"mariadb": ("mariadb",), "mysql": ("mysql", "mariadb"), "postgresql": ("postgresql",)}
PACKAGED_APP_PREFIXES = ("/usr/share/", "/usr/lib/", "/var/lib/", "/etc/")

NOTE_PROVIDER = "Smartt uplifts it: server-side software Smartt manages"
NOTE_PROVIDER_PACKAGED = "Smartt uplifts it: installed and managed by Smartt as a distro package"
NOTE_INTERNAL = "Smartt uplifts it: internal Smartt asset"
NOTE_CLIENT = "The client upgrades it (web application / front-end component they manage), or asks Smartt to on a T&M basis"


class Verdict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class EngineLike(Protocol):
    """The part of ``s4.lifecycle.Engine`` (docs/CONTRACTS.md §2) the report uses."""

    def evaluate(self, product: str, version: str, *, distro: str | None = ..., as_of: _dt.date | None = ...) -> Any: ...


_ACCEPTS: dict[tuple[type, str], bool] = {}


def _resolver(engine: EngineLike) -> Callable[[str], str | None]:
    """The engine's one product resolver (``Engine.resolve``: ``apache2``/``httpd`` -> ``apache-http-server``),
    memoised for one run. An engine without it (only the §2 ``evaluate`` contract) compares names as found."""
    resolve = getattr(engine, "resolve", None)
    memo: dict[str, str | None] = {}

    def one(name: str) -> str | None:
        if name not in memo:
            if not callable(resolve):
                memo[name] = name
            else:
                try:
                    out = resolve(name)
                except (TypeError, ValueError):
                    out = None
                memo[name] = out if isinstance(out, str) else None
        return memo[name]
    return one


def _accepts(engine: EngineLike, name: str) -> bool:
    """Whether ``engine.evaluate`` takes keyword ``name`` (memoised per engine class)."""
    key = (type(engine), name)
    if key not in _ACCEPTS:
        try:
            params = inspect.signature(engine.evaluate).parameters
        except (TypeError, ValueError):
            _ACCEPTS[key] = False
        else:
            _ACCEPTS[key] = name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return _ACCEPTS[key]


def _verdict(engine: EngineLike, product: str, version: str, distro: str | None, as_of: _dt.date, *,
             packaged: bool | None, soon_days: int, target_distro: str | None = None,
             origin: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"distro": distro, "as_of": as_of}
    if target_distro and _accepts(engine, "target_distro"):
        kwargs["target_distro"] = target_distro
    # optional keywords of s4.lifecycle.Engine beyond the §2 contract: say what discovery knows, use our window
    if _accepts(engine, "packaged"):
        kwargs["packaged"] = packaged
    if origin and _accepts(engine, "origin"):   # the package db's origin: whose archive the package came from
        kwargs["origin"] = origin
    if _accepts(engine, "eol_soon_days"):
        kwargs["eol_soon_days"] = soon_days
    try:
        v = engine.evaluate(product, version, **kwargs)
    except (ValueError, KeyError, LookupError) as exc:
        return {"status": "unknown", "reason": f"lifecycle engine: {exc}"}
    d = v.to_dict() if hasattr(v, "to_dict") else dict(v)
    rec = d.get("recommended")
    if rec is not None and not isinstance(rec, dict):
        rec = rec.to_dict() if hasattr(rec, "to_dict") else {k: getattr(rec, k, None) for k in
                                                              ("product", "cycle", "version", "eol", "reason")}
        d["recommended"] = rec
    for key in ("eol", "security_end", "support_end"):
        if isinstance(d.get(key), _dt.date):
            d[key] = d[key].isoformat()
    if isinstance(d.get("recommended"), dict) and isinstance(d["recommended"].get("eol"), _dt.date):
        d["recommended"]["eol"] = d["recommended"]["eol"].isoformat()
    return d


def _short_target(engine: EngineLike, product: str, distro: str | None, as_of: _dt.date,
                  current: str) -> dict[str, Any] | None:
    """When the engine finds no target supported long enough (its ``min_months``), the newest release still
    supported at all is better advice than none: ask ``Engine.recommend(..., min_months=0)`` when it exists."""
    recommend = getattr(engine, "recommend", None)
    if recommend is None:
        return None
    try:
        params = inspect.signature(recommend).parameters
    except (TypeError, ValueError):
        return None
    if "min_months" not in params:
        return None
    r = None
    for months in (12, 6, 3, 0):        # the longest-lived target that exists
        kwargs: dict[str, Any] = {"distro": distro, "as_of": as_of, "min_months": months}
        if "current" in params:
            kwargs["current"] = current
        try:
            r = recommend(product, **kwargs)
        except (ValueError, KeyError, LookupError):
            return None
        if r is not None:
            break
    if r is None:
        return None
    d = r.to_dict() if hasattr(r, "to_dict") else dict(r)
    eol = d.get("eol")
    d["eol"] = eol.isoformat() if isinstance(eol, _dt.date) else eol
    d["reason"] = f"{d.get('reason') or product}; shorter support than the usual minimum: plan the next uplift too"
    return d


RECOMMENDED_KEYS = ("product", "cycle", "version", "eol", "reason", "profile", "basis")


def _stack_target(engine: EngineLike, stack: dict[str, Any], product: str, as_of: _dt.date,
                  soon_days: int) -> dict[str, Any] | None:
    """The target the host's POC profile builds for ``product`` (None: the POC does not install it)."""
    def verdict(e: EngineLike, p: str, cycle: str, distro: str, day: _dt.date) -> dict[str, Any]:
        return _verdict(e, p, cycle, distro, day, packaged=True, soon_days=soon_days)

    return profile_target(engine, stack, product, as_of, verdict)


def judge_status(engine_status: str | None, days_left: int | None, soon_days: int) -> str:
    """The report status: the engine's, moved to eol-soon when support ends within the report window."""
    status = engine_status or "unknown"
    if status in ("supported", "security-only") and days_left is not None and 0 <= days_left <= soon_days:
        return "eol-soon"
    return status


def exposure_of(kind: str, public: bool) -> float:
    if not public:
        return EXPOSURE_PRIVATE
    return EXPOSURE_PUBLIC if kind in EXPOSED_KINDS else EXPOSURE_PUBLIC_BACKEND


DEBT_UNIT = "debt points"
DEBT_FORMULA_DOC = "docs/DEBT.md"
DEBT_FORMULA = ("per finding: status points (eol 10, growing linearly to 40 at three years past the end of "
                "support; eol-soon 4; security-only 1; supported and unknown 0), or, for a front-end library with "
                "known vulnerabilities (Retire.js), the points of its worst advisory when higher (critical 10, "
                "high 6, medium 3, low 1, unrated 3), x exposure (2 for an OS, web server, runtime, app server, "
                "library, web app or front-end library on a public host; 1.25 for other software on a public host; "
                "1 on a non-public host), rounded to a whole number; a host's or client's score is the sum over its "
                "findings")


def debt_points(status: str, days_left: int | None, exposure: float, vuln_severity: str | None = None) -> int:
    """Technical-debt points of one finding, a whole number (formula: DEBT_FORMULA, docs/DEBT.md).

    ``vuln_severity``: the worst advisory's severity of a front-end library with known vulnerabilities (None: no
    known vulnerability, or not a front-end library)."""
    if status == "eol":
        past = max(0, -(days_left or 0))
        base = DEBT_EOL_BASE * (1 + min(past, DEBT_EOL_CAP_DAYS) / 365)
    elif status == "eol-soon":
        base = DEBT_EOL_SOON
    elif status == "security-only":
        base = DEBT_SECURITY_ONLY
    else:
        base = 0.0
    if vuln_severity is not None:
        base = max(base, DEBT_VULN.get(vuln_severity, DEBT_VULN_UNRATED))
    return int(base * exposure + 0.5)    # half up: 1.25 -> 1, 2.5 -> 3


def _under(path: str | None, root: str | None) -> bool:
    if not path or not root:
        return False
    root = root.rstrip("/")
    return path == root or path.startswith(root + "/")


def _finding_id(*parts: Any) -> str:
    return hashlib.sha1("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:16]


class _HostView:
    """Sites of one host merged from facts (what runs) and CMDB (who owns it, which DB it uses)."""

    def __init__(self, host: HostInput, all_hosts: Iterable[HostInput],
                 resolve: Callable[[str], str | None] | None = None) -> None:
        facts = host.facts or {}
        self.host = host
        self.resolve: Callable[[str], str | None] = resolve or (lambda name: name)
        self.cmdb_sites = {str(s.get("name")): s for s in host.sites}
        self.sites: list[dict[str, Any]] = []
        seen = set()
        for fs in facts.get("sites") or []:
            if not isinstance(fs, dict):
                continue
            name = str(fs.get("name") or fs.get("domain") or "?")
            cm = self.cmdb_sites.get(name, {})
            seen.add(name)
            self.sites.append({
                "name": name, "client": fs.get("client") or cm.get("client"),
                "domain": fs.get("domain") or cm.get("domain"),
                "docroot": fs.get("docroot") or cm.get("docroot"),
                "server": fs.get("server"), "php": fs.get("php") if isinstance(fs.get("php"), dict) else None,
                "apps": [a for a in fs.get("apps") or [] if isinstance(a, dict)],
                "libraries": [lib for lib in fs.get("libraries") or [] if isinstance(lib, dict)],
                "db": cm.get("db"), "in_cmdb": bool(cm), "discovered": True,
            })
        for name, cm in self.cmdb_sites.items():
            if name not in seen:
                self.sites.append({
                    "name": name, "client": cm.get("client"), "domain": cm.get("domain"),
                    "docroot": cm.get("docroot"), "server": None, "php": None, "apps": [], "libraries": [],
                    "db": cm.get("db"), "in_cmdb": True, "discovered": False,
                })
        # sites on any in-scope host whose database lives on this host
        self.db_clients: list[dict[str, Any]] = []
        for other in all_hosts:
            for s in other.sites:
                db = s.get("db") or {}
                if isinstance(db, dict) and db.get("server") == host.name:
                    self.db_clients.append({"host": other.name, "site": s.get("name"), "client": s.get("client"),
                                            "engine": db.get("engine"), "db": db.get("name")})
        pkgs = [p for p in facts.get("packages") or [] if isinstance(p, dict) and p.get("name")]
        self.packages = {str(p["name"]) for p in pkgs}
        self.origins = {str(p["name"]): str(p["origin"]) for p in pkgs if p.get("origin")}
        self.manager = str(next((p.get("manager") for p in pkgs if p.get("manager")), "package"))

    def packages_of(self, product: str) -> list[str]:
        return sorted(p for p in self.packages if p == product or p.startswith(product + "-"))

    def packaged_app(self, product: str, path: str | None) -> bool:
        """A web app installed by the provider from a distro package (e.g. Debian's wordpress, roundcube,
        phpmyadmin under /usr/share): it lives in a system path and, when the package list was gathered, a package
        of that name is installed."""
        if not str(path or "").startswith(PACKAGED_APP_PREFIXES):
            return False
        return not self.packages or bool(self.packages_of(product))

    def site_of_path(self, path: str | None) -> dict[str, Any] | None:
        for s in self.sites:
            if _under(path, s.get("docroot")):
                return s
        return None

    def affected_sites(self, product: str, kind: str, cycle: str | None) -> list[dict[str, Any]]:
        """Sites that depend on a host-level component."""
        name = self.host.name
        if kind == "runtime" and product == "php":
            return [{"host": name, "site": s["name"], "client": s["client"]} for s in self.sites
                    if s["php"] and cycle and cycle_of(str(s["php"].get("version"))) == cycle]
        if kind == "webserver":   # the site's server as discovery names it (apache2, httpd) through the resolver
            want = self.resolve(product) or product
            return [{"host": name, "site": s["name"], "client": s["client"]} for s in self.sites
                    if isinstance(s.get("server"), str) and s["server"] and self.resolve(s["server"]) == want]
        if kind == "database":
            return [{"host": d["host"], "site": d["site"], "client": d["client"]} for d in self.db_clients
                    if product in DB_PRODUCTS.get(str(d.get("engine")), ())]
        if kind in ("os", "library"):
            return [{"host": name, "site": s["name"], "client": s["client"]} for s in self.sites]
        return []


def _os_component(facts: dict[str, Any]) -> dict[str, Any] | None:
    os_ = facts.get("os")
    if not isinstance(os_, dict) or not os_.get("id"):
        return None
    return {"product": str(os_["id"]), "version": str(os_.get("version_full") or os_.get("version") or ""),
            "raw_version": os_.get("version_full") or os_.get("version"), "kind": "os", "source": "os-release",
            "package": None, "path": "/etc/os-release", "evidence": f"os-release: {os_.get('pretty') or os_['id']}"}


def host_findings(host: HostInput, all_hosts: list[HostInput], engine: EngineLike, as_of: _dt.date,
                  soon_days: int) -> list[dict[str, Any]]:
    """All findings of one gathered host (host-level components, then each site's apps and libraries)."""
    facts = host.facts or {}
    view = _HostView(host, all_hosts, _resolver(engine))
    distro = facts.get("distro")
    comps = [c for c in facts.get("components") or [] if isinstance(c, dict) and c.get("product")]
    if not any(c.get("kind") == "os" for c in comps):
        osc = _os_component(facts)
        if osc:
            comps.insert(0, osc)
    units_by_product: dict[str, list[str]] = {}
    for u in facts.get("services") or []:
        if isinstance(u, dict) and u.get("product"):
            units_by_product.setdefault(str(u["product"]), []).append(str(u.get("name")))

    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for c in comps:
        product, version = str(c["product"]), str(c.get("version") or "")
        kind = str(c.get("kind") or "library")
        site = view.site_of_path(c.get("path"))
        key = (site["name"] if site else None, product, version)
        if key in merged:
            m = merged[key]
            for fld in ("package", "path"):
                if c.get(fld) and c[fld] not in m[f"_{fld}s"]:
                    m[f"_{fld}s"].append(c[fld])
            if c.get("evidence"):
                m["_evidence"].append(str(c["evidence"]))
            continue
        merged[key] = {"site": site, "product": product, "version": version, "kind": kind,
                       "raw_version": c.get("raw_version") or version, "source": c.get("source"),
                       "_packages": [c["package"]] if c.get("package") else [],
                       "_paths": [c["path"]] if c.get("path") else [],
                       "_evidence": [str(c["evidence"])] if c.get("evidence") else []}
    out: list[dict[str, Any]] = []
    target_distro = None
    poc = poc_stack(engine, facts, as_of)   # what poc_provision.yml builds by default for this host
    if poc is not None and not same_os(engine, facts, poc):
        poc = None      # another OS family's profile: its packages are no target for this host's (engine's apply)
    moves = False
    # the OS first: when it must move, the host moves to what its default POC profile builds (s4.report.targets):
    # the OS release, and for every other distro package the version that release gives it
    for m in sorted(merged.values(), key=lambda m: m["kind"] != "os"):
        site = m["site"]
        if not m["version"]:
            continue            # listed under "unversioned" (unversioned_components), not judged
        packaged = m["source"] in ("dpkg", "rpm", "apk", "os-release")
        if site is not None:
            responsible, note = ("client", NOTE_CLIENT)
        else:
            responsible, note = ("provider", NOTE_PROVIDER)
        out.append(_finding(
            host, view, engine, as_of, soon_days, site=site, product=m["product"], version=m["version"],
            raw_version=m["raw_version"], kind=m["kind"],
            install_source=m["source"] or "unknown", packages=m["_packages"], paths=m["_paths"],
            evidence="; ".join(m["_evidence"]), distro=distro if packaged else None,
            responsible=responsible, note=note, units=units_by_product.get(m["product"], []),
            target_distro=target_distro, poc=poc if packaged else None, moves=moves,
        ))
        f = out[-1]
        rec = f["recommended"]
        if f["kind"] == "os" and f["status"] in ("eol", "eol-soon") and not moves and target_distro is None:
            if poc is not None and f["poc_target"] is not None:
                f["recommended"] = f["poc_target"]
                target_distro, moves = str(poc["distro"]), True
            elif rec and rec.get("cycle"):
                target_distro = f"{rec.get('product') or f['product']}-{rec['cycle']}"
    site_items: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for site in view.sites:
        for kind, items in (("webapp", site["apps"]), ("frontend", site["libraries"])):
            for item in items:
                if not item.get("product") or not item.get("version"):
                    continue        # no version: listed under "unversioned", never a web app finding
                path = item.get("path")
                product = str(item["product"])
                skey = (str(site["name"]), kind, product, str(item.get("version") or ""))
                if skey in site_items:      # the same release shipped twice in one site: one finding, all paths
                    same = site_items[skey]
                    if path and path not in same["paths"]:
                        same["paths"].append(path)
                    ev = str(item.get("evidence") or "")
                    if ev and ev not in same["evidence"].split("; "):
                        same["evidence"] = f"{same['evidence']}; {ev}" if same["evidence"] else ev
                    continue
                packaged = kind == "webapp" and view.packaged_app(product, path)
                if packaged:
                    responsible, note = "provider", NOTE_PROVIDER_PACKAGED
                else:
                    responsible, note = "client", NOTE_CLIENT
                out.append(_finding(
                    host, view, engine, as_of, soon_days, site=site, product=product,
                    version=str(item.get("version") or ""), raw_version=item.get("version"), kind=kind,
                    install_source=view.manager if packaged else "docroot",
                    packages=view.packages_of(product) if packaged else [],
                    paths=[path] if path else [], evidence=str(item.get("evidence") or ""),
                    distro=distro if packaged else None, responsible=responsible, note=note, units=[],
                    poc=poc if packaged else None, moves=moves,
                ))
                site_items[skey] = out[-1]
    if host.service == "internal":
        for f in out:
            f["responsible"], f["responsible_note"] = "provider", NOTE_INTERNAL
    return out


def _finding(host: HostInput, view: _HostView, engine: EngineLike, as_of: _dt.date, soon_days: int, *,
             site: dict[str, Any] | None, product: str, version: str, raw_version: Any, kind: str,
             install_source: str, packages: list[str], paths: list[str], evidence: str, distro: str | None,
             responsible: str, note: str, units: list[str], target_distro: str | None = None,
             poc: dict[str, Any] | None = None, moves: bool = False) -> dict[str, Any]:
    # with the package list gathered, the engine credits distro support on evidence (the packages' origin, the
    # distro's mark in the version), never on "dpkg installed it" alone (a cPanel or self-built package is not the
    # distro's); without one (older facts), a package-managed component is taken as the distro's
    origin = next((view.origins[p] for p in packages if p in view.origins), None)
    packaged = (None if view.packages else True) if distro is not None else False
    v = _verdict(engine, product, str(raw_version or version), distro, as_of, packaged=packaged, origin=origin,
                 soon_days=soon_days, target_distro=target_distro if distro else None)
    # one resolver: the finding names the catalog product the engine resolved the name to (java -> eclipse-temurin,
    # apache-tomcat -> tomcat), so release notices, POC targets and trends match it; the id keeps the name as found
    found_as = product
    if v.get("status") != "unknown" and isinstance(v.get("product"), str) and v.get("product"):
        product = str(v["product"])
    cycle = v.get("cycle") or cycle_of(version)
    days_left = v.get("days_left")
    status = judge_status(v.get("status"), days_left, soon_days)
    exposure = exposure_of(kind, host.public)
    if site is not None:
        affected = [{"host": host.name, "site": site["name"], "client": site["client"]}]
    else:
        affected = view.affected_sites(product, kind, cycle)
    clients = sorted({a["client"] for a in affected if a.get("client")} or set(host.client_ids))
    if site is not None and site.get("client"):
        clients = [site["client"]]
    rec = v.get("recommended") if isinstance(v.get("recommended"), dict) else None
    # what the host's default POC profile builds for it (distro packages only); the target when the host moves
    poc_target = _stack_target(engine, poc, product, as_of, soon_days) if poc is not None else None
    if moves and poc_target is not None:
        rec = poc_target
    if rec is None and status in ("eol", "eol-soon"):
        rec = _short_target(engine, product, distro, as_of, v.get("version") or version)
    vulns = frontend_verdict(kind, product, version)      # front-end libraries: known vulnerabilities (Retire.js)
    rec = frontend_target(rec, vulns, product)             # ... and a target past them
    return {
        "id": _finding_id(host.name, site["name"] if site else None, found_as, version, kind),
        "as_of": as_of.isoformat(),
        "gathered_at": (host.facts or {}).get("gathered_at"),
        "host": host.name,
        "service": host.service,
        "public": host.public,
        "scope": "site" if site is not None else "host",
        "site": site["name"] if site is not None else None,
        "domain": site.get("domain") if site is not None else None,
        "clients": clients,
        "product": product,
        "kind": kind,
        "version": v.get("version") or version,
        "raw_version": None if raw_version is None else str(raw_version),
        "cycle": cycle,
        "install_source": install_source,
        "packages": packages,
        "paths": paths,
        "evidence": evidence,
        "status": status,
        "engine_status": v.get("status") or "unknown",
        "support_source": v.get("source"),
        "eol": v.get("eol"),
        "security_end": v.get("security_end"),
        "support_end": v.get("support_end"),
        "days_left": days_left,
        "latest_in_cycle": v.get("latest_in_cycle"),
        "releases_behind": v.get("releases_behind"),
        "reason": v.get("reason") or "",
        "recommended": None if rec is None else {k: rec.get(k) for k in RECOMMENDED_KEYS},
        "poc_target": None if poc_target is None else {k: poc_target.get(k) for k in RECOMMENDED_KEYS},
        "vulns": vulns,
        "alternatives": [{"product": a.get("product"), "reason": a.get("reason")} for a in v.get("alternatives") or []
                         if isinstance(a, dict)],
        "responsible": responsible,
        "responsible_note": note,
        "affected_sites": affected,
        "units": sorted(set(units)),
        "exposure": exposure,
        "debt": debt_points(status, days_left, exposure, frontend_severity(vulns)),
    }


STATUS_ORDER = {"eol": 0, "eol-soon": 1, "security-only": 2, "unknown": 3, "supported": 4}


def sort_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: (STATUS_ORDER.get(f["status"], 9), f["host"], f["site"] or "",
                                           f["product"], version_key(f["version"])))


def unversioned_components(hosts: list[HostInput]) -> list[dict[str, Any]]:
    """Components found without a version (a bare ``npm`` package-lock, a binary nobody could read): not judged,
    not web apps; one entry per host, site and product with every place it was found."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(host: HostInput, site: dict[str, Any] | None, item: dict[str, Any], kind: str) -> None:
        key = (host.name, site["name"] if site else "", str(item["product"]))
        clients = [site["client"]] if site and site.get("client") else host.client_ids
        e = out.setdefault(key, {"host": host.name, "site": site["name"] if site else None,
                                 "clients": sorted(set(clients)), "product": str(item["product"]), "kind": kind,
                                 "paths": [], "evidence": []})
        if item.get("path") and str(item["path"]) not in e["paths"]:
            e["paths"].append(str(item["path"]))
        if item.get("evidence") and str(item["evidence"]) not in e["evidence"]:
            e["evidence"].append(str(item["evidence"]))

    for h in hosts:
        if h.facts is None:
            continue
        view = _HostView(h, [])
        for c in h.facts.get("components") or []:
            if isinstance(c, dict) and c.get("product") and not c.get("version"):
                add(h, view.site_of_path(c.get("path")), c, str(c.get("kind") or "library"))
        for site in view.sites:
            for kind, items in (("webapp", site["apps"]), ("frontend", site["libraries"])):
                for item in items:
                    if item.get("product") and not item.get("version"):
                        add(h, site, item, "package manifest" if item["product"] == "npm" else kind)
    return [out[k] for k in sorted(out)]


def build_findings(hosts: list[HostInput], engine: EngineLike, as_of: _dt.date,
                   soon_days: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Findings of every gathered host, and the in-scope hosts that have no usable facts."""
    findings: list[dict[str, Any]] = []
    not_gathered = []
    for h in hosts:
        if h.facts is None:
            not_gathered.append({"host": h.name, "service": h.service, "clients": h.client_ids,
                                 "reason": h.not_gathered_reason or "no facts"})
            continue
        findings.extend(host_findings(h, hosts, engine, as_of, soon_days))
    return sort_findings(findings), not_gathered
