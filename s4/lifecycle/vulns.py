"""Known vulnerabilities of front-end libraries, from the Retire.js repository.

The facts (version ranges, severities, CVE/GHSA identifiers, links) are imported by :func:`update` from a copy of
Retire.js's ``jsrepository-v4.json`` into ``s4/data/retirejs/vulnerabilities.json`` (committed; nothing is read
from outside the project at run time). ``scripts/update_catalog --retirejs DIR`` regenerates it.

Matching is Retire.js's own rule (``check()`` in its ``retire.js``): an advisory applies to a version when

* the advisory has no ``below``, or the version is below ``below``;
* the advisory has no ``atOrAbove``, or the version is at or above it;
* the version is not listed in the advisory's ``excludes``.

Advisories without a CVE or GHSA id (Retire.js's own ``retid``, an upstream issue or bug number: "info-only"
entries) and Retire.js's end-of-life markers (e.g. "jQuery 1.x and 2.x are End-of-Life", ``below: 2.999.999``)
apply exactly like the others. Versions are ordered by the project's one upstream comparator
(:func:`s4.lifecycle.versions.upstream_key`).

The first fixed version is the lowest release above the found version that no advisory of the library covers. The
candidates are the advisories' ``below`` bounds (where a covered range ends): a release bound as it is, a
pre-release bound (``4.0.0-beta.2``) by its release (``4.0.0``), and an end-of-life marker (``3.999.999``: "every
3.x") by the first version of the next line (``4.0.0``); a marker without a next line (``999.999.999``) ends every
candidate. When every candidate is covered, there is no fixed version and the verdict says so.

Pure Python, no I/O except reading (and, in :func:`update`, writing) the data files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s4.lifecycle.versions import VersionError, upstream_key

SCHEMA = 1
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "retirejs"
DATA_FILE = "vulnerabilities.json"
SOURCE_FILE = "jsrepository-v4.json"

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

# verdict statuses
VULNERABLE = "vulnerable"
NONE_KNOWN = "none-known"     # the library is in the data and no advisory covers the version
UNKNOWN = "unknown"           # no data for the library, or no usable version

# Retire.js entries that are not libraries: the format's example and its list of URIs to skip
_NOT_LIBRARIES = frozenset({"retire-example", "dont check"})

# Project product ids (endoflife.date ids / discovery's names, docs/CONTRACTS.md §1) whose Retire.js component has
# another name. Every other product matches the component of the same name, case-insensitively (jquery, lodash,
# bootstrap, angularjs, react, vue ...). "angular" is Angular 2+ (@angular/core), not AngularJS (npm "angular").
PRODUCT_COMPONENTS: dict[str, str] = {
    "angular": "@angular/core",
    "backbone": "backbone.js",
    "chartjs": "chart.js",
    "datatables": "jquery.datatables",
    "dompurify": "DOMPurify",
    "ember": "ember",
    "extjs": "ExtJS",
    "highlight.js": "highlightjs",
    "jplayer": "jPlayer",
    "moment": "moment.js",
    "mustache": "mustache.js",
    "next.js": "nextjs",
    "next": "nextjs",
    "pdfjs": "pdf.js",
    "pdfjs-dist": "pdf.js",
    "prototype": "prototypejs",
    "three": "threejs",
    "three.js": "threejs",
    "tinymce": "tinyMCE",
    "underscore": "underscore.js",
    "yui": "YUI",
}

# a version as Retire.js extracts one (``§§version§§`` = ``[0-9][0-9.a-z_\-]+``), upper case and '+' allowed
_VERSION_RE = re.compile(r"^[0-9][0-9A-Za-z._+-]{0,63}$")
_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_GHSA_RE = re.compile(r"^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$")
_REF_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
_LINK_RE = re.compile(r"^https?://[^\s\"'<>\\]{1,2000}$")
_CWE_RE = re.compile(r"^CWE-\d{1,5}$")
_SENTINEL_PART = 999          # Retire.js writes "every release of this line" as X.999.999 / X.999 / 999.999.999
MAX_SUMMARY = 500
MAX_LINKS = 3


class VulnDataError(ValueError):
    """The vulnerability data (or the Retire.js source) is missing, corrupt or inconsistent."""


# ------------------------------------------------------------------------------------------ ordering


@functools.lru_cache(maxsize=16384)
def _key(version: str) -> Any:
    """The one upstream ordering of the project (s4.lifecycle.versions)."""
    return upstream_key(version)


def _lt(a: str, b: str) -> bool:
    return bool(_key(a) < _key(b))


def is_above(a: str, b: str) -> bool:
    """Whether version ``a`` sorts above ``b`` (the project's upstream ordering)."""
    return _lt(b, a)


def _is_prerelease(version: str) -> bool:
    return any(c.isalpha() for c in version)


def _release_of(version: str) -> str:
    """``4.0.0-beta.2`` -> ``4.0.0``, ``1.9.0b1`` -> ``1.9.0``, ``1.0RC2`` -> ``1.0``: the numeric head."""
    m = re.match(r"\d+(?:\.\d+)*", version)
    return m.group(0) if m else version


def _marker_split(version: str) -> int | None:
    """Index where a run of trailing ``999`` parts starts (``3.999.999`` -> 1, ``999.999.999`` -> 0), or None."""
    nums = [int(p) for p in _release_of(version).split(".")]
    k = len(nums)
    while k > 0 and nums[k - 1] == _SENTINEL_PART:
        k -= 1
    return k if k < len(nums) else None


def is_marker(version: str) -> bool:
    """Whether a bound is an end-of-life marker (``2.999.999``: "every 2.x") rather than a release."""
    return _marker_split(version) is not None


def _next_line(version: str) -> str | None:
    """For an end-of-life marker, the first version of the next line (``3.999.999`` -> ``4.0.0``, ``1.999`` ->
    ``2.0``); None when it has no next line (``999.999.999``) or is not a marker."""
    k = _marker_split(version)
    if not k:
        return None
    nums = [int(p) for p in _release_of(version).split(".")]
    head = nums[:k]
    head[-1] += 1
    return ".".join(str(n) for n in head + [0] * (len(nums) - k))


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Advisory:
    """One Retire.js vulnerability entry of a library."""

    component: str
    below: str | None
    at_or_above: str | None
    excludes: tuple[str, ...]
    severity: str                       # low | medium | high | critical | unknown
    cves: tuple[str, ...]
    ghsa: str | None
    refs: tuple[tuple[str, str], ...]   # other identifiers: (retid, 73), (issue, 162), (bug, 11290) ...
    summary: str
    cwe: tuple[str, ...]
    links: tuple[str, ...]

    def applies(self, version: str) -> bool:
        """Retire.js's rule: below ``below`` (when set), at or above ``atOrAbove`` (when set), not excluded."""
        if self.below is not None and not _lt(version, self.below):
            return False
        if self.at_or_above is not None and _lt(version, self.at_or_above):
            return False
        return version not in self.excludes

    @property
    def ids(self) -> list[str]:
        """CVE ids, then the GHSA id; without either, the Retire.js or upstream reference (``retid 73``)."""
        out = list(self.cves) + ([self.ghsa] if self.ghsa else [])
        if not out:
            out = [f"{k} {v}" for k, v in self.refs]
        return out

    @property
    def range_text(self) -> str:
        if self.below is None:
            lo = f">= {self.at_or_above}" if self.at_or_above else "every version"
            return lo
        if self.at_or_above and self.at_or_above != "0":
            return f">= {self.at_or_above}, < {self.below}"
        return f"< {self.below}"

    @property
    def end_of_life(self) -> bool:
        """Retire.js's end-of-life entries ("jQuery 1.x and 2.x are End-of-Life"): CWE-1104, unmaintained
        third-party component. (An advisory with no upper bound, such as AngularJS's CVE-2022-25844, is a real
        vulnerability that will never be fixed, not an end-of-life entry.)"""
        return "CWE-1104" in self.cwe

    def to_dict(self) -> dict[str, Any]:
        return {
            "ids": self.ids, "cves": list(self.cves), "ghsa": self.ghsa,
            "refs": [{"type": k, "id": v} for k, v in self.refs],
            "severity": self.severity, "summary": self.summary,
            "below": self.below, "at_or_above": self.at_or_above, "excludes": list(self.excludes),
            "range": self.range_text, "end_of_life": self.end_of_life,
            "cwe": list(self.cwe), "links": list(self.links),
        }


@dataclass(frozen=True)
class VulnVerdict:
    """The vulnerability verdict for one library version."""

    product: str
    version: str | None
    component: str | None                 # Retire.js component name
    status: str                           # vulnerable | none-known | unknown
    reason: str
    advisories: tuple[Advisory, ...] = ()
    fixed_version: str | None = None      # lowest release above `version` no advisory covers
    fixed_note: str = ""                  # why there is none, or what the fix leaves (e.g. end-of-life line)
    source: str = ""

    @property
    def severity(self) -> str | None:
        if not self.advisories:
            return None
        return max((a.severity for a in self.advisories), key=lambda s: SEVERITY_RANK.get(s, -1))

    @property
    def ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for a in self.advisories:
            for i in a.ids:
                seen.setdefault(i, None)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product, "version": self.version, "component": self.component,
            "status": self.status, "severity": self.severity, "count": len(self.advisories), "ids": self.ids,
            "fixed_version": self.fixed_version, "fixed_note": self.fixed_note, "reason": self.reason,
            "source": self.source, "advisories": [a.to_dict() for a in self.advisories],
        }


