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
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
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
from s4.lifecycle.versions import VersionError, upstream_key, upstream_parts

API_URL = "https://endoflife.date/api/v1"
CURATED_FILES = ("policy.yaml", "distros.yaml", "alternatives.yaml", "php_compat.yaml")
MAX_HISTORY = 300  # newest releases kept per cycle


class UpdateError(RuntimeError):
    """The update was refused; the current catalog is unchanged."""


# ----------------------------------------------------------------------------------------- helpers


def _iso(v: Any) -> Any:
    """A bool-or-date value from YAML/JSON as JSON (dates as ISO strings)."""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return date.fromisoformat(v[:10]).isoformat()
        except ValueError:
            return v  # left for validation to reject
    return v


def cycle_for_version(version: str, cycles: dict[str, Any]) -> str | None:
    """Longest dotted prefix of ``version`` that is a cycle id (``3.7.1`` -> ``3`` for jQuery)."""
    try:
        parts = upstream_parts(version)
    except VersionError:
        return None
    for n in range(len(parts), 0, -1):
        cand = ".".join(parts[:n])
        if cand in cycles:
            return cand
    return None


def _attach_history(cycles: list[dict[str, Any]], versions: dict[str, Any]) -> None:
    by_id = {c["cycle"]: c for c in cycles}
    buckets: dict[str, list[list[Any]]] = {c: [] for c in by_id}
    for name, info in versions.items():
        vname = str((info or {}).get("name") or name) if isinstance(info, dict) else str(name)
        vdate = _iso(info.get("date")) if isinstance(info, dict) else None
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
        cycles.append({
            "cycle": str(r["releaseCycle"]),
            "codename": r.get("codename"),
            "release_date": _iso(r.get("releaseDate")),
            "lts": _iso(r.get("lts", False)),
            "eoas": _iso(r.get("eoas")),
            "eol": _iso(r.get("eol")),
            "eoes": _iso(r.get("eoes")),
            "latest": str(r["latest"]) if r.get("latest") is not None else None,
            "latest_date": _iso(r.get("latestReleaseDate")),
            "custom": {n: str(r[n]) for n in custom_names if r.get(n) is not None},
        })
    if release_data and isinstance(release_data.get("versions"), dict):
        _attach_history(cycles, release_data["versions"])

    def label(col: str) -> str | None:
        v = doc.get(col)
        return v if isinstance(v, str) else None

    return {
        "schema": SCHEMA_VERSION,
        "id": pid,
        "label": str(doc.get("title") or pid),
        "category": str(doc.get("category") or "unknown"),
        "aliases": [str(a).strip("/") for a in doc.get("alternate_urls") or []],
        "labels": {"eoas": label("eoasColumn"), "eol": label("eolColumn"), "eoes": label("eoesColumn")},
        "version_command": doc.get("versionCommand"),
        "release_policy": doc.get("releasePolicyLink"),
        "cycles": cycles,
    }


