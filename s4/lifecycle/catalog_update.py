"""Regenerate the EOL catalog from endoflife.date (API v1 live, or a local copy of its data).

    scripts/update_catalog --from DIR [--catalog DIR] [--check] [--force] [--max-drop PCT]
    scripts/update_catalog --live [--api URL] [--catalog DIR] [--check] [--force]

``--from DIR`` reads the layout of the endoflife.date repositories: ``DIR/products/<id>.yml`` (the YAML front
matter of each product page) and ``DIR/release-data/<id>.json`` (``{"releases": ..., "versions": {v: {date}}}``).
``--live`` reads ``/products/full`` from the API v1 (envelope ``{schema_version, total, result}``); API v1 has no
per-version history, so the history already in the catalog is kept and each cycle's ``latest`` is added to it.

The new catalog is written to a temporary directory next to the current one, loaded back and fully validated
(schema, dates, non-empty cycles, no duplicate cycles, hand-curated files still consistent), compared with the
current one (product count may not drop by more than ``--max-drop`` percent unless ``--force``), and only then
swapped in by rename. Any failure leaves the current catalog untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from s4.lifecycle.catalog import (
    SCHEMA_VERSION,
    Catalog,
    CatalogError,
    default_catalog_path,
    product_from_json,
)
from s4.lifecycle.catalog_sources import (
    DistroSources,
    SourceError,
    generate_distros,
    iso_value,
    plain_text,
)
from s4.lifecycle.versions import VersionError, cycle_for_version, upstream_key

API_URL = "https://endoflife.date/api/v1"
CURATED_FILES = ("policy.yaml", "distros.yaml", "alternatives.yaml", "php_compat.yaml")
MAX_HISTORY = 300  # newest releases kept per cycle


class UpdateError(RuntimeError):
    """The update was refused; the current catalog is unchanged."""


# ----------------------------------------------------------------------------------------- helpers


def _attach_history(cycles: list[dict[str, Any]], versions: dict[str, Any]) -> None:
    by_id = {c["cycle"]: c for c in cycles}
    buckets: dict[str, list[list[Any]]] = {c: [] for c in by_id}
    for name, info in versions.items():
        vname = str((info or {}).get("name") or name) if isinstance(info, dict) else str(name)
        vdate = iso_value(info.get("date")) if isinstance(info, dict) else None
        cyc = cycle_for_version(vname, by_id)
        if cyc is None:
            continue
        try:
            upstream_key(vname)
        except VersionError:
            continue
        buckets[cyc].append([vname, vdate])
    for cyc, items in buckets.items():
        items.sort(key=lambda h: upstream_key(h[0]), reverse=True)
        by_id[cyc]["history"] = items[:MAX_HISTORY]


# ------------------------------------------------------------------------------- local source (--from)


def product_from_eol_yaml(pid: str, doc: dict[str, Any], release_data: dict[str, Any] | None) -> dict[str, Any]:
    """Convert one endoflife.date product page front matter (+ release-data) into our product JSON."""
    if not isinstance(doc, dict):
        raise UpdateError(f"{pid}: product document is not a mapping")
    releases = doc.get("releases")
    if not isinstance(releases, list) or not releases:
        raise UpdateError(f"{pid}: no releases")
    custom_names = [c.get("name") for c in doc.get("customFields") or [] if isinstance(c, dict) and c.get("name")]
    cycles: list[dict[str, Any]] = []
    for r in releases:
        if not isinstance(r, dict) or "releaseCycle" not in r:
            raise UpdateError(f"{pid}: release without releaseCycle: {r!r}")
        cyc: dict[str, Any] = {
            "cycle": str(r["releaseCycle"]),
            "codename": plain_text(r.get("codename"))[0] if r.get("codename") is not None else None,
            "release_date": iso_value(r.get("releaseDate")),
            "lts": iso_value(r.get("lts", False)),
            "eoas": iso_value(r.get("eoas")),
            "eol": iso_value(r.get("eol")),
            "eoes": iso_value(r.get("eoes")),
            "latest": str(r["latest"]) if r.get("latest") is not None else None,
            "latest_date": iso_value(r.get("latestReleaseDate")),
            "custom": {n: plain_text(r[n])[0] for n in custom_names if r.get(n) is not None},
        }
        rel_label, links = plain_text(r.get("releaseLabel"))
        if rel_label and rel_label != cyc["cycle"]:
            cyc["label"] = rel_label
        if isinstance(r.get("link"), str) and r["link"].startswith(("https://", "http://")):
            links = [r["link"], *[u for u in links if u != r["link"]]]
        if links:
            cyc["links"] = links
        cycles.append(cyc)
    if release_data and isinstance(release_data.get("versions"), dict):
        _attach_history(cycles, release_data["versions"])

    product_links: list[str] = []

    def label(col: str) -> str | None:
        text, links = plain_text(doc.get(col)) if isinstance(doc.get(col), str) else (None, [])
        product_links.extend(u for u in links if u not in product_links)
        return text

    labels = {"eoas": label("eoasColumn"), "eol": label("eolColumn"), "eoes": label("eoesColumn")}
    policy = doc.get("releasePolicyLink")
    out = {
        "schema": SCHEMA_VERSION,
        "id": pid,
        "label": plain_text(doc.get("title") or pid)[0] or pid,
        "category": str(doc.get("category") or "unknown"),
        "aliases": [str(a).strip("/") for a in doc.get("alternate_urls") or []],
        "labels": labels,
        "version_command": doc.get("versionCommand"),
        "release_policy": policy if isinstance(policy, str) else None,
        "cycles": cycles,
    }
    if product_links:
        out["links"] = product_links
    if doc.get("source"):
        out["source"] = plain_text(doc["source"])[0]
    return out


def read_local(src: Path, wanted: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Products from a local endoflife.date copy; returns (products, problems)."""
    pdir, rdir = src / "products", src / "release-data"
    if not pdir.is_dir():
        raise UpdateError(f"{src}: no products/ directory (expected the endoflife.date layout)")
    out: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    if wanted == ["all"]:
        wanted = sorted({f.stem for f in pdir.glob("*.yml")} | {f.stem for f in pdir.glob("*.md")})
    for pid in wanted:
        f = pdir / f"{pid}.yml"
        if not f.is_file():
            f = pdir / f"{pid}.md"
        if not f.is_file():
            problems.append(f"{pid}: not in {pdir}")
            continue
        try:
            text = f.read_text(encoding="utf-8")
            if text.startswith("---"):
                text = text.split("---", 2)[1]
            doc = yaml.safe_load(text)
        except (OSError, yaml.YAMLError, IndexError, ValueError) as exc:
            raise UpdateError(f"{f}: unreadable: {exc}") from exc
        rd = None
        rf = rdir / f"{pid}.json"
        if rf.is_file():
            try:
                rd = json.loads(rf.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UpdateError(f"{rf}: unreadable: {exc}") from exc
        out[pid] = product_from_eol_yaml(pid, doc, rd)
    return out, problems


# ----------------------------------------------------------------------------------------- API v1 (--live)


def _v1_phase(rel: dict[str, Any], flag: str, date_key: str) -> Any:
    """API v1 splits bool-or-date into isX/xFrom; absent flag = no such phase, null flag = not eligible."""
    if flag not in rel:
        return None
    is_over = rel.get(flag)
    when = rel.get(date_key)
    if is_over is None:
        return None
    if when:
        return iso_value(when)
    return bool(is_over)


def product_from_api_v1(details: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Convert an API v1 ``ProductDetails`` object into our product JSON (history kept from ``old``)."""
    if not isinstance(details, dict) or not isinstance(details.get("name"), str):
        raise UpdateError(f"API v1 product without a name: {str(details)[:120]!r}")
    pid = details["name"]
    releases = details.get("releases")
    if not isinstance(releases, list) or not releases:
        raise UpdateError(f"{pid}: API v1 product has no releases")
    old_hist: dict[str, list[list[Any]]] = {}
    for c in (old or {}).get("cycles") or []:
        old_hist[c.get("cycle")] = [list(h) for h in c.get("history") or []]
    cycles: list[dict[str, Any]] = []
    for r in releases:
        if not isinstance(r, dict) or not isinstance(r.get("name"), str):
            raise UpdateError(f"{pid}: API v1 release without a name: {r!r}")
        latest = r.get("latest") if isinstance(r.get("latest"), dict) else None
        lts: Any = False
        if r.get("isLts"):
            lts = iso_value(r.get("ltsFrom")) if r.get("ltsFrom") else True
        cyc = {
            "cycle": r["name"],
            "codename": r.get("codename"),
            "release_date": iso_value(r.get("releaseDate")),
            "lts": lts,
            "eoas": _v1_phase(r, "isEoas", "eoasFrom"),
            "eol": _v1_phase(r, "isEol", "eolFrom") if "isEol" in r else None,
            "eoes": _v1_phase(r, "isEoes", "eoesFrom"),
            "latest": latest.get("name") if latest else None,
            "latest_date": iso_value(latest.get("date")) if latest else None,
            "custom": {str(k): str(v) for k, v in (r.get("custom") or {}).items() if v is not None},
        }
        if cyc["eol"] is None:
            raise UpdateError(f"{pid} {r['name']}: API v1 release without isEol")
        hist = old_hist.get(r["name"], [])
        if cyc["latest"] and all(h[0] != cyc["latest"] for h in hist):
            hist = [[cyc["latest"], cyc["latest_date"]], *hist]
        if hist:
            with contextlib.suppress(VersionError):
                hist.sort(key=lambda h: upstream_key(h[0]), reverse=True)
            cyc["history"] = hist[:MAX_HISTORY]
        cycles.append(cyc)
    labels = details.get("labels") or {}
    links = details.get("links") or {}
    return {
        "schema": SCHEMA_VERSION,
        "id": pid,
        "label": plain_text(details.get("label") or pid)[0] or pid,
        "category": str(details.get("category") or "unknown"),
        "aliases": [str(a) for a in details.get("aliases") or []],
        "labels": {k: plain_text(labels.get(k))[0] for k in ("eoas", "eol", "eoes")},
        "version_command": details.get("versionCommand"),
        "release_policy": links.get("releasePolicy"),
        "cycles": cycles,
    }


def parse_api_v1_full(payload: Any, wanted: list[str],
                      old_products: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Products from an API v1 ``/products/full`` response body (already JSON-decoded)."""
    if not isinstance(payload, dict) or "result" not in payload:
        raise UpdateError("API v1 response is not an envelope with 'result' (an HTML error page?)")
    sv = str(payload.get("schema_version", ""))
    if not sv.startswith("1."):
        raise UpdateError(f"API v1 schema_version {sv!r} is not 1.x")
    result = payload["result"]
    if not isinstance(result, list):
        raise UpdateError("API v1 'result' is not a list")
    by_name: dict[str, dict[str, Any]] = {}
    for item in result:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            by_name[item["name"]] = item
            for a in item.get("aliases") or []:
                by_name.setdefault(str(a), item)  # a renamed product answers under its old id
    out: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    if wanted == ["all"]:
        wanted = sorted({str(i["name"]) for i in result if isinstance(i, dict) and isinstance(i.get("name"), str)})
    for pid in wanted:
        item = by_name.get(pid)
        if item is None:
            problems.append(f"{pid}: not in the API response")
            continue
        conv = product_from_api_v1(item, old_products.get(pid))
        conv["id"] = pid  # keep our id stable across upstream renames; the new name becomes an alias
        if item["name"] != pid and item["name"] not in conv["aliases"]:
            conv["aliases"].append(item["name"])
        out[pid] = conv
    return out, problems


def fetch_api_v1(api: str, timeout: float = 60.0, retries: int = 4,
                 sleep: Callable[[float], None] = time.sleep) -> Any:
    """GET ``{api}/products/full`` with requests (follows 301s, backs off on 429/5xx, rejects HTML)."""
    import requests

    url = api.rstrip("/") + "/products/full"
    last = ""
    for attempt in range(retries):
        try:
            resp = requests.get(url, timeout=timeout, headers={"Accept": "application/json",
                                                                "User-Agent": "s4-toolkit catalog updater"})
        except requests.RequestException as exc:
            last = f"{type(exc).__name__}: {exc}"
            sleep(min(2 ** attempt, 30))
            continue
        if resp.status_code == 429 or resp.status_code >= 500:
            ra = resp.headers.get("Retry-After", "")
            last = f"HTTP {resp.status_code}"
            sleep(float(ra) if ra.isdigit() else min(2 ** attempt, 30))
            continue
        if resp.status_code != 200:
            raise UpdateError(f"{url}: HTTP {resp.status_code}")
        ctype = resp.headers.get("Content-Type", "")
        if "json" not in ctype:
            raise UpdateError(f"{url}: expected JSON, got {ctype or 'no content type'}")
        try:
            return resp.json()
        except ValueError as exc:
            raise UpdateError(f"{url}: invalid JSON: {exc}") from exc
    raise UpdateError(f"{url}: gave up after {retries} attempts ({last})")


# ----------------------------------------------------------------------------------------- diff + write


def load_current(catalog_dir: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    man_path = catalog_dir / "manifest.json"
    if not man_path.is_file():
        return None, {}
    manifest = json.loads(man_path.read_text(encoding="utf-8"))
    prods: dict[str, dict[str, Any]] = {}
    for f in sorted((catalog_dir / "products").glob("*.json")):
        prods[f.stem] = json.loads(f.read_text(encoding="utf-8"))
    return manifest, prods


_DIFF_FIELDS = ("release_date", "eoas", "eol", "eoes", "lts", "latest")


def diff_catalogs(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What changed between two product sets (our JSON format)."""
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    cycles_added: list[str] = []
    cycles_removed: list[str] = []
    changed: list[str] = []
    for pid in sorted(set(old) & set(new)):
        oc = {c["cycle"]: c for c in old[pid].get("cycles", [])}
        nc = {c["cycle"]: c for c in new[pid].get("cycles", [])}
        cycles_added += [f"{pid} {c}" for c in nc if c not in oc]
        cycles_removed += [f"{pid} {c}" for c in oc if c not in nc]
        for c in nc:
            if c in oc:
                for fld in _DIFF_FIELDS:
                    if oc[c].get(fld) != nc[c].get(fld):
                        changed.append(f"{pid} {c} {fld}: {oc[c].get(fld)} -> {nc[c].get(fld)}")
    return {"products_added": added, "products_removed": removed, "cycles_added": cycles_added,
            "cycles_removed": cycles_removed, "changed": changed}


def format_diff(d: dict[str, Any]) -> str:
    lines = []
    for key, title in (("products_added", "products added"), ("products_removed", "products removed"),
                       ("cycles_added", "cycles added"), ("cycles_removed", "cycles removed"),
                       ("changed", "dates/versions changed")):
        items = d[key]
        lines.append(f"{title}: {len(items)}")
        lines += [f"  {x}" for x in items[:200]]
        if len(items) > 200:
            lines.append(f"  ... and {len(items) - 200} more")
    return "\n".join(lines)


def validate_products(products: dict[str, dict[str, Any]]) -> None:
    errors = []
    for pid, doc in products.items():
        try:
            product_from_json(doc, f"product {pid}")
        except CatalogError as exc:
            errors.append(str(exc))
    if errors:
        raise UpdateError("invalid catalog data, nothing written:\n  " + "\n  ".join(errors[:50]))


# ----------------------------------------------------------------------------------------- hand products


def read_hand_products(srcdir: Path, base: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Products that endoflife.date lacks, from ``sources/products/*.yml`` in the catalog.

    A file is either an endoflife.date-style page (``releases``) or a ``derive`` rule: the cycles of another
    product (``from``) from ``min_cycle`` on, with this product's vendor, label and ``source`` (cPanel ea-php,
    Plesk plesk-php and CloudLinux alt-php follow PHP's cycles; how long each vendor patches them is stated in
    ``source`` and, for vendor backports, in the distro's ``ships``).
    """
    out: dict[str, dict[str, Any]] = {}
    pdir = srcdir / "products"
    if not pdir.is_dir():
        return out
    for f in sorted(pdir.glob("*.yml")):
        pid = f.stem
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise UpdateError(f"{f}: unreadable: {exc}") from exc
        if not isinstance(doc, dict) or not doc.get("source"):
            raise UpdateError(f"{f}: a hand-written product needs a mapping with 'source'")
        rule = doc.get("derive")
        if rule is None:
            out[pid] = product_from_eol_yaml(pid, doc, None)
            continue
        basep = base.get(str(rule.get("from")))
        if basep is None:
            raise UpdateError(f"{f}: derive.from {rule.get('from')!r} is not in the catalog")
        floor = upstream_key(str(rule.get("min_cycle", "0")))
        cycles = [json.loads(json.dumps(c)) for c in basep["cycles"] if upstream_key(c["cycle"]) >= floor]
        if not cycles:
            raise UpdateError(f"{f}: no {basep['id']} cycle from {rule.get('min_cycle')} on")
        policy = doc.get("releasePolicyLink")
        out[pid] = {
            "schema": SCHEMA_VERSION, "id": pid, "label": plain_text(doc.get("title") or pid)[0] or pid,
            "category": str(doc.get("category") or basep.get("category") or "unknown"),
            "aliases": [], "labels": dict(basep.get("labels") or {}),
            "version_command": basep.get("version_command"),
            "release_policy": policy if isinstance(policy, str) else None,
            "derived_from": basep["id"], "vendor_rule": str(rule.get("rule", "upstream")),
            "source": plain_text(doc["source"])[0], "cycles": cycles,
        }
    return out


# ----------------------------------------------------------------------------------------- build, compare, write

SOURCES_DIR = "sources"      # hand inputs inside the catalog: distros.in.yaml, products/*.yml
SPEC_FILE = "distros.in.yaml"
HAND_DOCS = ("README.md",)   # hand-written documentation kept in the catalog directory
GENERATED_HEADER = ("# GENERATED by scripts/update_catalog from sources/distros.in.yaml and the sources named in\n"
                    "# `generated_from` (every entry names its own source); do not edit by hand, edit the input\n"
                    "# and run scripts/update_catalog (see s4/data/catalog/README.md).\n")


def _aliases(products: dict[str, dict[str, Any]], policy: dict[str, Any]) -> dict[str, str]:
    al: dict[str, str] = {}
    for pid in sorted(products):
        al[pid] = pid
    for pid in sorted(products):
        for a in products[pid].get("aliases") or []:
            al.setdefault(str(a).lower(), pid)
    for a, target in (policy.get("aliases") or {}).items():
        if target in products:
            al[str(a).lower()] = str(target)
    return al


def _dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)


def build_catalog(tmp: Path, products: dict[str, dict[str, Any]], source: dict[str, Any], curated_from: Path,
                  distro_sources: DistroSources | None, out: Callable[[str], None] = print) -> Catalog:
    """Write a complete catalog into ``tmp`` (an empty directory) and load it back (full validation)."""
    spec_path = curated_from / SOURCES_DIR / SPEC_FILE
    policy = yaml.safe_load((curated_from / "policy.yaml").read_text(encoding="utf-8")) or {}
    for name in CURATED_FILES:
        src = curated_from / name
        if name == "distros.yaml" and spec_path.is_file() and distro_sources is not None:
            continue
        if not src.is_file():
            raise UpdateError(f"hand-curated file {src} missing")
        if name == "distros.yaml" and spec_path.is_file():
            out("warning: distro sources not given: distros.yaml kept as it is (not regenerated)")
        shutil.copy2(src, tmp / name)
    for name in HAND_DOCS:
        if (curated_from / name).is_file():
            shutil.copy2(curated_from / name, tmp / name)
    if (curated_from / SOURCES_DIR).is_dir():
        shutil.copytree(curated_from / SOURCES_DIR, tmp / SOURCES_DIR,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    sources_list: list[dict[str, Any]] = [{
        "name": "endoflife.date", "version": source.get("version") or source.get("kind"),
        "license": "MIT", "url": "https://endoflife.date", "used_for": "products/*.json (upstream lifecycles)"}]
    if spec_path.is_file() and distro_sources is not None:
        problems: list[str] = []
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
        try:
            data = generate_distros(spec, products, _aliases(products, policy), distro_sources, problems)
        except SourceError as exc:
            raise UpdateError(f"distros: {exc}") from exc
        for p in problems:
            out(f"warning: {p}")
        gen_from: list[dict[str, Any]] = [
            {"name": "Red Hat Application Streams data (RedHatInsights/digital-roadmap-backend src/roadmap/data)",
             "version": distro_sources.redhat.version, "license": "Apache-2.0",
             "used_for": "RHEL 7-10 support windows, RHEL 8/9/10 Application Streams and their retirement dates"},
            {"name": "distro-info-data (Debian package)", "version": distro_sources.distro_info_version,
             "license": "ISC", "used_for": "Debian and Ubuntu release, EOL, LTS, ELTS, ESM and Legacy dates"},
            {"name": "debian-security-support (Debian package)", "version": distro_sources.dss_version,
             "license": "GPL-2+ (data: facts)", "used_for": "per-package exceptions to Debian security support"},
            {"name": "endoflife.date", "version": source.get("version") or source.get("kind"), "license": "MIT",
             "used_for": "windows of the other OS releases (Alma, Rocky, CentOS, Oracle, Amazon)"},
            {"name": "sources/distros.in.yaml", "version": "hand-written",
             "used_for": "families, release names, ships lists of Debian/Ubuntu/RHEL 7/Amazon (ships_source)"},
        ]
        text = GENERATED_HEADER + _dump_yaml({"schema": SCHEMA_VERSION, "generated_from": gen_from, **data})
        (tmp / "distros.yaml").write_text(text, encoding="utf-8")
        sources_list += gen_from[:3]
    hand = sorted(p for p, d in products.items() if d.get("source"))
    if hand:
        sources_list.append({"name": "sources/products/*.yml (hand-written)", "version": "hand-written",
                             "used_for": f"products endoflife.date lacks: {', '.join(hand)}"})
    (tmp / "products").mkdir()
    n_cycles = n_versions = 0
    for pid, doc in sorted(products.items()):
        n_cycles += len(doc["cycles"])
        n_versions += sum(len(c.get("history") or []) for c in doc["cycles"])
        with open(tmp / "products" / f"{pid}.json", "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, sort_keys=False, ensure_ascii=False)
            fh.write("\n")
    manifest = {
        "schema": SCHEMA_VERSION,
        "generated_at": source.get("date") or _data_date(products),
        "source": source,
        "license": "endoflife.date data (MIT), converted into the S4 catalog format; other sources: see NOTICE",
        "sources": sources_list,
        "counts": {"products": len(products), "cycles": n_cycles, "versions": n_versions},
        "products": sorted(products),
    }
    with open(tmp / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    notice = ["S4 Toolkit EOL catalog: data sources and their licences (generated by scripts/update_catalog)", ""]
    for s in sources_list:
        notice.append(f"- {s['name']} ({s.get('version')}); licence: {s.get('license', 'project')}; "
                      f"used for: {s['used_for']}")
    notice += ["", "Facts (names, versions, dates) are carried over; no code of the sources is copied.", ""]
    (tmp / "NOTICE").write_text("\n".join(notice), encoding="utf-8")
    try:
        return Catalog.load(tmp)
    except CatalogError as exc:
        raise UpdateError(f"the new catalog does not load, nothing written: {exc}") from exc


def _data_date(products: dict[str, dict[str, Any]]) -> str:
    """The newest release date in the data: a deterministic "as of" when the source has no snapshot date (so a
    regeneration from the same input is byte-identical and --check can compare)."""
    newest = ""
    for doc in products.values():
        for c in doc["cycles"]:
            for v in (c.get("latest_date"), c.get("release_date")):
                if isinstance(v, str) and v > newest:
                    newest = v
    return newest or "unknown"


def _files(d: Path) -> dict[str, Path]:
    return {str(p.relative_to(d)): p for p in sorted(d.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def compare_dirs(current: Path, new: Path) -> list[str]:
    """Files that differ between two catalog trees ('changed: x', 'missing: x', 'unexpected: x')."""
    a, b = _files(current), _files(new)
    diffs = [f"missing: {n}" for n in sorted(set(b) - set(a))]
    diffs += [f"unexpected: {n}" for n in sorted(set(a) - set(b))]
    diffs += [f"changed: {n}" for n in sorted(set(a) & set(b)) if a[n].read_bytes() != b[n].read_bytes()]
    return diffs


def write_catalog(catalog_dir: Path, products: dict[str, dict[str, Any]], source: dict[str, Any],
                  curated_from: Path, distro_sources: DistroSources | None = None,
                  out: Callable[[str], None] = print) -> Catalog:
    """Build the catalog in a temp dir, load it back (full validation), then swap it in by rename."""
    catalog_dir = catalog_dir.resolve()
    parent = catalog_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{catalog_dir.name}.new-", dir=parent))
    try:
        cat = build_catalog(tmp, products, source, curated_from, distro_sources, out)
        old = None
        if catalog_dir.exists():
            old = parent / f".{catalog_dir.name}.old-{os.getpid()}-{int(time.time())}"
            os.rename(catalog_dir, old)
        try:
            os.rename(tmp, catalog_dir)
        except OSError:
            if old is not None:
                os.rename(old, catalog_dir)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        cat.path = str(catalog_dir)
        return cat
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _snapshot_info(src: Path) -> dict[str, Any]:
    """Version and date of a local endoflife.date copy, from its README ("snapshot of D, commit C")."""
    info: dict[str, Any] = {"kind": "endoflife.date local copy", "path": src.name}
    readme = src / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        m = re.search(r"snapshot of (\d{4}-\d\d-\d\d)(?:,\s*commit\s+([0-9a-f]{7,40}))?", text)
        if m:
            info["date"] = m.group(1)
            info["version"] = f"snapshot of {m.group(1)}" + (f", commit {m.group(2)}" if m.group(2) else "")
    return info


def update(catalog_dir: Path, *, src: Path | None = None, live: bool = False, api: str = API_URL,
           check: bool = False, force: bool = False, max_drop: float = 10.0,
           fetch: Callable[[str], Any] | None = None, out: Callable[[str], None] = print,
           distro_sources: DistroSources | None = None) -> dict[str, Any]:
    """Run one update. Returns the diff (``files`` lists the catalog files that would change). Raises
    UpdateError when refused (catalog unchanged). ``check``: build into a temp dir, compare, write nothing."""
    policy_path = catalog_dir / "policy.yaml"
    if not policy_path.is_file():
        raise UpdateError(f"{policy_path} missing: the curated files must exist before an update")
    policy = yaml.safe_load(policy_path.read_text(encoding="utf-8")) or {}
    cp = policy.get("catalog_products")
    wanted = ["all"] if cp == "all" else [str(p) for p in cp or []]
    if not wanted:
        raise UpdateError(f"{policy_path}: catalog_products is empty")
    _old_manifest, old_products = load_current(catalog_dir)
    if live:
        payload = (fetch or fetch_api_v1)(api)
        new, problems = parse_api_v1_full(payload, wanted, old_products)
        source: dict[str, Any] = {"kind": "endoflife.date API v1", "url": api}
    elif src is not None:
        new, problems = read_local(src, wanted)
        source = _snapshot_info(src)
    else:
        raise UpdateError("give --from DIR or --live")
    for p in problems:
        out(f"warning: {p}")
    if not new:
        raise UpdateError("no products in the input, nothing written")
    new.update(read_hand_products(catalog_dir / SOURCES_DIR, new))
    validate_products(new)
    old_count = len(old_products)
    if old_count and not force:
        drop = 100.0 * (old_count - len(new)) / old_count
        if drop > max_drop:
            raise UpdateError(f"product count would drop from {old_count} to {len(new)} ({drop:.0f}% > "
                              f"{max_drop:g}%); partial input? use --force to accept")
    d = diff_catalogs(old_products, new)
    out(format_diff(d))
    if check:
        tmp = Path(tempfile.mkdtemp(prefix="s4-catalog-check-"))
        try:
            build_catalog(tmp, new, source, catalog_dir, distro_sources, out)
            d["files"] = compare_dirs(catalog_dir, tmp) if catalog_dir.is_dir() else ["missing: everything"]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if d["files"]:
            out(f"check: {len(d['files'])} file(s) differ from a regeneration:")
            out("\n".join(f"  {x}" for x in d["files"][:200]))
        else:
            out("check: the committed catalog matches a regeneration from the sources")
        out("check only: nothing written")
        return d
    cat = write_catalog(catalog_dir, new, source, catalog_dir, distro_sources, out)
    out(f"catalog written: {cat.path} ({len(cat.products)} products, {len(cat.distros)} distros)")
    d["files"] = []
    return d


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent.parent


def main(argv: list[str] | None = None) -> int:
    shared = _project_root().parent / "shared" / "data"
    ap = argparse.ArgumentParser(prog="update_catalog", description=(__doc__ or "").split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--from", dest="src", type=Path,
                   help=f"local endoflife.date copy (products/, release-data/); default {shared / 'endoflife'}")
    g.add_argument("--live", action="store_true", help="fetch from the endoflife.date API v1")
    ap.add_argument("--api", default=API_URL, help=f"API v1 base URL (default {API_URL})")
    ap.add_argument("--redhat", type=Path, default=shared / "redhat",
                    help="Red Hat Application Streams data (modules.py, packages.py, systems.py)")
    ap.add_argument("--distro-info", type=Path, default=Path("/usr/share/distro-info"),
                    help="distro-info-data CSV directory (debian.csv, ubuntu.csv)")
    ap.add_argument("--security-support", type=Path, default=Path("/usr/share/debian-security-support"),
                    help="debian-security-support data directory")
    ap.add_argument("--no-distros", action="store_true", help="keep distros.yaml as it is (no distro sources)")
    ap.add_argument("--retirejs", type=Path, default=None,
                    help="Retire.js repository copy (jsrepository-v4.json, README.md, LICENSE.md) to regenerate the "
                         f"front-end library vulnerabilities s4/data/retirejs/ from; default {shared / 'retirejs'} "
                         "when it exists and --catalog is not given (s4/lifecycle/vulns.py)")
    ap.add_argument("--catalog", type=Path, default=None, help="catalog directory (default: the package's)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir, list the files that differ, exit 1 on any difference")
    ap.add_argument("--force", action="store_true", help="accept a large drop in the product count")
    ap.add_argument("--max-drop", type=float, default=10.0, help="max product-count drop in percent (default 10)")
    args = ap.parse_args(argv)
    catalog_dir = args.catalog or default_catalog_path()
    src = args.src if args.src is not None or args.live else shared / "endoflife"
    try:
        dsrc = None
        if not args.no_distros and (catalog_dir / SOURCES_DIR / SPEC_FILE).is_file():
            label = "endoflife.date API v1" if args.live else _snapshot_info(src).get("version", "endoflife.date")
            if not args.live:
                label = f"endoflife.date ({label})"
            try:
                dsrc = DistroSources.read(args.redhat, args.distro_info, args.security_support, label)
            except (SourceError, OSError) as exc:
                raise UpdateError(f"distro sources: {exc} (or --no-distros)") from exc
        d = update(catalog_dir, src=None if args.live else src, live=args.live, api=args.api, check=args.check,
                   force=args.force, max_drop=args.max_drop, distro_sources=dsrc)
        retirejs = args.retirejs
        if retirejs is None and args.catalog is None and (shared / "retirejs").is_dir():
            retirejs = shared / "retirejs"
        vulns_changed = _update_vulns(retirejs, args.check) if retirejs is not None else []
    except (UpdateError, CatalogError) as exc:
        print(f"update_catalog: refused: {exc}", file=sys.stderr)
        print("update_catalog: the current catalog is unchanged", file=sys.stderr)
        return 1
    if args.check and (d.get("files") or vulns_changed):
        return 1
    return 0


def _update_vulns(src: Path, check: bool) -> list[str]:
    """Front-end library vulnerabilities (s4/data/retirejs/) from a Retire.js copy: the files that differ."""
    from s4.lifecycle import vulns

    try:
        changed = vulns.update(src, check=check)
    except vulns.VulnDataError as exc:
        raise UpdateError(f"Retire.js data: {exc}") from exc
    where = vulns.DATA_DIR
    if changed:
        print(f"retirejs: {'would change' if check else 'written'}: {', '.join(changed)} ({where})")
    else:
        print(f"retirejs: {where} is up to date with {src}")
    return changed