@dataclass
class VulnDB:
    """The imported Retire.js facts: ``check(product, version)`` gives a :class:`VulnVerdict`."""

    components: dict[str, tuple[Advisory, ...]]
    source: dict[str, Any] = field(default_factory=dict)
    _by_lower: dict[str, str] = field(default_factory=dict, repr=False)
    _candidates: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _memo: dict[tuple[str, str], VulnVerdict] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_lower = {c.lower(): c for c in self.components}

    @classmethod
    def from_data(cls, data: Any) -> VulnDB:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise VulnDataError(f"vulnerability data: schema {SCHEMA} expected")
        comps = data.get("components")
        if not isinstance(comps, dict):
            raise VulnDataError("vulnerability data: 'components' must be a mapping")
        out: dict[str, tuple[Advisory, ...]] = {}
        for name, entry in comps.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("advisories"), list):
                raise VulnDataError(f"vulnerability data: component {name!r}: 'advisories' list expected")
            out[str(name)] = tuple(_advisory_from_data(str(name), i, a) for i, a in enumerate(entry["advisories"]))
        src = data.get("source")
        return cls(out, dict(src) if isinstance(src, dict) else {})

    @classmethod
    def load(cls, path: Path | str) -> VulnDB:
        p = Path(path)
        if p.is_dir():
            p = p / DATA_FILE
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VulnDataError(f"cannot read {p}: {exc}") from exc
        return cls.from_data(data)

    @property
    def source_text(self) -> str:
        s = self.source
        if not s:
            return "Retire.js"
        return f"Retire.js {str(s.get('commit') or '')[:10]} ({s.get('date') or 'undated'})".replace("  ", " ")

    def component_for(self, product: str | None) -> str | None:
        """The Retire.js component of a project product id (discovery's names), or None."""
        if not isinstance(product, str) or not product:
            return None
        p = product.strip().lower()
        name = PRODUCT_COMPONENTS.get(p)
        if name is not None and name in self.components:
            return name
        return self._by_lower.get(p)

    def check(self, product: str, version: Any) -> VulnVerdict:
        """The verdict for ``product`` at ``version`` (never raises on bad input: status ``unknown`` + reason)."""
        comp = self.component_for(product)
        src = self.source_text
        if comp is None:
            return VulnVerdict(str(product), _text(version), None, UNKNOWN,
                               f"no vulnerability data for {product!r} in {src}", source=src)
        v = normalise_version(version)
        if v is None:
            return VulnVerdict(str(product), _text(version), comp, UNKNOWN,
                               f"no usable version ({_text(version)!r}) to check against {src}", source=src)
        memo_key = (str(product), v)
        if memo_key in self._memo:
            return self._memo[memo_key]
        if len(self._memo) > 65536:
            self._memo.clear()
        verdict = self._check(str(product), comp, v, src)
        self._memo[memo_key] = verdict
        return verdict

    def _check(self, product: str, comp: str, v: str, src: str) -> VulnVerdict:
        advisories = self.components[comp]
        try:
            hits = tuple(a for a in advisories if a.applies(v))
        except VersionError as exc:
            return VulnVerdict(str(product), v, comp, UNKNOWN, f"version not comparable: {exc}", source=src)
        if not hits:
            return VulnVerdict(str(product), v, comp, NONE_KNOWN,
                               f"{product} {v}: no known advisory in {src} ({len(advisories)} checked)",
                               source=src)
        if comp not in self._candidates:
            self._candidates[comp] = _candidates(advisories)
        fixed, note = first_fixed(advisories, v, self._candidates[comp])
        worst = max((a.severity for a in hits), key=lambda s: SEVERITY_RANK.get(s, -1))
        fix_text = f"first release without a known advisory: {fixed}" if fixed else note
        reason = f"{product} {v}: {len(hits)} known advisor{'y' if len(hits) == 1 else 'ies'} " \
                 f"(highest severity {worst}) in {src}; {fix_text}"
        return VulnVerdict(str(product), v, comp, VULNERABLE, reason, hits, fixed, note if fixed is None else "",
                           source=src)


