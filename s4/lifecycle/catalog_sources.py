"""Readers of the catalog's upstream sources and the generator of ``distros.yaml`` (used by scripts/update_catalog).

Sources (read at generation time only; the committed catalog is what the engine reads at run time):

- Red Hat's Application Streams data (RedHatInsights/digital-roadmap-backend ``src/roadmap/data``:
  ``modules.py``, ``packages.py``, ``systems.py``): parsed with :mod:`ast` as data, never imported;
- ``distro-info-data`` (``debian.csv``, ``ubuntu.csv``): Debian and Ubuntu release windows;
- ``debian-security-support`` (``security-support-ended.debN``, ``security-support-limited``): per-package
  exceptions to Debian's security support;
- the endoflife.date OS products (already converted into the catalog's products) for the other releases.

Every generated distro entry names its source and the source's version (``source`` / ``ships_source`` keys).
"""

from __future__ import annotations

import ast
import csv
import html
import re
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from s4.lifecycle.versions import VersionError, cycle_for_version, upstream_key


class SourceError(ValueError):
    """A source file is missing or not in the expected shape."""


# ------------------------------------------------------------------------------------------ plain text

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")   # a tag, not "<8.6" in a version range
_HREF = re.compile(r"""<a\s[^>]*href\s*=\s*["']([^"']+)["']""", re.I)
_MD_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
_BARE_URL = re.compile(r"https?://[^\s<>\"')]+")
_SPACES = re.compile(r"\s+")


def plain_text(value: Any) -> tuple[str | None, list[str]]:
    """Text without HTML or Markdown markup, and the links it contained (in order, deduplicated).

    ``Debian <abbr title="Long Term Support">LTS</abbr>`` -> ``Debian LTS``;
    ``see <a href="https://x">notes</a>`` -> (``see notes``, [``https://x``]); ``[a](https://y)`` -> ``a``.
    """
    if value is None:
        return None, []
    text = str(value)
    links = _HREF.findall(text) + [m.group(2) for m in _MD_LINK.finditer(text)]
    text = _MD_LINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    links += _BARE_URL.findall(text)
    text = _SPACES.sub(" ", text).strip()
    seen: list[str] = []
    for link in links:
        if link not in seen:
            seen.append(link)
    return text, seen


# ------------------------------------------------------------------------------------------ helpers


def _date(v: Any) -> str | None:
    if v is None or v == "":
        return None
    try:
        return date.fromisoformat(str(v)[:10]).isoformat()
    except ValueError as exc:
        raise SourceError(f"bad date {v!r}") from exc


def package_version(name: str, directory: Path) -> str:
    """Version of a source given as a directory: ``<dir>/SOURCE_VERSION`` (test fixtures, copies) or dpkg."""
    vf = directory / "SOURCE_VERSION"
    if vf.is_file():
        return vf.read_text(encoding="utf-8").strip()
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", name], capture_output=True, text=True,
                             check=False, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SourceError(f"{name}: version unknown ({exc}); add {vf}") from exc
    if out.returncode != 0 or not out.stdout.strip():
        raise SourceError(f"{name}: not installed (apt-get install {name}) and no {vf}")
    return out.stdout.strip()


# ------------------------------------------------------------------------------------------ Red Hat


@dataclass
class RedHatSource:
    """Red Hat's Application Streams data, parsed as data."""

    version: str
    streams: list[dict[str, Any]] = field(default_factory=list)      # modules + packages
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)  # "8" -> {start_date, end_date, ...}

    @property
    def label(self) -> str:
        return f"Red Hat Application Streams data ({self.version})"


def _ast_value(node: ast.AST, where: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Attribute):          # AppStreamType.full -> "full"
        return node.attr
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "date":
        try:
            return date(*(int(str(a.value)) for a in node.args if isinstance(a, ast.Constant))).isoformat()
        except (TypeError, ValueError) as exc:
            raise SourceError(f"{where}: bad date call") from exc
    raise SourceError(f"{where}: unexpected expression {ast.dump(node)[:80]}")


