"""Lifecycle verdicts: status, support source, days left, patch freshness, recommended target, alternatives.

Status rules (as of a date D; "end" = the date that decides status):
  unknown        product not in the catalog, version unparsable, no matching cycle
  eol            end <= D, or the cycle is flagged EOL without a date
  eol-soon       0 < end - D <= eol_soon_days (default 180)
  security-only  active support is over (upstream eoas passed, or the distro is in its LTS phase, or the
                 distro keeps patching a cycle upstream has dropped) but security support continues
  supported      otherwise (also for cycles that never end, e.g. Apache 2.4: eol false)
Support source: ``distro`` when the component is known to come from the distro's archive (told so, the package db
origin, or the distro's release mark in the version: never a bare ``-N`` revision), the distro ships that cycle and
the distro's end is later than upstream's; else ``upstream``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from s4.lifecycle.catalog import Catalog, Cycle, Distro, Product, distro_credit
from s4.lifecycle.constraints import ConstraintError, ConstraintSet
from s4.lifecycle.versions import VersionError, cycle_for_version, extract_version, upstream_key

STATUSES = ("supported", "security-only", "eol-soon", "eol", "unknown")
DEFAULT_EOL_SOON_DAYS = 180
DEFAULT_MIN_MONTHS = 18
_OS_CATEGORIES = frozenset({"os"})
_PACKAGE_SOURCES = frozenset({"dpkg", "rpm", "apk", "deb", "apt", "yum", "dnf"})


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _iso(d: Any) -> Any:
    return d.isoformat() if isinstance(d, date) else d


class Recommendation:
    """An uplift target: a product cycle (and its newest version) supported long enough."""

    __slots__ = ("product", "cycle", "version", "eol", "source", "reason")

    def __init__(self, product: str, cycle: str, version: str | None, eol: date | None, source: str,
                 reason: str) -> None:
        self.product = product
        self.cycle = cycle
        self.version = version
        self.eol = eol            # end of support of the target (None = no end announced)
        self.source = source      # distro | upstream | the repository that installs it
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "cycle": self.cycle, "version": self.version, "eol": _iso(self.eol),
                "source": self.source, "reason": self.reason}

    def __repr__(self) -> str:
        return f"Recommendation({self.product} {self.cycle} -> {self.version}, eol={self.eol}, {self.source})"


class Verdict:
    """The lifecycle verdict for one component (see CONTRACTS.md §2)."""

    __slots__ = ("product", "query", "cycle", "version", "raw_version", "distro", "as_of", "status", "source",
                 "eol", "security_end", "support_end", "active_end", "extended_end", "upstream_eol",
                 "distro_end", "days_left", "latest_in_cycle", "releases_behind", "reason", "recommended",
                 "alternatives", "lts", "packaged", "label", "category")

    def __init__(self, query: str, raw_version: Any, as_of: date, distro: str | None) -> None:
        self.query = query
        self.product: str = query
        self.label: str | None = None
        self.category: str | None = None
        self.raw_version = raw_version
        self.version: str | None = None
        self.cycle: str | None = None
        self.distro = distro
        self.as_of = as_of
        self.status = "unknown"
        self.source = "upstream"
        self.eol: date | None = None            # upstream end of security support
        self.security_end: date | None = None   # end of security support from the chosen source
        self.support_end: date | None = None    # the date that decides the status
        self.active_end: date | None = None     # upstream end of active (bugfix) support
        self.extended_end: date | None = None   # upstream extended/paid support end (eoes), informational
        self.upstream_eol: Any = None           # the raw upstream phase (date | True | False)
        self.distro_end: date | None = None
        self.days_left: int | None = None
        self.latest_in_cycle: str | None = None
        self.releases_behind: int | None = None
        self.reason = ""
        self.recommended: Recommendation | None = None
        self.alternatives: list[dict[str, Any]] = []
        self.lts = False
        self.packaged = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product, "label": self.label, "category": self.category, "query": self.query,
            "cycle": self.cycle, "version": self.version,
            "raw_version": self.raw_version if isinstance(self.raw_version, str | int | float) else None,
            "distro": self.distro, "as_of": _iso(self.as_of), "status": self.status, "source": self.source,
            "eol": _iso(self.eol), "security_end": _iso(self.security_end), "support_end": _iso(self.support_end),
            "active_end": _iso(self.active_end), "extended_end": _iso(self.extended_end),
            "upstream_eol": _iso(self.upstream_eol), "distro_end": _iso(self.distro_end),
            "days_left": self.days_left, "latest_in_cycle": self.latest_in_cycle,
            "releases_behind": self.releases_behind, "lts": self.lts, "packaged": self.packaged,
            "reason": self.reason,
            "recommended": self.recommended.to_dict() if self.recommended else None,
            "alternatives": [dict(a) for a in self.alternatives],
        }

    def __repr__(self) -> str:
        return f"Verdict({self.product} {self.version} [{self.cycle}] {self.status} via {self.source})"


class Engine:
    """Evaluates product versions against the catalog. Verdicts are cached per argument tuple."""

    def __init__(self, catalog: Catalog, eol_soon_days: int = DEFAULT_EOL_SOON_DAYS,
                 min_months: int = DEFAULT_MIN_MONTHS) -> None:
        self.catalog = catalog
        self.eol_soon_days = eol_soon_days
        self.min_months = min_months
        self._cache: dict[tuple[Any, ...], Verdict] = {}
        self._end_phase: dict[str, str] = dict(catalog.policy.get("end_phase") or {})
        self._system = frozenset(catalog.policy.get("system_products") or [])
        self._alt_rules: dict[str, list[dict[str, Any]]] = {}
        for rule in catalog.alternatives:
            self._alt_rules.setdefault(rule["product"], []).append(rule)

    _default: Engine | None = None

    @classmethod
    def load_default(cls) -> Engine:
        """The engine over the committed catalog (loaded once per process)."""
        if cls._default is None:
            cls._default = cls(Catalog.load())
        return cls._default

    @classmethod
    def load(cls, path: str) -> Engine:
        return cls(Catalog.load(path))

    # ---------------------------------------------------------------------------------------- queries
    def known_products(self) -> list[str]:
        return sorted(self.catalog.products)

    def resolve(self, product: str, distro: str | None = None) -> str | None:
        """The catalog id of a product as typed: id, alias, display name or package name (see Catalog.resolve)."""
        p = self.catalog.resolve(product, distro)
        return p.id if p else None

    def resolve_distro(self, distro: Any) -> str | None:
        """The distro id of a release as typed (``Debian 12``, ``el8``, a PRETTY_NAME, os-release ID+VERSION_ID)."""
        d = self.catalog.resolve_distro(distro)
        return d.id if d else None

    def known_distros(self) -> list[str]:
        return sorted(self.catalog.distros)

    def distro_info(self, distro: str) -> dict[str, Any] | None:
        d = self.catalog.resolve_distro(distro)
        if d is None:
            return None
        return {"id": d.id, "label": d.label, "family": d.family, "os": f"{d.os_product} {d.os_cycle}",
                "windows": {k: _iso(v) for k, v in d.windows.items()},
                "package_support_end": _iso(d.package_support_end), "extended": dict(d.extended),
                "ships": {p: sorted(c) for p, c in d.ships.items()}}

    def cycle_for(self, product: Product, version: str) -> Cycle | None:
        key = cycle_for_version(version, product.index, product.max_depth)
        return None if key is None else product.index[key]

    # ---------------------------------------------------------------------------------------- evaluate
    def evaluate(self, product: str, version: Any, distro: str | None = None, as_of: date | None = None, *,
                 packaged: bool | None = None, eol_soon_days: int | None = None, min_months: int | None = None,
                 constraints: Mapping[str, Any] | None = None, target_distro: str | None = None,
                 origin: str | None = None) -> Verdict:
        """Verdict for ``product`` at ``version`` (a raw package version, banner or upstream version).

        ``packaged``: True = the caller knows it is the distro archive's package; False = it is not; None = judge
        from the evidence: ``origin`` (the package db's origin/vendor: ``debian``, ``Red Hat, Inc.``, ``sury``...)
        or else the distro's release mark in the version (``-1+deb11u5``, ``.el9``); a bare ``-N`` revision is no
        evidence. ``constraints``: {product: spec} limits the recommended target
        (e.g. {"php": ">=7.4,<8.5"}). ``target_distro``: distro the recommendation must fit (default: distro).
        """
        as_of = as_of or date.today()
        soon = self.eol_soon_days if eol_soon_days is None else int(eol_soon_days)
        months = self.min_months if min_months is None else int(min_months)
        ckey: Any = None
        if constraints:
            ckey = tuple(sorted((str(k), str(v)) for k, v in constraints.items()))
        raw_key = version if isinstance(version, str | int | float) and not isinstance(version, bool) else repr(version)
        key = (product, raw_key, distro, as_of, packaged, soon, months, ckey, target_distro, origin)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        v = self._evaluate(product, version, distro, as_of, packaged, soon, months, constraints, target_distro,
                           origin)
        if len(self._cache) > 500_000:
            self._cache.clear()
        self._cache[key] = v
        return v

    def evaluate_component(self, component: Mapping[str, Any], distro: str | None = None,
                           as_of: date | None = None, **kw: Any) -> Verdict:
        """Verdict for a CONTRACTS §1 component dict ({product, version, raw_version, source, package, origin}).

        A component the package manager installed (source dpkg/rpm/apk) is judged on the evidence (its
        ``origin``, the vendor its package name says, the distro mark in ``raw_version``); any other source
        (a binary found outside the package manager, a docroot) is never the distro's package."""
        if not isinstance(component, Mapping):
            raise TypeError("component must be a mapping with 'product' and 'version'")
        product = component.get("product")
        raw = component.get("raw_version") or component.get("version")
        packaged = kw.pop("packaged", None)
        if packaged is None and component.get("source") is not None:
            packaged = None if str(component.get("source")).lower() in _PACKAGE_SOURCES else False
        origin = kw.pop("origin", None) or component.get("origin")
        pm = self.catalog.resolve_package(component.get("package"))
        if pm is not None and pm.vendor:
            origin = pm.vendor
        return self.evaluate(str(product) if product is not None else "", raw, distro, as_of, packaged=packaged,
                             origin=str(origin) if origin else None, **kw)

    def _evaluate(self, query: str, raw: Any, distro_id: str | None, as_of: date, packaged: bool | None,
                  soon: int, months: int, constraints: Mapping[str, Any] | None,
                  target_distro: str | None, origin: str | None = None) -> Verdict:
        v = Verdict(query if isinstance(query, str) else repr(query), raw, as_of, distro_id)
        prod = self.catalog.resolve(query, distro_id) if isinstance(query, str) else None
        if prod is None:
            v.reason = f"product {query!r} is not in the catalog"
            return v
        pm = self.catalog.resolve_package(query)
        if pm is not None and pm.vendor and not origin:
            origin = pm.vendor  # ea-php81, alt-php74, MariaDB-server: the vendor's build, whatever the version says
        v.product, v.label, v.category = prod.id, prod.label, prod.category
        notes: list[str] = []
        distro: Distro | None = None
        if distro_id:
            distro = self.catalog.resolve_distro(distro_id)
            if distro is None:
                notes.append(f"distro {distro_id!r} unknown, distro support not considered")
            else:
                v.distro = distro.id
        cyc_os = prod.codenames.get(raw.strip().lower()) if isinstance(raw, str) and prod.codenames else None
        if cyc_os is not None:  # an OS codename: bullseye -> 11
            version = cyc_os.cycle
        else:
            try:
                version = extract_version(raw, prod.id)
            except VersionError as exc:
                # an OS named by codename inside a longer string: "Debian GNU/Linux trixie/sid", "Ubuntu (noble)"
                tokens = re.split(r"[\s/(),]+", raw.lower()) if isinstance(raw, str) and prod.codenames else []
                hit = next((prod.codenames[t] for t in tokens if t in prod.codenames), None)
                if hit is None:
                    v.reason = f"cannot read a version from {raw!r}: {exc}"
                    return v
                version = hit.cycle
        v.version = version
        succ = self.catalog.os_successor(prod, version) if prod.category in _OS_CATEGORIES else None
        if succ is not None:  # os-release ID=centos VERSION_ID=9: CentOS Stream 9
            prod = succ
            v.product, v.label, v.category = prod.id, prod.label, prod.category
        cyc = self.cycle_for(prod, version)
        if cyc is None:
            v.reason = (f"{prod.label} {version}: no matching release cycle in the catalog "
                        f"(known: {', '.join(c.cycle for c in prod.cycles[:8])}{'...' if len(prod.cycles) > 8 else ''})")
            return v
        v.cycle = cyc.cycle
        v.lts = bool(cyc.lts) and not (isinstance(cyc.lts, date) and cyc.lts > as_of)
        credit_note = ""
        if distro is None:
            v.packaged = bool(packaged)
        elif packaged is False:
            v.packaged, credit_note = False, "not the distro's package"
        elif packaged is True and not origin:
            v.packaged = True
        else:
            v.packaged, credit_note = distro_credit(distro, raw, origin)

        # ---- upstream phases
        up_end = self._upstream_end(prod, cyc)
        v.upstream_eol = up_end
        v.eol = up_end if isinstance(up_end, date) else None
        v.active_end = cyc.eoas if isinstance(cyc.eoas, date) else None
        v.extended_end = cyc.eoes if isinstance(cyc.eoes, date) else None
        active_over = cyc.eoas is True or (isinstance(cyc.eoas, date) and cyc.eoas <= as_of)

        # ---- distro support
        dist_end: date | None = None
        dist_note = ""
        if distro is not None and v.packaged:
            how = distro.ships.get(prod.id, {}).get(cyc.cycle)
            if how is None:
                dist_note = f"{distro.label} does not ship {prod.label} {cyc.cycle}: upstream dates apply"
            elif how == "distro":
                dist_end = distro.package_support_end
            elif how == "upstream":
                dist_note = f"{distro.label} ships {prod.label} {cyc.cycle} without support past upstream EOL"
            elif isinstance(how, date):
                dist_end = how
            if prod.id in distro.notes:
                dist_note = (dist_note + "; " if dist_note else "") + f"{distro.label}: {distro.notes[prod.id]}"
        elif distro is not None and not v.packaged and distro.ships.get(prod.id, {}).get(cyc.cycle):
            dist_note = f"{credit_note or 'not the distro package'}: upstream dates apply"
        v.distro_end = dist_end

        # ---- choose the source: the later end wins; an open upstream end (eol false) always wins
        end: Any = up_end
        if dist_end is not None and (up_end is True or (isinstance(up_end, date) and dist_end > up_end)):
            v.source, end = "distro", dist_end
        v.security_end = end if isinstance(end, date) else None
        v.support_end = v.security_end

        # ---- status
        if end is True:
            v.status = "eol"
            why = f"{prod.label} {cyc.cycle} is end-of-life (no date published)"
        elif isinstance(end, date):
            v.days_left = (end - as_of).days
            if v.days_left <= 0:
                v.status = "eol"
                why = f"{prod.label} {cyc.cycle} reached end of support on {end.isoformat()} ({v.source})"
            elif v.days_left <= soon:
                v.status = "eol-soon"
                why = f"{prod.label} {cyc.cycle} support ends {end.isoformat()} ({v.source}), in {v.days_left} days"
            else:
                v.status = "supported"
                why = f"{prod.label} {cyc.cycle} supported until {end.isoformat()} ({v.source})"
        else:
            v.status = "supported"
            why = f"{prod.label} {cyc.cycle} has no announced end of support"
        if v.status == "supported":
            if v.source == "distro":
                regular_end = distro.windows.get("regular") if distro is not None else None
                in_lts = regular_end is not None and regular_end <= as_of
                upstream_gone = up_end is True or (isinstance(up_end, date) and up_end <= as_of)
                if active_over or in_lts or upstream_gone:
                    v.status = "security-only"
                    bits = []
                    if upstream_gone:
                        bits.append(f"upstream EOL {_iso(v.eol) or 'passed'}")
                    if in_lts and distro is not None:
                        bits.append(f"{distro.label} is in its LTS phase")
                    if active_over and not upstream_gone:
                        bits.append(f"upstream active support ended {_iso(v.active_end) or ''}".rstrip())
                    why += "; security fixes only: " + ", ".join(bits)
            elif self._end_phase.get(prod.id) == "eoes" and isinstance(cyc.eol, date) and cyc.eol <= as_of:
                v.status = "security-only"
                why += f"; regular support ended {cyc.eol.isoformat()}, {prod.labels.get('eoes') or 'extended'} phase"
            elif active_over:
                v.status = "security-only"
                why += f"; active support ended {_iso(v.active_end) or '(date unknown)'}, security fixes only"
        if v.source == "distro" and isinstance(up_end, date) and "upstream EOL" not in why:
            why += f"; upstream EOL {up_end.isoformat()}"
        if cyc.release_date and cyc.release_date > as_of:
            why += f"; note: cycle released {cyc.release_date.isoformat()}, after the as-of date"
        if dist_note:
            why += f"; {dist_note}"

        # ---- patch freshness
        self._freshness(v, cyc, version, as_of)
        if v.releases_behind:
            why += f"; {v.releases_behind} release(s) behind {v.latest_in_cycle}"
            if v.source == "distro":
                why += " upstream (the distro backports security fixes)"
        if notes:
            why += "; " + "; ".join(notes)
        v.reason = why

        # ---- recommendation and alternatives
        tgt = target_distro or (distro.id if distro is not None else None)
        rec, rec_note = self._recommend(prod, tgt, as_of, constraints, months, current=cyc,
                                        current_version=version)
        v.recommended = rec
        if rec is None and rec_note:
            v.reason += f"; no recommended target: {rec_note}"
        v.alternatives = self._alternatives(prod, cyc, v.status)
        return v

    def _upstream_end(self, prod: Product, cyc: Cycle) -> Any:
        end: Any = cyc.eol
        if (self._end_phase.get(prod.id) == "eoes" and isinstance(cyc.eoes, date)
                and (not isinstance(end, date) or cyc.eoes > end)):
            end = cyc.eoes
        return end

    @staticmethod
    def _freshness(v: Verdict, cyc: Cycle, version: str, as_of: date) -> None:
        try:
            mine = upstream_key(version)
        except VersionError:
            return
        if cyc.history:
            known = [(k, name) for k, name, d in cyc.history if d is None or d <= as_of]
            if not known:
                return
            v.latest_in_cycle = known[0][1]
            v.releases_behind = sum(1 for k, _ in known if k > mine)
        elif cyc.latest:
            v.latest_in_cycle = cyc.latest
            try:
                v.releases_behind = 0 if upstream_key(cyc.latest) <= mine else None
            except VersionError:
                v.releases_behind = None

    # ---------------------------------------------------------------------------------------- recommend
    def recommend(self, product: str, distro: str | None = None, as_of: date | None = None,
                  constraints: Mapping[str, Any] | None = None, min_months: int | None = None,
                  current: str | None = None) -> Recommendation | None:
        """The smallest uplift target supported >= min_months from as_of that the distro ships or can install
        and that satisfies ``constraints`` ({product: spec}); None when nothing qualifies."""
        prod = self.catalog.resolve(product)
        if prod is None:
            return None
        cur = None
        if current is not None:
            try:
                cur = self.cycle_for(prod, extract_version(current, prod.id))
            except VersionError:
                cur = None
        rec, _ = self._recommend(prod, distro, as_of or date.today(), constraints,
                                 self.min_months if min_months is None else int(min_months), cur, current)
        return rec

    def _recommend(self, prod: Product, distro_id: str | None, as_of: date, constraints: Mapping[str, Any] | None,
                   months: int, current: Cycle | None = None,
                   current_version: str | None = None) -> tuple[Recommendation | None, str]:
        horizon = add_months(as_of, months)
        distro = self.catalog.resolve_distro(distro_id) if distro_id else None
        cset: ConstraintSet | None = None
        if constraints:
            spec = None
            for k, val in constraints.items():
                if self.catalog.resolve(str(k)) is prod:
                    spec = val
            if spec:
                try:
                    cset = ConstraintSet(spec)
                except ConstraintError as exc:
                    return None, f"bad constraint for {prod.id}: {exc}"
        is_system = prod.id in self._system
        cands: list[tuple[tuple[Any, ...], Cycle, Any, str]] = []
        rejected_constraint = rejected_short = rejected_install = 0
        for c in prod.cycles:
            if current is not None and c.key < current.key:
                continue
            if c.release_date is not None and c.release_date > as_of:
                continue
            if cset is not None and not cset.allows(c.cycle):
                rejected_constraint += 1
                continue
            up_end = self._upstream_end(prod, c)
            end: Any = up_end
            source = "upstream"
            ships = False
            if distro is not None:
                how = distro.ships.get(prod.id, {}).get(c.cycle)
                if how is not None:
                    ships = True
                    dend = distro.package_support_end if how == "distro" else (how if isinstance(how, date) else None)
                    source = "distro"
                    if dend is not None and (up_end is True or (isinstance(up_end, date) and dend > up_end)):
                        end = dend
            if end is True or (isinstance(end, date) and end < horizon):
                rejected_short += 1
                continue
            if distro is not None and is_system and not ships:
                repo = distro.repos.get(prod.id)
                if not repo:
                    rejected_install += 1
                    continue
                source = repo
            uses_lts_pref = prod.uses_lts and not c.lts
            rank = (0 if (current is not None and c is current) else 1, 0 if ships else 1,
                    1 if uses_lts_pref else 0, c.key)
            cands.append((rank, c, end, source))
        if not cands:
            why = []
            if rejected_constraint:
                why.append(f"{rejected_constraint} cycle(s) excluded by constraints {cset.text if cset else ''}")
            if rejected_short:
                why.append(f"{rejected_short} cycle(s) not supported until {horizon.isoformat()}")
            if rejected_install:
                why.append(f"{rejected_install} cycle(s) neither shipped by {distro.label if distro else ''} "
                           f"nor installable from a known repository")
            return None, "; ".join(why) or "no newer cycle in the catalog"
        cands.sort(key=lambda t: t[0])
        _, c, end, source = cands[0]
        latest = c.history[0][1] if c.history else c.latest
        end_d = end if isinstance(end, date) else None
        until = end_d.isoformat() if end_d else "no announced end"
        if current is not None and c is current:
            reason = f"stay on {prod.label} {c.cycle} (supported until {until}); update to {latest}"
        else:
            reason = f"{prod.label} {c.cycle}: supported until {until}"
            if source == "distro" and distro is not None:
                reason += f", shipped by {distro.label}"
            elif distro is not None and is_system:
                reason += f", installable from {source}"
        if cset is not None:
            reason += f"; satisfies {cset.text}"
        return Recommendation(prod.id, c.cycle, latest, end_d, source, reason), ""

    # -------------------------------------------------------------------------------------- alternatives
    def _alternatives(self, prod: Product, cyc: Cycle, status: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for rule in self._alt_rules.get(prod.id, ()):
            cycles = rule.get("cycles")
            if cycles and cyc.cycle not in [str(x) for x in cycles]:
                continue
            when = rule.get("when", "always")
            if when != "always" and status not in (when if isinstance(when, list) else [when]):
                continue
            for alt in rule.get("to") or []:
                if alt.get("product") == prod.id and alt.get("cycle") == cyc.cycle:
                    continue
                item = {"product": alt["product"], "reason": alt["reason"]}
                if alt.get("cycle"):
                    item["cycle"] = str(alt["cycle"])
                out.append(item)
        return out

    # ------------------------------------------------------------------------------------ app constraints
    def php_constraints_for_apps(self, apps: Iterable[Mapping[str, Any]]) -> list[str]:
        """PHP range specs required by the given apps ([{product, version}]), from the catalog's custom fields
        (supportedPHPVersions / supportedPhpVersions) or php_compat.yaml. Unknown apps add nothing."""
        specs: list[str] = []
        for app in apps:
            prod = self.catalog.resolve(str(app.get("product", "")))
            if prod is None:
                continue
            try:
                cyc = self.cycle_for(prod, extract_version(app.get("version"), prod.id))
            except VersionError:
                continue
            if cyc is None:
                continue
            spec = cyc.custom.get("supportedPHPVersions") or cyc.custom.get("supportedPhpVersions")
            if not spec:
                spec = self.catalog.php_compat.get(prod.id, {}).get(cyc.cycle)
            if spec:
                spec = spec.replace("(beta)", "").strip()
                try:
                    ConstraintSet(spec)
                except ConstraintError:
                    continue
                specs.append(spec)
        return specs