def _text(v: Any) -> str | None:
    return None if v is None else str(v)[:64]


def normalise_version(version: Any) -> str | None:
    """A found library version (untrusted: tenant files) as compared: ``v1.2.3`` -> ``1.2.3``; None if unusable."""
    if not isinstance(version, str):
        return None
    v = version.strip()
    if v[:1] in ("v", "V"):
        v = v[1:]
    if not _VERSION_RE.match(v):
        return None
    try:
        _key(v)
    except VersionError:
        return None
    return v


def _candidates(advisories: Iterable[Advisory]) -> list[str]:
    """Release versions where a covered range may end (module docstring)."""
    out: set[str] = set()
    for a in advisories:
        if a.below is None:
            continue
        if is_marker(a.below):
            nxt = _next_line(a.below)
            if nxt is not None:
                out.add(nxt)
        elif _is_prerelease(a.below):
            out.add(_release_of(a.below))
        else:
            out.add(a.below)
    return sorted(out, key=_key)


def first_fixed(advisories: tuple[Advisory, ...], version: str,
                candidates: list[str] | None = None) -> tuple[str | None, str]:
    """(lowest release above ``version`` that no advisory covers, or None; why there is none). ``candidates``:
    :func:`_candidates` of the same advisories, when the caller keeps them."""
    open_ended = [a for a in advisories if a.applies(version) and a.below is None]
    if open_ended:
        return None, "no fixed version exists: an advisory covers every later version (" + \
            ", ".join(open_ended[0].ids) + ")"
    for c in candidates if candidates is not None else _candidates(advisories):
        if not _lt(version, c):
            continue
        if not any(a.applies(c) for a in advisories):
            return c, ""
    last = [a for a in advisories if a.below is not None and is_marker(a.below) and _next_line(a.below) is None
            and a.applies(version)]
    if last:
        return None, "no fixed version exists: every later release is covered by an advisory (" + \
            ", ".join(last[0].ids) + "); replace the library"
    return None, "no fixed version is known: every later release named by the advisories is itself affected"