def _calls(tree: ast.AST, func: str, where: str) -> list[dict[str, Any]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == func:
            out.append({kw.arg: _ast_value(kw.value, where) for kw in node.keywords if kw.arg})
    return out


def read_redhat(directory: Path) -> RedHatSource:
    """Parse modules.py, packages.py and systems.py of the Red Hat data directory (with :mod:`ast`)."""
    readme = directory / "README.md"
    version = "unknown version"
    if readme.is_file():
        m = re.search(r"commit\s+([0-9a-f]{7,40})\s*\((\d{4}-\d\d-\d\d)\)", readme.read_text(encoding="utf-8"))
        if m:
            version = f"commit {m.group(1)[:12]} of {m.group(2)}"
    src = RedHatSource(version=version)
    for name, impl in (("modules.py", "module"), ("packages.py", "package")):
        f = directory / name
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        except (OSError, SyntaxError) as exc:
            raise SourceError(f"{f}: unreadable: {exc}") from exc
        for e in _calls(tree, "AppStreamEntity", str(f)):
            if not e.get("name") or not e.get("application_stream_name"):
                raise SourceError(f"{f}: entry without name/application_stream_name: {e}")
            major = e.get("os_major")
            if major is None and e.get("initial_product_version"):
                major = int(str(e["initial_product_version"]).split(".")[0])
            e["os_major"] = int(major) if major is not None else None
            e["kind"] = impl
            src.streams.append(e)
    f = directory / "systems.py"
    try:
        tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
    except (OSError, SyntaxError) as exc:
        raise SourceError(f"{f}: unreadable: {exc}") from exc
    for e in _calls(tree, "RHELLifecycle", str(f)):
        if e.get("minor") is None and e.get("major") is not None:
            src.systems[str(e["major"])] = e
    if not src.streams or not src.systems:
        raise SourceError(f"{directory}: no Application Streams or no RHEL lifecycle entries found")
    return src


def redhat_ships(src: RedHatSource, major: int, stream_products: dict[str, str],
                 stream_cycles: dict[str, list[str]], product_cycles: dict[str, list[str]],
                 problems: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """product -> cycle -> {support: <retirement date>, type, stream, source} for one RHEL major release.

    Rolling, dependent and untyped entries are skipped (Red Hat gives them no retirement date of their own; the
    untyped ones are -debug/-devel/-test subpackages). The cycle comes from the package version (non-modular packages, ``stream`` = ``8.0.13``) or the module
    stream (``6`` -> ``redhat_stream_cycles`` or the catalog cycle of that name). When several entries name the
    same cycle (one per binary package of a stream), the latest retirement date wins.
    """
    names = sorted(stream_products, key=len, reverse=True)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for e in src.streams:
        if e.get("os_major") != major:
            continue
        asn = str(e["application_stream_name"])
        if e.get("rolling") or e.get("application_stream_type") in (None, "rolling", "dependent"):
            continue  # untyped = debug/devel/test subpackages (CRB) carrying a default date: not the stream
        prefix = next((n for n in names if asn == n or asn.startswith(n + " ")), None)
        if prefix is None:
            continue
        pid = stream_products[prefix]
        cycles = product_cycles.get(pid)
        if cycles is None:
            problems.append(f"RHEL {major}: {asn}: product {pid} not in the catalog")
            continue
        end = e.get("end_date")
        if not end:
            continue
        named = asn[len(prefix):].strip()                 # "8.0" from "PHP 8.0", "1.8.0" from "OpenJDK 1.8.0"
        if pid == "red-hat-build-of-openjdk" and named.startswith("1."):
            named = named[2:]
        stream = str(e.get("stream") or "")
        found: list[str] = []
        named_c = _stream_cycle(named, cycles)
        if e["kind"] == "package" and stream:
            c = cycle_for_version(stream, cycles)
            if c is not None and (named_c is None or named_c == c):
                found = [c]
        if not found:
            key = f"{pid} {stream if e['kind'] == 'module' else named}".strip()
            if key in stream_cycles:
                found = [c for c in stream_cycles[key] if c in cycles]
            else:
                c = named_c or _stream_cycle(stream, cycles)
                if c is not None:
                    found = [c]
        if not found:
            msg = f"RHEL {major}: {asn} (stream {stream}): no {pid} cycle in the catalog"
            if msg not in problems:
                problems.append(msg)
            continue
        for c in found:
            cur = out.setdefault(pid, {}).get(c)
            if cur is None or (end > cur["support"]) or (end == cur["support"] and e["name"] == pid):
                out[pid][c] = {"support": end, "type": e.get("application_stream_type") or "stream",
                               "stream": asn, "package": e["name"], "impl": e["kind"]}
    return out


# ------------------------------------------------------------------------------------------ distro-info


def read_distro_info(directory: Path) -> tuple[str, dict[str, dict[str, dict[str, str | None]]]]:
    """(version, {"debian": {"12": {...}}, "ubuntu": {"22.04": {...}}}) from distro-info-data's CSVs."""
    version = package_version("distro-info-data", directory)
    out: dict[str, dict[str, dict[str, str | None]]] = {}
    for osname in ("debian", "ubuntu"):
        f = directory / f"{osname}.csv"
        try:
            with open(f, encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise SourceError(f"{f}: unreadable: {exc}") from exc
        rel: dict[str, dict[str, str | None]] = {}
        for r in rows:
            v = (r.get("version") or "").replace(" LTS", "").strip()
            if not v:
                continue
            rel[v] = {k: (_date(val) if k not in ("version", "codename", "series") else val)
                      for k, val in r.items() if k is not None}
        if not rel:
            raise SourceError(f"{f}: no releases")
        out[osname] = rel
    return version, out


def distro_info_windows(osname: str, row: dict[str, Any]) -> dict[str, str | None]:
    if osname == "debian":
        return {"release": row.get("release"), "regular": row.get("eol"), "lts": row.get("eol-lts"),
                "elts": row.get("eol-elts")}
    return {"release": row.get("release"), "regular": row.get("eol"), "extended": row.get("eol-esm"),
            "legacy": row.get("eol-legacy")}


# ------------------------------------------------------------------------------------------ debian-security-support


def read_security_support(directory: Path) -> tuple[str, dict[str, list[dict[str, Any]]], list[dict[str, str]]]:
    """(version, {"deb12": [{package, last_version, ended, details}]}, limited [{package, details}])."""
    version = package_version("debian-security-support", directory)
    ended: dict[str, list[dict[str, Any]]] = {}
    for f in sorted(directory.glob("security-support-ended.deb*")):
        items = []
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 3:
                raise SourceError(f"{f}: bad line {line!r}")
            items.append({"package": parts[0], "last_version": parts[1], "ended": _date(parts[2]),
                          "details": plain_text(parts[3] if len(parts) > 3 else "")[0] or None})
        ended[f.name.rsplit(".", 1)[1]] = items
    limited = []
    lf = directory / "security-support-limited"
    if lf.is_file():
        for line in lf.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split(None, 1)
            limited.append({"package": parts[0], "details": (plain_text(parts[1])[0] if len(parts) > 1 else "")
                            or ""})
    if not ended and not limited:
        raise SourceError(f"{directory}: no security-support-ended.debN or security-support-limited files")
    return version, ended, limited


# ------------------------------------------------------------------------------------------ the generator


@dataclass
class DistroSources:
    redhat: RedHatSource
    distro_info_version: str
    distro_info: dict[str, dict[str, dict[str, str | None]]]
    dss_version: str
    dss_ended: dict[str, list[dict[str, Any]]]
    dss_limited: list[dict[str, str]]
    endoflife_label: str

    @classmethod
    def read(cls, redhat: Path, distro_info: Path, security_support: Path, endoflife_label: str) -> DistroSources:
        di_version, di = read_distro_info(distro_info)
        dss_version, ended, limited = read_security_support(security_support)
        return cls(read_redhat(redhat), di_version, di, dss_version, ended, limited, endoflife_label)


def _resolve(name: str, aliases: dict[str, str]) -> str | None:
    key = name.lower().rstrip(".*").rstrip("-")
    return aliases.get(key)


def generate_distros(spec: dict[str, Any], products: dict[str, dict[str, Any]], aliases: dict[str, str],
                     src: DistroSources, problems: list[str]) -> dict[str, Any]:
    """The content of distros.yaml from its hand-written input ``spec`` and the sources.

    ``products``: the new catalog's product documents (JSON form); ``aliases``: name -> product id.
    """
    product_cycles = {pid: [c["cycle"] for c in doc["cycles"]] for pid, doc in products.items()}
    families = spec.get("families") or {}
    raw = spec.get("distros") or {}
    di_label = f"distro-info-data {src.distro_info_version}"
    dss_label = f"debian-security-support {src.dss_version}"
    stream_products = {str(k): str(v) for k, v in (spec.get("redhat_streams") or {}).items()}
    stream_cycles = {str(k): [str(c) for c in v] for k, v in (spec.get("redhat_stream_cycles") or {}).items()}
    out: dict[str, Any] = {}
    for did, d in raw.items():
        fam = families.get(d.get("family"))
        if not isinstance(fam, dict):
            raise SourceError(f"distros.in.yaml: {did}: unknown family {d.get('family')!r}")
        os_product = str(fam.get("os_product"))
        os_cycle = str(d.get("os_cycle"))
        entry: dict[str, Any] = {"label": d.get("label", did), "family": d["family"], "os_cycle": os_cycle,
                                 "aliases": list(d.get("aliases") or [])}
        # ---- support windows
        how = fam.get("support_from", "endoflife")
        if how == "distro-info":
            row = src.distro_info.get(os_product, {}).get(os_cycle)
            if row is None:
                raise SourceError(f"{did}: {os_product} {os_cycle} not in {di_label}")
            win = distro_info_windows(os_product, row)
            wsrc = f"{di_label} ({os_product}.csv)"
        elif how == "redhat":
            sysl = src.redhat.systems.get(os_cycle)
            if sysl is None:
                raise SourceError(f"{did}: RHEL {os_cycle} not in {src.redhat.label} systems.py")
            cyc = _os_cycle(products, os_product, os_cycle, did)
            win = {"release": sysl.get("start_date"), "regular": _iso_or_none(cyc.get("eoas")),
                   "maintenance": sysl.get("end_date"), "extended": sysl.get("end_date_els")}
            wsrc = (f"{src.redhat.label} systems.py (release, maintenance, extended); "
                    f"{src.endoflife_label} rhel {os_cycle} (regular = full support)")
        else:
            cyc = _os_cycle(products, os_product, os_cycle, did)
            win = {"release": _iso_or_none(cyc.get("release_date"))}
            for wname, phase in (fam.get("phases") or {}).items():
                win[wname] = _iso_or_none(cyc.get(phase))
            hand = (products.get(os_product) or {}).get("source")
            wsrc = (f"sources/products/{os_product}.yml {os_cycle} ({hand})" if hand
                    else f"{src.endoflife_label} {os_product} {os_cycle}")
        entry["support"] = {**{k: v for k, v in win.items()}, "source": wsrc}
        ext = d.get("extended")
        if ext:
            e2 = {"name": ext["name"]}
            if ext.get("window") and win.get(ext["window"]):
                e2["end"] = win[ext["window"]]
                e2["source"] = wsrc
            entry["extended"] = e2
        # ---- ships
        ships: dict[str, dict[str, Any]] = {}
        if d.get("redhat"):
            rs = redhat_ships(src.redhat, int(os_cycle), stream_products, stream_cycles, product_cycles, problems)
            for pid, cycles in sorted(rs.items()):
                for c, info in sorted(cycles.items(), key=lambda kv: _ckey(kv[0])):
                    ships.setdefault(pid, {})[c] = {
                        "support": info["support"],
                        "source": f"{src.redhat.label}: {info['stream']} ({info['type']}, {info['impl']} "
                                  f"{info['package']})"}
        base = d.get("ships_from")
        if base:
            if base not in out:
                raise SourceError(f"{did}: ships_from {base!r} must be listed before it")
            entry["ships_from"] = base   # the loader merges the base release's ships (with their sources)
            base_ships = out[base]["ships"]
        else:
            base_ships = {}
        hand_src = d.get("ships_source")
        for p, cycles in (d.get("ships") or {}).items():
            hpid = aliases.get(str(p).lower())
            if hpid is None:
                raise SourceError(f"{did}: ships unknown product {p!r}")
            pid = hpid
            hand_cycles: dict[Any, Any] = ({c: "distro" for c in product_cycles[pid]} if cycles == "all"
                                            else dict(cycles or {}))
            if not hand_src:
                raise SourceError(f"{did}: hand-written ships need ships_source")
            for cyc_id, val in hand_cycles.items():
                c = str(cyc_id)
                if c not in product_cycles[pid]:
                    raise SourceError(f"{did}: ships {pid} {c}, a cycle the catalog does not know")
                if c in base_ships.get(pid, {}):
                    raise SourceError(f"{did}: ships {pid} {c} already comes from {base}")
                ships.setdefault(pid, {})[c] = {"support": val if isinstance(val, str) else _iso_or_none(val),
                                                "source": hand_src}
        notes = dict(d.get("notes") or {})
        # ---- debian-security-support exceptions
        exceptions: list[dict[str, Any]] = []
        key = d.get("security_support")
        if key:
            for item in src.dss_ended.get(str(key), []):
                ex = {**item, "source": f"{dss_label} (security-support-ended.{key})"}
                rpid = _resolve(item["package"], aliases)
                if rpid is not None:
                    pid = rpid
                    ex["product"] = pid
                    ec = cycle_for_version(_upstream(item["last_version"]), product_cycles[pid])
                    if ec is not None and ec in ships.get(pid, {}):
                        ships[pid][ec] = {"support": item["ended"], "source": ex["source"]}
                exceptions.append(ex)
            if d.get("security_support_limited"):
                for item in src.dss_limited:
                    ex = {**item, "limited": True, "source": f"{dss_label} (security-support-limited)"}
                    lpid = _resolve(item["package"], aliases)
                    if lpid is not None:
                        pid = lpid
                        ex["product"] = pid
                        notes[pid] = f"security support limited ({dss_label}): {item['details']}".rstrip(": ")
                    exceptions.append(ex)
        entry["ships"] = {p: {c: ships[p][c] for c in sorted(ships[p], key=_ckey)} for p in sorted(ships)}
        if notes:
            entry["notes"] = notes
        if exceptions:
            entry["exceptions"] = exceptions
        out[did] = entry
    fams = {}
    for name, fam in families.items():
        fams[name] = {k: v for k, v in fam.items() if k != "support_from"}
    return {"families": fams, "distros": out}


def _stream_cycle(name: str, cycles: list[str]) -> str | None:
    """The catalog cycle a stream name stands for: its longest-prefix cycle, or the only ``name.x`` cycle."""
    if not name:
        return None
    c = cycle_for_version(name, cycles)
    if c is not None:
        return c
    sub = [x for x in cycles if x.startswith(name + ".")]
    return sub[0] if len(sub) == 1 else None


def _upstream(v: str) -> str:
    v = v.split(":", 1)[-1]
    return re.split(r"[-+~]", v, maxsplit=1)[0]


def _ckey(c: str) -> Any:
    try:
        return (0, upstream_key(c))
    except VersionError:
        return (1, c)


def iso_value(v: Any) -> Any:
    """A bool-or-date value from YAML/JSON as JSON (dates as ISO strings; a string that is no date is left for
    validation to reject). The one date normaliser of the catalog generators (catalog_update uses it too)."""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return date.fromisoformat(v[:10]).isoformat()
        except ValueError:
            return v
    return v


def _iso_or_none(v: Any) -> Any:
    return None if isinstance(v, bool) else iso_value(v)


def _os_cycle(products: dict[str, dict[str, Any]], os_product: str, os_cycle: str, did: str) -> dict[str, Any]:
    prod = products.get(os_product)
    for c in (prod or {}).get("cycles") or []:
        if c["cycle"] == os_cycle:
            return c
    raise SourceError(f"{did}: OS cycle {os_product} {os_cycle} not in the catalog")
