"""The EOL catalog: loading, validation and indices.

Layout of a catalog directory (see s4/lifecycle/README.md):

- ``manifest.json``       generation date, source, product/cycle/version counts, schema version
- ``products/<id>.json``   one product: label, category, aliases, phase labels, cycles (+ release history)
- ``distros.yaml``         hand-curated: distro releases, their support phases and the product cycles they ship
- ``policy.yaml``          hand-curated: aliases, which phase ends support per product, system products, repos
- ``alternatives.yaml``    hand-curated: successors / alternatives for discontinued or EOL products
- ``php_compat.yaml``      hand-curated: PHP ranges per application cycle (adds to the catalog's custom fields)

Dates in JSON are ISO strings; the bool-or-date convention of endoflife.date is kept: a date is the day a
phase ends, ``true`` = over (date unknown), ``false`` = not over (no date), ``null``/absent = no such phase.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from s4.lifecycle.packages import FALLBACK_PRODUCTS, PackageMatch, match_package
from s4.lifecycle.versions import VersionError, package_marks, upstream_key

SCHEMA_VERSION = 1
PHASES = ("eoas", "eol", "eoes")
_CYCLE_RE = re.compile(r"^[A-Za-z0-9.\-+_]+$")

Phase = date | bool | None


class CatalogError(ValueError):
    """The catalog is missing, corrupt or inconsistent."""


def parse_phase(value: Any, where: str) -> Phase:
    """Parse a bool-or-date phase value (``None`` = no such phase)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise CatalogError(f"{where}: bad date {value!r}") from exc
    raise CatalogError(f"{where}: expected a date, true, false or null, got {value!r}")


def parse_date(value: Any, where: str, required: bool = False) -> date | None:
    if value is None:
        if required:
            raise CatalogError(f"{where}: date missing")
        return None
    v = parse_phase(value, where)
    if isinstance(v, bool):
        raise CatalogError(f"{where}: expected a date, got {value!r}")
    return v


def phase_json(value: Phase) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@dataclass(slots=True)
class Cycle:
    cycle: str
    release_date: date | None
    eoas: Phase
    eol: Phase
    eoes: Phase
    lts: Phase
    latest: str | None
    latest_date: date | None
    codename: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    # [version, date] pairs as stored; parsed into (key, version, date) newest first on first use of .history
    history_raw: list[Any] = field(default_factory=list)
    key: Any = None
    label: str | None = None        # plain-text release label (endoflife.date releaseLabel, HTML stripped)
    links: list[str] = field(default_factory=list)  # release notes / announcement links
    _history: list[tuple[Any, str, date | None]] | None = None
    where: str = ""

    @property
    def history(self) -> list[tuple[Any, str, date | None]]:
        """Release history newest first: (version key, version, date); parsed lazily (most cycles are never
        asked), validated strictly by the updater (``product_from_json(strict=True)``)."""
        if self._history is None:
            self._history = _parse_history(self.history_raw, self.where)
        return self._history

    @property
    def is_lts(self) -> bool:
        return bool(self.lts)


@dataclass(slots=True)
class Product:
    id: str
    label: str
    category: str
    aliases: list[str]
    labels: dict[str, str | None]
    cycles: list[Cycle]
    index: dict[str, Cycle] = field(default_factory=dict)
    codenames: dict[str, Cycle] = field(default_factory=dict)
    max_depth: int = 1
    uses_lts: bool = False

    def build_index(self) -> None:
        self.index = {c.cycle: c for c in self.cycles}
        self.codenames = {}
        for c in self.cycles:
            if c.codename:
                self.codenames[c.codename.lower()] = c
                self.codenames[c.codename.lower().split()[0]] = c
        self.max_depth = max((c.cycle.count(".") + 1 for c in self.cycles), default=1)
        self.uses_lts = any(c.lts for c in self.cycles)