def read_local(src: Path, wanted: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Products from a local endoflife.date copy; returns (products, problems)."""
    pdir, rdir = src / "products", src / "release-data"
    if not pdir.is_dir():
        raise UpdateError(f"{src}: no products/ directory (expected the endoflife.date layout)")
    out: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
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
        return _iso(when)
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
            lts = _iso(r.get("ltsFrom")) if r.get("ltsFrom") else True
        cyc = {
            "cycle": r["name"],
            "codename": r.get("codename"),
            "release_date": _iso(r.get("releaseDate")),
            "lts": lts,
            "eoas": _v1_phase(r, "isEoas", "eoasFrom"),
            "eol": _v1_phase(r, "isEol", "eolFrom") if "isEol" in r else None,
            "eoes": _v1_phase(r, "isEoes", "eoesFrom"),
            "latest": latest.get("name") if latest else None,
            "latest_date": _iso(latest.get("date")) if latest else None,
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
        "label": str(details.get("label") or pid),
        "category": str(details.get("category") or "unknown"),
        "aliases": [str(a) for a in details.get("aliases") or []],
        "labels": {k: labels.get(k) for k in ("eoas", "eol", "eoes")},
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


def write_catalog(catalog_dir: Path, products: dict[str, dict[str, Any]], source: dict[str, Any],
                  curated_from: Path) -> Catalog:
    """Write a full catalog into a temp dir, load it back (full validation), then swap it in by rename."""
    catalog_dir = catalog_dir.resolve()
    parent = catalog_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{catalog_dir.name}.new-", dir=parent))
    try:
        for name in CURATED_FILES:
            src = curated_from / name
            if not src.is_file():
                raise UpdateError(f"hand-curated file {src} missing")
            shutil.copy2(src, tmp / name)
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
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": source,
            "license": "endoflife.date data (MIT), converted into the S4 catalog format",
            "counts": {"products": len(products), "cycles": n_cycles, "versions": n_versions},
            "products": sorted(products),
        }
        with open(tmp / "manifest.json", "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1)
            fh.write("\n")
        try:
            cat = Catalog.load(tmp)
        except CatalogError as exc:
            raise UpdateError(f"the new catalog does not load, nothing written: {exc}") from exc
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


def update(catalog_dir: Path, *, src: Path | None = None, live: bool = False, api: str = API_URL,
           check: bool = False, force: bool = False, max_drop: float = 10.0,
           fetch: Callable[[str], Any] | None = None, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Run one update. Returns the diff. Raises UpdateError when refused (catalog unchanged)."""
    policy_path = catalog_dir / "policy.yaml"
    if not policy_path.is_file():
        raise UpdateError(f"{policy_path} missing: the curated files must exist before an update")
    policy = yaml.safe_load(policy_path.read_text(encoding="utf-8")) or {}
    wanted = [str(p) for p in policy.get("catalog_products") or []]
    if not wanted:
        raise UpdateError(f"{policy_path}: catalog_products is empty")
    old_manifest, old_products = load_current(catalog_dir)
    if live:
        payload = (fetch or fetch_api_v1)(api)
        new, problems = parse_api_v1_full(payload, wanted, old_products)
        source: dict[str, Any] = {"kind": "endoflife.date API v1", "url": api}
    elif src is not None:
        new, problems = read_local(src, wanted)
        source = {"kind": "endoflife.date local copy", "path": src.name}
    else:
        raise UpdateError("give --from DIR or --live")
    for p in problems:
        out(f"warning: {p}")
    validate_products(new)
    if not new:
        raise UpdateError("no products in the input, nothing written")
    old_count = len(old_products)
    if old_count and not force:
        drop = 100.0 * (old_count - len(new)) / old_count
        if drop > max_drop:
            raise UpdateError(f"product count would drop from {old_count} to {len(new)} ({drop:.0f}% > "
                              f"{max_drop:g}%); partial input? use --force to accept")
    d = diff_catalogs(old_products, new)
    out(format_diff(d))
    if check:
        out("check only: nothing written")
        return d
    cat = write_catalog(catalog_dir, new, source, catalog_dir)
    out(f"catalog written: {cat.path} ({len(cat.products)} products, {len(cat.distros)} distros)")
    _ = old_manifest
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="update_catalog", description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--from", dest="src", type=Path, help="local endoflife.date copy (products/, release-data/)")
    g.add_argument("--live", action="store_true", help="fetch from the endoflife.date API v1")
    ap.add_argument("--api", default=API_URL, help=f"API v1 base URL (default {API_URL})")
    ap.add_argument("--catalog", type=Path, default=None, help="catalog directory (default: the package's)")
    ap.add_argument("--check", action="store_true", help="validate and show changes, write nothing")
    ap.add_argument("--force", action="store_true", help="accept a large drop in the product count")
    ap.add_argument("--max-drop", type=float, default=10.0, help="max product-count drop in percent (default 10)")
    args = ap.parse_args(argv)
    catalog_dir = args.catalog or default_catalog_path()
    try:
        update(catalog_dir, src=args.src, live=args.live, api=args.api, check=args.check, force=args.force,
               max_drop=args.max_drop)
    except (UpdateError, CatalogError) as exc:
        print(f"update_catalog: refused: {exc}", file=sys.stderr)
        print("update_catalog: the current catalog is unchanged", file=sys.stderr)
        return 1
    return 0