# ------------------------------------------------------------------------------------------ loading


def _advisory_from_data(comp: str, i: int, a: Any) -> Advisory:
    where = f"vulnerability data: {comp}[{i}]"
    if not isinstance(a, dict):
        raise VulnDataError(f"{where}: mapping expected")

    def bound(key: str) -> str | None:
        v = a.get(key)
        if v is None:
            return None
        if not isinstance(v, str) or not _VERSION_RE.match(v):
            raise VulnDataError(f"{where}: {key} {v!r} is not a version")
        return v

    sev = a.get("severity", "unknown")
    if sev not in SEVERITIES and sev != "unknown":
        raise VulnDataError(f"{where}: severity {sev!r}")
    cves = tuple(a.get("cve") or ())
    ghsa = a.get("ghsa")
    if any(not isinstance(c, str) or not _CVE_RE.match(c) for c in cves):
        raise VulnDataError(f"{where}: bad CVE id in {cves!r}")
    if ghsa is not None and (not isinstance(ghsa, str) or not _GHSA_RE.match(ghsa)):
        raise VulnDataError(f"{where}: bad GHSA id {ghsa!r}")
    links = tuple(a.get("links") or ())
    if any(not isinstance(u, str) or not _LINK_RE.match(u) for u in links):
        raise VulnDataError(f"{where}: links must be http(s) URLs")
    refs = a.get("refs") or {}
    if not isinstance(refs, dict) or any(not _REF_KEY_RE.match(str(k)) for k in refs):
        raise VulnDataError(f"{where}: refs must map reference types to ids")
    excludes = a.get("excludes") or []
    if not isinstance(excludes, list) or any(not isinstance(x, str) for x in excludes):
        raise VulnDataError(f"{where}: excludes must be a list of versions")
    summary = a.get("summary") or ""
    if not isinstance(summary, str):
        raise VulnDataError(f"{where}: summary must be text")
    return Advisory(
        component=comp, below=bound("below"), at_or_above=bound("atOrAbove"), excludes=tuple(excludes),
        severity=sev, cves=cves, ghsa=ghsa, refs=tuple((str(k), str(v)) for k, v in sorted(refs.items())),
        summary=summary, cwe=tuple(str(c) for c in a.get("cwe") or ()), links=links)