@dataclass(slots=True)
class Distro:
    id: str
    label: str
    family: str
    os_product: str
    os_cycle: str
    phases: dict[str, str]            # window name -> phase of the OS cycle (regular/lts/maintenance/extended)
    package_phase: str                # which phase ends support for distro-packaged components
    extended: dict[str, Any]          # paid/extra support named by hand (ELTS...), informational
    ships: dict[str, dict[str, Any]]  # product -> cycle -> "distro" | "upstream" | date
    notes: dict[str, str]
    repos: dict[str, str]             # product -> third-party repo that can install any upstream cycle
    windows: dict[str, date | None] = field(default_factory=dict)
    package_support_end: date | None = None
    aliases: list[str] = field(default_factory=list)
    ships_source: dict[str, dict[str, str]] = field(default_factory=dict)  # product -> cycle -> source
    support_source: str | None = None  # where the windows come from (None: the OS product's cycle)
    exceptions: list[dict[str, Any]] = field(default_factory=list)  # debian-security-support entries


@dataclass
class Catalog:
    path: str
    manifest: dict[str, Any]
    products: dict[str, Product]
    aliases: dict[str, str]
    distros: dict[str, Distro]
    distro_aliases: dict[str, str]
    policy: dict[str, Any]
    alternatives: list[dict[str, Any]]
    php_compat: dict[str, dict[str, str]]

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalog:
        root = Path(path) if path is not None else default_catalog_path()
        if not root.is_dir():
            raise CatalogError(f"catalog directory not found: {root}")
        manifest = _read_json(root / "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA_VERSION:
            raise CatalogError(f"{root}/manifest.json: schema must be {SCHEMA_VERSION}")
        products: dict[str, Product] = {}
        pdir = root / "products"
        if not pdir.is_dir():
            raise CatalogError(f"{root}: products/ missing")
        for f in sorted(pdir.glob("*.json")):
            prod = product_from_json(_read_json(f), str(f), strict=False)
            if prod.id != f.stem:
                raise CatalogError(f"{f}: id {prod.id!r} does not match the file name")
            products[prod.id] = prod
        listed = manifest.get("products")
        if not isinstance(listed, list) or sorted(listed) != sorted(products):
            missing = sorted(set(listed or []) - set(products))
            extra = sorted(set(products) - set(listed or []))
            raise CatalogError(f"{root}: manifest product list does not match products/ (missing {missing}, "
                               f"unlisted {extra})")
        policy = _read_yaml(root / "policy.yaml")
        aliases: dict[str, str] = {}
        for pid, prod in products.items():
            aliases[pid] = pid
            for a in prod.aliases:
                aliases.setdefault(a.lower(), pid)
        for a, target in (policy.get("aliases") or {}).items():
            if target not in products:
                raise CatalogError(f"policy.yaml: alias {a!r} points to unknown product {target!r}")
            aliases[str(a).lower()] = target
        distros, distro_aliases = _load_distros(_read_yaml(root / "distros.yaml"), products, aliases)
        alternatives = _read_yaml(root / "alternatives.yaml").get("alternatives") or []
        if not isinstance(alternatives, list):
            raise CatalogError("alternatives.yaml: 'alternatives' must be a list")
        for i, rule in enumerate(alternatives):
            if not isinstance(rule, dict) or rule.get("product") not in products:
                raise CatalogError(f"alternatives.yaml: rule {i} names an unknown product {rule!r}")
            for alt in rule.get("to") or []:
                if not isinstance(alt, dict) or not alt.get("reason") or not alt.get("product"):
                    raise CatalogError(f"alternatives.yaml: rule {i}: each 'to' needs product and reason")
        php_compat_raw = _read_yaml(root / "php_compat.yaml").get("apps") or {}
        php_compat: dict[str, dict[str, str]] = {}
        for app, cycles in php_compat_raw.items():
            php_compat[str(app)] = {str(k): str(v) for k, v in (cycles or {}).items()}
        cat = cls(str(root), manifest, products, aliases, distros, distro_aliases, policy, alternatives, php_compat)
        return cat

    # ------------------------------------------------------------------ the one resolver (names as typed)
    def resolve(self, product: object, distro: object = None) -> Product | None:
        """The product a name stands for, as people and tools write it: a catalog id or alias (``apache2``), a
        display name (``Apache HTTP Server``, ``Eclipse Temurin``) or a package name (``php7.4-fpm``,
        ``nginx-core``, ``libjs-jquery``, ``mariadb-server-10.5``, ``openjdk-17-jre-headless``, ``ea-php81``).
        ``distro`` (optional, any form :meth:`resolve_distro` reads) picks the vendor's build where it differs:
        OpenJDK on a RHEL-family host is Red Hat's build."""
        if not isinstance(product, str):
            return None
        text = product.strip()
        if not text or len(text) > 200:
            return None
        pid = self._resolve_id(text)
        if pid is None:
            return None
        if pid == "eclipse-temurin" and distro is not None and not text.lower().startswith(("temurin", "eclipse")):
            d = self.resolve_distro(distro) if not isinstance(distro, Distro) else distro
            if d is not None and _archive_of(d)[0] == "el" and "red-hat-build-of-openjdk" in self.products:
                pid = "red-hat-build-of-openjdk"
        return self.products.get(pid)

    def _resolve_id(self, text: str) -> str | None:
        key = text.lower()
        pid = self.aliases.get(key)
        if pid is not None:
            return pid
        cache = self._resolver_cache()
        if key in cache["names"]:
            return cache["names"][key]
        out = cache["labels"].get(key) or cache["labels"].get(_slug(key))
        if out is None:
            out = self.aliases.get(_slug(key))
        if out is None:
            m = self.resolve_package(text)
            if m is not None:
                out = m.product
        if out is None and key in _OS_IDS:   # os-release IDs discovery reports as the OS product (ol, amzn, el)
            out = self.aliases.get(_OS_IDS[key]) or (_OS_IDS[key] if _OS_IDS[key] in self.products else None)
        if out is None and key in FALLBACK_PRODUCTS and FALLBACK_PRODUCTS[key] in self.products:
            out = FALLBACK_PRODUCTS[key]   # "ea-php" typed with a catalog that has no panel PHP product
        if out is None:
            # "PHP 8.2", "nginx/1.24", "Apache HTTP Server 2.4": a name followed by a version
            nm = _NAME_THEN_VERSION.match(key)
            if nm and nm.group(1).strip() != key:
                out = self._resolve_id(nm.group(1).strip())
        if len(cache["names"]) < 50_000:
            cache["names"][key] = out
        return out

    def resolve_package(self, name: object) -> PackageMatch | None:
        """What a package name says (product, cycle in the name, vendor), for products in this catalog (a panel's
        PHP build falls back to php when the catalog has no product of its own for it)."""
        m = match_package(name)
        if m is None:
            return None
        if m.product not in self.products:
            fallback = FALLBACK_PRODUCTS.get(m.product)
            if fallback is None or fallback not in self.products:
                return None
            m = PackageMatch(fallback, m.cycle, m.vendor)
        return m

    def resolve_distro(self, distro: object) -> Distro | None:
        """The distro release as people and tools write it: ``debian-12``, ``bookworm``, ``Debian 12``,
        ``Rocky Linux 8``, ``AlmaLinux 9``, ``Ubuntu 22.04 LTS``, ``RHEL 9``, ``el8``, a PRETTY_NAME
        (``Debian GNU/Linux 12 (bookworm)``, ``Rocky Linux 8.10 (Green Obsidian)``), a point release
        (``debian 12.7``), or the os-release ID + VERSION_ID (``{"ID": "rocky", "VERSION_ID": "9.4"}`` or
        ``"rocky 9.4"``)."""
        if isinstance(distro, Distro):
            return distro
        if isinstance(distro, Mapping):
            ident = distro.get("ID") or distro.get("id")
            ver = distro.get("VERSION_ID") or distro.get("version_id") or distro.get("version")
            if not isinstance(ident, str) or not isinstance(ver, str | int | float) or isinstance(ver, bool):
                return None
            distro = f"{ident} {ver}"
        if not isinstance(distro, str):
            return None
        key = distro.strip().lower()
        if not key or len(key) > 200:
            return None
        did = self.distro_aliases.get(key)
        if did is None:
            cache = self._resolver_cache()["distros"]
            if key in cache:
                did = cache[key]
            else:
                did = self._parse_distro(key)
                if len(cache) < 10_000:
                    cache[key] = did
        return self.distros.get(did) if did else None

    def _parse_distro(self, key: str) -> str | None:
        words = key.replace("gnu/linux", " ").replace('"', " ")
        inner = re.findall(r"\(([^)]*)\)", words)
        words = re.sub(r"\([^)]*\)", " ", words)
        words = re.sub(r"\b(?:lts|release|server|version|edition|enterprise edition)\b", " ", words)
        m = re.match(r"^\s*([a-z][a-z /_.-]*?)[\s_:/=-]*v?(\d+(?:\.\d+)*)\b", words)
        if m is None:
            m = re.match(r"^\s*(el|rhel|ol|amzn|centos|rocky|alma|almalinux|debian|ubuntu)(\d+(?:\.\d+)*)\s*$", words)
        if m is not None:
            os_pid = self._os_product(m.group(1).strip(" /_.-"))
            if os_pid is not None:
                found = self._distro_for(os_pid, m.group(2))
                if (found is None and os_pid in _OS_SUCCESSORS  # os-release ID=centos VERSION_ID=9: Stream 9
                        and m.group(2).split(".")[0] not in self.products[os_pid].index):
                    found = self._distro_for(_OS_SUCCESSORS[os_pid], m.group(2))
                if found is not None:
                    return found
        # a codename anywhere: "Debian GNU/Linux trixie/sid", "Ubuntu (jammy)"
        for token in [*inner, *re.split(r"[\s/(),]+", key)]:
            did = self.distro_aliases.get(token.strip())
            if did is not None and not token.strip().isdigit():
                return did
        return None

    def _os_product(self, name: str) -> str | None:
        name = name.strip().lower()
        if name in _OS_IDS:
            name = _OS_IDS[name]
        slug = _slug(name)
        for cand in (name, slug, re.sub(r"-(?:linux|server|os)$", "", slug), slug.replace("-", "")):
            pid = self.aliases.get(cand) or self._resolver_cache()["labels"].get(cand)
            if pid is not None and pid in self._resolver_cache()["os_products"]:
                return pid
        return None

    def os_successor(self, product: Product, version: str) -> Product | None:
        """The OS product an os-release ID shared by two products means for this version (``centos`` 9 is CentOS
        Stream 9: the CentOS Linux product has no cycle 9); None when the product's own cycles apply."""
        succ = _OS_SUCCESSORS.get(product.id)
        major = version.split(".")[0]
        if succ is None or succ not in self.products or major in product.index:
            return None
        return self.products[succ] if major in self.products[succ].index else None

    def _distro_for(self, os_pid: str, version: str) -> str | None:
        """The release of ``os_pid`` whose OS cycle is the longest dotted prefix of ``version`` (12.7 -> 12,
        22.04.4 -> 22.04, 2023.5.20240805 -> 2023)."""
        parts = version.split(".")
        best: tuple[int, str] | None = None
        for d in self._resolver_cache()["os_products"].get(os_pid, ()):
            cparts = d.os_cycle.split(".")
            if parts[:len(cparts)] == cparts and (best is None or len(cparts) > best[0]):
                best = (len(cparts), d.id)
        return best[1] if best else None

    def _resolver_cache(self) -> dict[str, Any]:
        cache: dict[str, Any] | None = self.__dict__.get("_resolver")
        if cache is None:
            labels: dict[str, str] = {}
            for pid, prod in self.products.items():
                labels.setdefault(prod.label.lower(), pid)
                labels.setdefault(_slug(prod.label), pid)
            os_products: dict[str, list[Distro]] = {}
            for d in self.distros.values():
                os_products.setdefault(d.os_product, []).append(d)
            cache = {"labels": labels, "names": {}, "distros": {}, "os_products": os_products}
            self.__dict__["_resolver"] = cache
        return cache


_NAME_THEN_VERSION = re.compile(r"^([a-z][a-z0-9 ._+-]*?)[\s/:-]+v?\d+(?:\.\d+)*\b")
# os-release IDs and short forms that are not catalog aliases
_OS_IDS = {"el": "rhel", "ol": "oracle-linux", "amzn": "amazon-linux", "rocky": "rocky-linux", "alma": "almalinux",
           "red hat": "rhel", "redhat enterprise linux": "rhel", "centos linux": "centos", "sles_sap": "sles",
           "opensuse-leap": "opensuse", "cloudlinux os": "cloudlinux"}


# an os-release ID shared by two OS products: CentOS Stream 8+ reports ID=centos like CentOS Linux
_OS_SUCCESSORS = {"centos": "centos-stream"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.+]+", "-", text.lower()).strip("-")


# Which archive a release's own packages come from: (mark kind of s4.lifecycle.versions.package_marks, release in
# the mark, substrings of the package db origin/vendor that name that archive).
_ARCHIVES: dict[str, tuple[str, tuple[str, ...]]] = {
    "debian": ("debian", ("debian",)),
    "ubuntu": ("ubuntu", ("ubuntu", "canonical", "debian")),  # Ubuntu syncs Debian packages unchanged
    "rhel": ("el", ("red hat",)),
    "almalinux": ("el", ("almalinux",)),
    "rocky-linux": ("el", ("rocky",)),
    "centos": ("el", ("centos",)),
    "centos-stream": ("el", ("centos",)),
    "oracle-linux": ("el", ("oracle america",)),
    "cloudlinux": ("el", ("cloudlinux",)),
    "amazon-linux": ("amzn", ("amazon",)),
}


def _archive_of(distro: Distro) -> tuple[str | None, str, tuple[str, ...]]:
    """(mark kind, release as marked, origin substrings) of a distro release's own archive."""
    kind, origins = _ARCHIVES.get(distro.os_product) or _ARCHIVES.get(distro.family) or (None, ())
    release = distro.os_cycle
    if kind == "el":
        release = release.split(".")[0]
    return kind, release, origins


def distro_credit(distro: Distro, raw: object, origin: object = None) -> tuple[bool, str]:
    """Is a package with this version (and package db origin/vendor) known to come from ``distro``'s archive?

    Evidence, in order: the origin/vendor when the package db gave one; else the distro's release mark in the
    version (``~deb12u1``, ``+deb12``, ``ubuntu0.22.04``, ``.el9``, ``module+el8``). A bare ``-N`` revision (a
    self-built, cPanel or vendor package) is no evidence. Returns (credited, why not / how)."""
    kind, release, origins = _archive_of(distro)
    if kind is None:
        return False, f"{distro.label}: no rule for its package archive"
    if isinstance(origin, str) and origin.strip():
        o = origin.strip().lower()
        if any(x in o for x in origins):
            return True, f"package origin {origin.strip()!r}"
        return False, f"package origin {origin.strip()!r} is not {distro.label}'s archive"
    mark = package_marks(raw)
    if mark is None:
        return False, "no origin and no distro release mark in the version: not known to be the distro's package"
    if mark.kind == "vendor":
        if mark.vendor and any(x in mark.vendor for x in origins):   # the distro's own build mark (.cloudlinux)
            return True, f"{mark.vendor} release mark in the version"
        return False, f"a {mark.vendor} build, not {distro.label}'s package"
    if mark.kind != kind:
        return False, f"a {mark.kind} package revision, not {distro.label}'s"
    if mark.release is not None and mark.release != release:
        return False, f"built for {mark.kind} {mark.release}, not {distro.label}"
    return True, "distro release mark in the version"


def default_catalog_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "catalog"


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise CatalogError(f"{path}: missing") from exc
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: unreadable JSON: {exc}") from exc


_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (C or Python)
    except FileNotFoundError as exc:
        raise CatalogError(f"{path}: missing") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: unreadable YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping at the top level")
    return data


def _parse_history(raw: list[Any], where: str) -> list[tuple[Any, str, date | None]]:
    history: list[tuple[Any, str, date | None]] = []
    for h in raw or []:
        if not (isinstance(h, list) and len(h) == 2 and isinstance(h[0], str)):
            raise CatalogError(f"{where}: bad history entry {h!r}")
        try:
            hkey = upstream_key(h[0])
        except VersionError as exc:
            raise CatalogError(f"{where}: bad history version {h[0]!r}") from exc
        history.append((hkey, h[0], parse_date(h[1], f"{where} history {h[0]}")))
    history.sort(key=lambda t: t[0], reverse=True)
    return history


def product_from_json(data: Any, where: str, strict: bool = True) -> Product:
    """Build and validate one product from its JSON document (``strict=False``: release histories are
    parsed on first use instead of now; the committed catalog was validated strictly when generated)."""
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: expected an object")
    for key in ("id", "label", "category", "cycles"):
        if key not in data:
            raise CatalogError(f"{where}: '{key}' missing")
    if not isinstance(data["cycles"], list) or not data["cycles"]:
        raise CatalogError(f"{where}: no cycles")
    cycles: list[Cycle] = []
    seen: set[str] = set()
    for i, c in enumerate(data["cycles"]):
        w = f"{where}: cycles[{i}]"
        if not isinstance(c, dict):
            raise CatalogError(f"{w}: expected an object")
        name = c.get("cycle")
        if not isinstance(name, str) or not _CYCLE_RE.match(name):
            raise CatalogError(f"{w}: bad cycle id {name!r}")
        if name in seen:
            raise CatalogError(f"{w}: duplicate cycle {name!r}")
        seen.add(name)
        if "eol" not in c:
            raise CatalogError(f"{w} ({name}): 'eol' missing")
        raw_hist = c.get("history") or []
        if not isinstance(raw_hist, list):
            raise CatalogError(f"{w} ({name}): history must be a list")
        parsed = _parse_history(raw_hist, f"{w} ({name})") if strict else None
        ckey: Any
        try:
            ckey = upstream_key(name)
        except VersionError:
            ckey = ((0,), 0, name, 0)
        latest = c.get("latest")
        cycles.append(Cycle(
            cycle=name,
            release_date=parse_date(c.get("release_date"), f"{w} ({name}) release_date"),
            eoas=parse_phase(c.get("eoas"), f"{w} ({name}) eoas"),
            eol=parse_phase(c.get("eol"), f"{w} ({name}) eol"),
            eoes=parse_phase(c.get("eoes"), f"{w} ({name}) eoes"),
            lts=parse_phase(c.get("lts", False), f"{w} ({name}) lts"),
            latest=str(latest) if latest is not None else None,
            latest_date=parse_date(c.get("latest_date"), f"{w} ({name}) latest_date"),
            codename=c.get("codename") or None,
            custom={str(k): str(v) for k, v in (c.get("custom") or {}).items() if v is not None},
            history_raw=raw_hist,
            key=ckey,
            label=str(c["label"]) if c.get("label") else None,
            links=[str(u) for u in c.get("links") or []],
            _history=parsed,
            where=f"{w} ({name})",
        ))
    prod = Product(
        id=str(data["id"]),
        label=str(data["label"]),
        category=str(data["category"]),
        aliases=[str(a) for a in data.get("aliases") or []],
        labels={k: (str(v) if v is not None else None) for k, v in (data.get("labels") or {}).items()},
        cycles=cycles,
    )
    prod.build_index()
    return prod


def _load_distros(data: dict[str, Any], products: dict[str, Product],
                  aliases: dict[str, str]) -> tuple[dict[str, Distro], dict[str, str]]:
    raw = data.get("distros")
    if not isinstance(raw, dict) or not raw:
        raise CatalogError("distros.yaml: 'distros' mapping missing")
    families = data.get("families") or {}
    distros: dict[str, Distro] = {}
    dal: dict[str, str] = {}
    for did, d in raw.items():
        w = f"distros.yaml: {did}"
        if not isinstance(d, dict):
            raise CatalogError(f"{w}: expected a mapping")
        fam_name = d.get("family")
        fam = families.get(fam_name)
        if not isinstance(fam, dict):
            raise CatalogError(f"{w}: unknown family {fam_name!r}")
        os_product = str(d.get("os_product", fam.get("os_product")) or "")
        os_cycle = str(d.get("os_cycle", ""))
        prod = products.get(os_product)
        if prod is None or os_cycle not in prod.index:
            raise CatalogError(f"{w}: OS cycle {os_product} {os_cycle} not in the catalog")
        ships_src = d.get("ships")
        if isinstance(ships_src, str):  # "same as rhel-9"
            if ships_src not in raw or not isinstance(raw[ships_src].get("ships"), dict):
                raise CatalogError(f"{w}: ships refers to unknown distro {ships_src!r}")
            ships_src = raw[ships_src]["ships"]
        base = d.get("ships_from")
        if base is not None:  # a rebuild: the base release's ships, then its own additions
            if base not in raw or not isinstance(raw[base].get("ships"), dict):
                raise CatalogError(f"{w}: ships_from refers to unknown distro {base!r}")
            merged = {p: dict(c) for p, c in raw[base]["ships"].items()}
            for p, c in (ships_src or {}).items():
                merged.setdefault(p, {}).update(c or {})
            ships_src = merged
        # ---- support windows: generated `support` (distro-info, Red Hat, endoflife.date; each with its source)
        # or, for a hand-written file without it, the OS product's cycle through the family's phase mapping
        phases = dict(fam.get("phases") or {})
        package_phase = str(fam.get("package_phase", "eol"))
        cyc = prod.index[os_cycle]
        windows: dict[str, date | None] = {"release": cyc.release_date}
        support = d.get("support")
        pend: date | None
        if isinstance(support, dict):
            for wname, val in support.items():
                if wname != "source":
                    windows[str(wname)] = parse_date(val, f"{w} support.{wname}")
            pwin = str(fam.get("package_window", "regular"))
            pend = windows.get(pwin) or windows.get("regular")
        else:
            for wname, phase in phases.items():
                v = getattr(cyc, phase)
                windows[wname] = v if isinstance(v, date) else None
            pv = getattr(cyc, package_phase)
            pend = pv if isinstance(pv, date) else (cyc.eol if isinstance(cyc.eol, date) else None)
        ships: dict[str, dict[str, Any]] = {}
        ships_source: dict[str, dict[str, str]] = {}
        for p, cycles in (ships_src or {}).items():
            pid = aliases.get(str(p).lower())
            if pid is None:
                raise CatalogError(f"{w}: ships unknown product {p!r}")
            if not isinstance(cycles, dict):
                raise CatalogError(f"{w}: ships.{p} must map cycle -> distro|upstream|date")
            entry: dict[str, Any] = {}
            for cyc_id, how in cycles.items():
                cyc_id = str(cyc_id)
                if cyc_id not in products[pid].index:
                    raise CatalogError(f"{w}: ships {p} {cyc_id}, a cycle the catalog does not know")
                if isinstance(how, dict):  # generated form: {support: distro|upstream|date, source: ...}
                    if how.get("source"):
                        ships_source.setdefault(pid, {})[cyc_id] = str(how["source"])
                    how = how.get("support")
                if how in ("distro", "upstream"):
                    entry[cyc_id] = how
                else:
                    end = parse_date(how, f"{w} ships {p} {cyc_id}", required=True)
                    # no vendor supports a package past the release's own end (rebuilds reuse RHEL's dates)
                    entry[cyc_id] = min(end, pend) if (end is not None and pend is not None) else end
            ships[pid] = entry
        extended = dict(d.get("extended") or {})
        dist = Distro(
            id=str(did), label=str(d.get("label", did)), family=str(fam_name), os_product=os_product,
            os_cycle=os_cycle, phases=phases, package_phase=package_phase,
            extended=extended, ships=ships, notes=dict(d.get("notes") or {}),
            repos=dict(fam.get("repos") or {}), windows=windows, package_support_end=pend,
            aliases=[str(a) for a in d.get("aliases") or []],
            ships_source=ships_source,
            support_source=str(support.get("source")) if isinstance(support, dict) and support.get("source") else None,
            exceptions=[dict(x) for x in d.get("exceptions") or [] if isinstance(x, dict)],
        )
        distros[dist.id] = dist
        for a in [dist.id, dist.id.replace("-", ""), *dist.aliases]:
            dal[a.lower()] = dist.id
    return distros, dal
