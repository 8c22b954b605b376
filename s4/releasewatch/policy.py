"""Stability policy and release decisions: which new cycles and security releases are ready to announce.

Releases come from the lifecycle catalog (``s4/data/catalog/products/<id>.json``: cycles with ``release_date``,
``latest``, ``history`` [[version, date], ...], refreshed by ``scripts/update_catalog``). They are read here
tolerantly: a malformed cycle or release entry is skipped with a warning, never fatal.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from s4.report.util import version_key

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yaml")

POLICY_KEYS: dict[str, Any] = {"enabled": bool, "min_age_days": int, "min_patch_releases": int, "lookback_days": int,
               "lts_only": bool, "cycle_pattern": (str, type(None)), "security": bool}
BUILTIN_DEFAULTS: dict[str, Any] = {"enabled": True, "min_age_days": 30, "min_patch_releases": 1,
                                    "lookback_days": 180, "lts_only": False, "cycle_pattern": None,
                                    "security": True}

# alpha/beta/preview/snapshot anywhere; rc/pre/dev/ea as a separate token (1.0.0-rc1, 8.5.0RC2); 3.13.0a1 / 3.13.0b2
_PRERELEASE = re.compile(r"(?i)(alpha|beta|preview|snapshot|(?<![a-z])(rc|pre|dev|ea)(?![a-z])|\d[ab]\d+$)")


def is_prerelease(version: str) -> bool:
    return bool(_PRERELEASE.search(str(version)))


class PolicyError(ValueError):
    """The policy file is invalid: every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("release-watch policy problem(s):\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class ProductPolicy:
    enabled: bool = True
    min_age_days: int = 30
    min_patch_releases: int = 1
    lookback_days: int = 180
    lts_only: bool = False
    cycle_pattern: str | None = None
    security: bool = True


@dataclass
class Policy:
    defaults: dict[str, Any]
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    security_releases: dict[str, set[str]] = field(default_factory=dict)
    source: str = "<builtin>"

    def for_product(self, product: str) -> ProductPolicy:
        values = dict(self.defaults)
        values.update(self.products.get(product, {}))
        return ProductPolicy(**values)

    def is_security(self, product: str, version: str) -> bool:
        return version in self.security_releases.get(product, set())

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        p = Path(path) if path else DEFAULT_POLICY_PATH
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PolicyError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
        except yaml.YAMLError as exc:
            raise PolicyError([f"{p}: not valid YAML: {exc}"]) from None
        return cls.from_dict(data or {}, source=str(p))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Policy:
        problems: list[str] = []
        if not isinstance(data, Mapping):
            raise PolicyError([f"{source}: the policy must be a mapping"])
        unknown = set(data) - {"defaults", "products", "security_releases"}
        if unknown:
            problems.append(f"{source}: unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}")

        def check(where: str, values: Any) -> dict[str, Any]:
            if values is None:
                return {}
            if not isinstance(values, Mapping):
                problems.append(f"{source}: {where} must be a mapping")
                return {}
            out = {}
            for k, v in values.items():
                if k not in POLICY_KEYS:
                    problems.append(f"{source}: {where}.{k}: unknown setting (known: {', '.join(sorted(POLICY_KEYS))})")
                    continue
                typ = POLICY_KEYS[k]
                if isinstance(v, bool) and typ is int or not isinstance(v, typ):
                    problems.append(f"{source}: {where}.{k}: {v!r} is not a valid value")
                    continue
                if typ is int and v < 0:
                    problems.append(f"{source}: {where}.{k}: must be >= 0, got {v}")
                    continue
                if k == "cycle_pattern" and v is not None:
                    try:
                        re.compile(v)
                    except re.error as exc:
                        problems.append(f"{source}: {where}.{k}: bad regular expression: {exc}")
                        continue
                out[str(k)] = v
            return out

        defaults = dict(BUILTIN_DEFAULTS)
        defaults.update(check("defaults", data.get("defaults")))
        products: dict[str, dict[str, Any]] = {}
        raw_products = data.get("products") or {}
        if not isinstance(raw_products, Mapping):
            problems.append(f"{source}: products must be a mapping of product id -> settings")
        else:
            for pid, values in raw_products.items():
                products[str(pid)] = check(f"products.{pid}", values)
        security: dict[str, set[str]] = {}
        raw_sec = data.get("security_releases") or {}
        if not isinstance(raw_sec, Mapping):
            problems.append(f"{source}: security_releases must be a mapping of product id -> [versions]")
        else:
            for pid, versions in raw_sec.items():
                if not isinstance(versions, list) or not all(isinstance(v, str | int | float) for v in versions):
                    problems.append(f"{source}: security_releases.{pid} must be a list of versions")
                    continue
                security[str(pid)] = {str(v) for v in versions}
        if problems:
            raise PolicyError(problems)
        return cls(defaults=defaults, products=products, security_releases=security, source=source)


# --- releases -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Release:
    version: str
    date: _dt.date
    security: bool = False

    @property
    def prerelease(self) -> bool:
        return is_prerelease(self.version)


@dataclass
class CycleInfo:
    product: str
    label: str
    cycle: str
    release_date: _dt.date | None
    lts: bool | _dt.date = False
    eoas: bool | _dt.date | None = None
    eol: bool | _dt.date | None = None
    eoes: bool | _dt.date | None = None
    latest: str | None = None
    releases: list[Release] = field(default_factory=list)   # oldest first


def _date(value: Any) -> _dt.date:
    if isinstance(value, _dt.date):
        return value
    return _dt.date.fromisoformat(str(value)[:10])


def _phase(value: Any) -> bool | _dt.date | None:
    if value is None or isinstance(value, bool):
        return value
    return _date(value)


def parse_cycles(data: Any, where: str, warnings: list[str]) -> list[CycleInfo]:
    """Cycles of one catalog product document; malformed cycles/entries are skipped with a warning."""
    if not isinstance(data, Mapping) or not data.get("id") or not isinstance(data.get("cycles"), list):
        warnings.append(f"{where}: not a catalog product (id, cycles[]): skipped")
        return []
    pid = str(data["id"])
    label = str(data.get("label") or pid)
    out = []
    for i, c in enumerate(data["cycles"]):
        if not isinstance(c, Mapping) or not c.get("cycle"):
            warnings.append(f"{where}: cycles[{i}]: no cycle id: skipped")
            continue
        cyc = str(c["cycle"])
        try:
            rd = _date(c["release_date"]) if c.get("release_date") else None
            info = CycleInfo(product=pid, label=label, cycle=cyc, release_date=rd,
                             lts=bool(c.get("lts")) if isinstance(c.get("lts"), bool | type(None)) else _date(c["lts"]),
                             eoas=_phase(c.get("eoas")), eol=_phase(c.get("eol")), eoes=_phase(c.get("eoes")),
                             latest=str(c["latest"]) if c.get("latest") else None)
        except (ValueError, TypeError) as exc:
            warnings.append(f"{where}: cycle {cyc}: malformed dates ({exc}): skipped")
            continue
        history = c.get("history") or []
        if not isinstance(history, list):
            warnings.append(f"{where}: cycle {cyc}: history is not a list: ignored")
            history = []
        seen = set()
        for j, entry in enumerate(history):
            if (not isinstance(entry, list | tuple) or len(entry) < 2 or not isinstance(entry[0], str | int | float)
                    or not str(entry[0]).strip()):
                warnings.append(f"{where}: cycle {cyc}: release entry history[{j}] {entry!r} is malformed "
                                "(want [version, date]): skipped")
                continue
            version = str(entry[0]).strip()
            try:
                when = _date(entry[1])
            except (ValueError, TypeError):
                warnings.append(f"{where}: cycle {cyc}: release {version} has a bad date {entry[1]!r}: skipped")
                continue
            if version in seen:
                warnings.append(f"{where}: cycle {cyc}: release {version} listed twice: duplicate skipped")
                continue
            seen.add(version)
            flags = entry[2:] if len(entry) > 2 else ()
            security = any(f == "security" or (isinstance(f, Mapping) and f.get("security")) for f in flags)
            info.releases.append(Release(version, when, security))
        info.releases.sort(key=lambda r: (r.date, version_key(r.version)))
        out.append(info)
    return out


def load_catalog_releases(catalog_dir: str | Path | None = None,
                          products: Iterable[str] | None = None) -> tuple[dict[str, list[CycleInfo]], list[str]]:
    """{product id: cycles} from ``<catalog_dir>/products/*.json`` (default: the committed catalog) + warnings."""
    if catalog_dir is None:
        from s4.lifecycle.catalog import default_catalog_path

        catalog_dir = default_catalog_path()
    pdir = Path(catalog_dir) / "products"
    if not pdir.is_dir():
        raise FileNotFoundError(f"no catalog products directory at {pdir}")
    wanted = set(products) if products is not None else None
    warnings: list[str] = []
    out: dict[str, list[CycleInfo]] = {}
    for f in sorted(pdir.glob("*.json")):
        if wanted is not None and f.stem not in wanted:
            continue
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.append(f"products/{f.name}: unreadable ({exc}): skipped")
            continue
        cycles = parse_cycles(data, f"products/{f.name}", warnings)
        if cycles:
            out[cycles[0].product] = cycles
    return out, warnings


# --- decisions ----------------------------------------------------------------------------------------------------

@dataclass
class Decision:
    """Something ready to announce. ``id`` is stable: ``<product>-<cycle>`` or ``<product>-<version>-security``."""

    id: str
    kind: str            # cycle | security
    product: str
    label: str
    cycle: str
    version: str
    released: _dt.date   # first release of the cycle / date of the security release
    ready_on: _dt.date
    reason: str
    lts: bool
    eoas: bool | _dt.date | None = None
    eol: bool | _dt.date | None = None
    eoes: bool | _dt.date | None = None

    @property
    def title(self) -> str:
        if self.kind == "security":
            return f"{self.label} {self.version}: security release for the {self.cycle} cycle"
        return f"{self.label} {self.cycle} is ready ({self.version})"

    def to_dict(self) -> dict[str, Any]:
        def j(v: Any) -> Any:
            return v.isoformat() if isinstance(v, _dt.date) else v
        return {"id": self.id, "kind": self.kind, "product": self.product, "label": self.label, "cycle": self.cycle,
                "version": self.version, "released": j(self.released), "ready_on": j(self.ready_on),
                "reason": self.reason, "lts": self.lts, "eoas": j(self.eoas), "eol": j(self.eol),
                "eoes": j(self.eoes), "title": self.title}


def _ended(phase: bool | _dt.date | None, as_of: _dt.date) -> bool:
    if phase is True:
        return True
    return isinstance(phase, _dt.date) and phase <= as_of


def evaluate_cycle(c: CycleInfo, pol: ProductPolicy, as_of: _dt.date) -> tuple[Decision | None, str]:
    """(decision or None, why) for announcing cycle ``c`` as ready as of ``as_of``."""
    if not pol.enabled:
        return None, "product disabled by policy"
    if pol.cycle_pattern and not re.search(pol.cycle_pattern, c.cycle):
        return None, f"cycle {c.cycle} does not match the policy's cycle_pattern"
    if is_prerelease(c.cycle):
        return None, "pre-release cycle"
    if c.release_date is None:
        return None, "no release date"
    if c.release_date > as_of:
        return None, f"not released yet (release date {c.release_date})"
    if _ended(c.eol, as_of):
        return None, "cycle already end-of-life"
    stable = [r for r in c.releases if r.date <= as_of and not r.prerelease]
    if not c.releases and c.latest and not is_prerelease(c.latest):
        stable = [Release(c.latest, c.release_date)]
    if not stable:
        return None, "no stable release yet (only pre-releases or none)"
    patches = len(stable) - 1
    if patches < pol.min_patch_releases:
        return None, f"{patches} patch release(s), policy wants {pol.min_patch_releases}"
    age = (as_of - c.release_date).days
    if age < pol.min_age_days:
        return None, f"{age} day(s) old, policy wants {pol.min_age_days}"
    ready_on = c.release_date + _dt.timedelta(days=pol.min_age_days)
    if pol.min_patch_releases > 0:
        ready_on = max(ready_on, stable[pol.min_patch_releases].date)
    lts = c.lts is True or (isinstance(c.lts, _dt.date) and c.lts <= as_of)
    if pol.lts_only:
        if not lts:
            return None, "not an LTS cycle (yet); policy wants LTS only"
        if isinstance(c.lts, _dt.date):
            ready_on = max(ready_on, c.lts)
    if (as_of - ready_on).days > pol.lookback_days:
        return None, f"ready since {ready_on}, older than the {pol.lookback_days}-day lookback"
    newest = max(stable, key=lambda r: (r.date, version_key(r.version)))
    reason = f"released {c.release_date}, {patches} patch release(s) by {as_of}" + (", LTS" if lts else "")
    return Decision(id=f"{c.product}-{c.cycle}", kind="cycle", product=c.product, label=c.label, cycle=c.cycle,
                    version=newest.version, released=c.release_date, ready_on=ready_on, reason=reason, lts=lts,
                    eoas=c.eoas, eol=c.eol, eoes=c.eoes), reason


def security_decisions(c: CycleInfo, pol: ProductPolicy, policy: Policy, as_of: _dt.date) -> list[Decision]:
    """Security releases of a supported cycle, announced at once (no waiting period)."""
    if not pol.enabled or not pol.security or _ended(c.eol, as_of):
        return []
    out = []
    lts = c.lts is True or (isinstance(c.lts, _dt.date) and c.lts <= as_of)
    for r in c.releases:
        if r.prerelease or r.date > as_of or (as_of - r.date).days > pol.lookback_days:
            continue
        if not (r.security or policy.is_security(c.product, r.version)):
            continue
        out.append(Decision(id=f"{c.product}-{r.version}-security", kind="security", product=c.product,
                            label=c.label, cycle=c.cycle, version=r.version, released=r.date, ready_on=r.date,
                            reason=f"security release of the supported {c.cycle} cycle, announced at once",
                            lts=lts, eoas=c.eoas, eol=c.eol, eoes=c.eoes))
    return out


def decide(releases: Mapping[str, list[CycleInfo]], policy: Policy, as_of: _dt.date) -> list[Decision]:
    """Everything ready as of ``as_of`` (announced or not: the store filters what is new), sorted by date, id."""
    out: list[Decision] = []
    for pid in sorted(releases):
        pol = policy.for_product(pid)
        for c in releases[pid]:
            d, _ = evaluate_cycle(c, pol, as_of)
            if d is not None:
                out.append(d)
            out.extend(security_decisions(c, pol, policy, as_of))
    return sorted(out, key=lambda d: (d.ready_on, d.id))