@functools.lru_cache(maxsize=1)
def default_db() -> VulnDB:
    """The committed data (s4/data/retirejs/), loaded once."""
    return VulnDB.load(DATA_DIR / DATA_FILE)


# ------------------------------------------------------------------------------------------ generation


def _plain(text: Any, limit: int = MAX_SUMMARY) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3].rstrip() + "..."


def _convert_entry(comp: str, i: int, v: Any) -> dict[str, Any]:
    where = f"{SOURCE_FILE}: {comp} vulnerability {i}"
    if not isinstance(v, dict):
        raise VulnDataError(f"{where}: mapping expected")
    out: dict[str, Any] = {}
    for key in ("below", "atOrAbove"):
        if key in v:
            b = v[key]
            if not isinstance(b, str) or not _VERSION_RE.match(b):
                raise VulnDataError(f"{where}: {key} {b!r} is not a version")
            out[key] = b
    if "excludes" in v:
        ex = v["excludes"]
        if not isinstance(ex, list) or any(not isinstance(x, str) for x in ex):
            raise VulnDataError(f"{where}: excludes must be a list of versions")
        out["excludes"] = sorted(set(ex))
    sev = v.get("severity")
    if sev is None:
        sev = "unknown"
    if not isinstance(sev, str) or sev.lower() not in (*SEVERITIES, "unknown"):
        raise VulnDataError(f"{where}: unknown severity {sev!r}")
    out["severity"] = sev.lower()
    ids = v.get("identifiers") or {}
    if not isinstance(ids, dict):
        raise VulnDataError(f"{where}: identifiers must be a mapping")
    cves, refs = [], {}
    raw_cves = ids.get("CVE") or []
    for c in raw_cves if isinstance(raw_cves, list) else [raw_cves]:
        c = str(c).strip()
        if _CVE_RE.match(c):
            cves.append(c)
        elif c:
            refs["cve-as-written"] = c      # e.g. DWR's "CVE-2007-01-09": kept, not presented as a CVE id
    out["cve"] = sorted(set(cves))
    ghsa = ids.get("githubID")
    if ghsa is not None:
        if not isinstance(ghsa, str) or not _GHSA_RE.match(ghsa):
            raise VulnDataError(f"{where}: bad GHSA id {ghsa!r}")
        out["ghsa"] = ghsa
    for k, val in sorted(ids.items()):
        if k in ("CVE", "githubID", "summary"):
            continue
        if not _REF_KEY_RE.match(k):
            raise VulnDataError(f"{where}: identifier type {k!r}")
        refs[k] = ", ".join(str(x) for x in val) if isinstance(val, list) else _plain(val, 200)
    if refs:
        out["refs"] = dict(sorted(refs.items()))
    if ids.get("summary"):
        out["summary"] = _plain(ids["summary"])
    cwe = [c for c in v.get("cwe") or [] if isinstance(c, str) and _CWE_RE.match(c)]
    if cwe:
        out["cwe"] = cwe
    links = []
    for u in v.get("info") or []:
        if isinstance(u, str) and _LINK_RE.match(u.strip()) and u.strip() not in links:
            links.append(u.strip())
    out["links"] = links[:MAX_LINKS]
    return out


def source_info(src_dir: Path, raw: bytes) -> dict[str, Any]:
    """Where the copy came from: the repository commit and date its README states, and the file's SHA-256."""
    info: dict[str, Any] = {
        "name": "Retire.js vulnerability repository",
        "repository": "https://github.com/RetireJS/retire.js",
        "path": f"repository/{SOURCE_FILE}",
        "license": "Apache-2.0",
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    readme = src_dir / "README.md"
    text = readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else ""
    m = re.search(r"\bcommit\s+([0-9a-f]{40})\b(?:\s*\((\d{4}-\d{2}-\d{2})\))?", text)
    if not m:
        raise VulnDataError(f"{readme}: no 'commit <40 hex> (YYYY-MM-DD)' line: the snapshot's version is needed")
    info["commit"] = m.group(1)
    info["date"] = m.group(2)
    return info


def convert(repo: Any, source: dict[str, Any], *, min_components: int = 10) -> dict[str, Any]:
    """Retire.js ``jsrepository-v4.json`` (parsed) -> the project's data (only what the verdicts use)."""
    if not isinstance(repo, dict) or not repo:
        raise VulnDataError(f"{SOURCE_FILE}: a non-empty mapping of libraries expected")
    comps: dict[str, Any] = {}
    for name in sorted(repo):
        entry = repo[name]
        if name in _NOT_LIBRARIES:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("vulnerabilities", []), list):
            raise VulnDataError(f"{SOURCE_FILE}: {name}: vulnerabilities list expected")
        advs = [_convert_entry(name, i, v) for i, v in enumerate(entry.get("vulnerabilities") or [])]
        if not advs:
            continue
        comps[name] = {"advisories": advs}
    if len(comps) < min_components:
        raise VulnDataError(f"{SOURCE_FILE}: only {len(comps)} libraries with vulnerabilities: partial file?")
    data = {
        "schema": SCHEMA,
        "source": source,
        "modified": ("generated by s4.lifecycle.vulns.update: only each library's vulnerabilities are kept "
                     "(extractors, hashes, licences and package names dropped); identifiers split into cve/ghsa/refs, "
                     "summaries whitespace-normalised, links limited to http(s)"),
        "counts": {"components": len(comps), "advisories": sum(len(c["advisories"]) for c in comps.values())},
        "components": comps,
    }
    VulnDB.from_data(data)  # what is written must load
    return data


def render(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _atomic_write(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def update(src_dir: Path | str, out_dir: Path | str | None = None, *, check: bool = False) -> list[str]:
    """Regenerate ``out_dir`` (default: the committed data) from a Retire.js copy (``jsrepository-v4.json``,
    ``README.md`` naming the commit, ``LICENSE.md``). Returns the files that differ (``check``: nothing written)."""
    src = Path(src_dir)
    out = Path(out_dir) if out_dir is not None else DATA_DIR
    try:
        raw = (src / SOURCE_FILE).read_bytes()
        repo = json.loads(raw)
        licence = (src / "LICENSE.md").read_bytes()
    except (OSError, ValueError) as exc:
        raise VulnDataError(f"cannot read the Retire.js copy in {src}: {exc}") from exc
    if b"Apache License" not in licence:
        raise VulnDataError(f"{src / 'LICENSE.md'}: not the Apache License of Retire.js")
    info = source_info(src, raw)
    files = {DATA_FILE: render(convert(repo, info)), "LICENSE": licence, "NOTICE": notice(info).encode("utf-8")}
    changed = []
    for name, content in files.items():
        p = out / name
        if not p.is_file() or p.read_bytes() != content:
            changed.append(name)
    if not check and changed:
        out.mkdir(parents=True, exist_ok=True)
        for name in changed:
            _atomic_write(out / name, files[name])
    return changed


def notice(info: dict[str, Any]) -> str:
    return (
        "S4 Toolkit: front-end library vulnerability data\n\n"
        f"{DATA_FILE} is derived from the Retire.js vulnerability repository\n"
        f"({info['repository']}, file {info['path']},\n"
        f"commit {info['commit']}, {info.get('date') or 'undated'}; SHA-256 {info['sha256']}).\n"
        "Copyright (c) the Retire.js authors (Erlend Oftedal and contributors).\n"
        "Licensed under the Apache License, Version 2.0: see LICENSE in this directory.\n\n"
        "Changes: only the libraries' vulnerability entries are kept (extractors, hashes and licence fields are\n"
        "dropped), identifiers are split into CVE / GHSA / other references, summaries are whitespace-normalised\n"
        "and links are limited to http(s) URLs. No Retire.js code is included. Regenerate with\n"
        "scripts/update_catalog --retirejs DIR (s4/lifecycle/vulns.py).\n"
    )


# ------------------------------------------------------------------------------------------ command


def register(subparsers: Any) -> None:
    """``s4 vulns PRODUCT VERSION [--json]``: the known vulnerabilities of a front-end library version."""
    p = subparsers.add_parser("vulns", help="known vulnerabilities of a front-end library version (Retire.js data)",
                              description=register.__doc__)
    p.add_argument("product", help="library as discovery names it (jquery, jquery-ui, lodash, moment, underscore, "
                                   "bootstrap, angularjs ...) or its Retire.js name (moment.js, underscore.js)")
    p.add_argument("version", help="version found (1.12.4, v4.17.20)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)


def run(args: Any) -> int:
    try:
        v = default_db().check(args.product, args.version)
    except VulnDataError as exc:
        print(f"s4 vulns: {exc}")
        return 2
    if args.json:
        print(json.dumps(v.to_dict(), indent=2, sort_keys=True))
        return 0
    print(f"{v.product} {v.version or '?'}: {v.status}")
    print(f"  {v.reason}")
    if v.status == VULNERABLE:
        print(f"  first fixed version: {v.fixed_version}" if v.fixed_version else f"  {v.fixed_note}")
        for a in sorted(v.advisories, key=lambda a: (-SEVERITY_RANK.get(a.severity, -1), a.ids)):
            print(f"  {a.severity:<8} {', '.join(a.ids)}  [{a.range_text}]  {a.summary[:100]}")
    return 0
