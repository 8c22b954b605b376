"""Compare source and target integrity evidence: file manifests and database checksums.

Pure Python (no Ansible). The result is the machine-readable block the POC report uses (docs/INTEGRITY.md)::

    {"schema": 1, "kind": "files" | "databases", "passed": bool, "summary": {...}, ...}

Files: entries are matched on (root, path) after ``root_map`` is applied; an entry is ``missing`` (only on the
source), ``extra`` (only on the target), ``changed`` (with the list of differing attributes) or ``unverified``
(either side could not read it). Databases: tables are matched on (database, schema, table) after
``database_map``; a table is ``missing``, ``extra`` or ``mismatched`` (rows and/or checksum).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SCHEMA = 1
FILE_ATTRIBUTES = ("type", "size", "sha256", "mode", "owner", "group", "mtime", "target", "hardlink", "rdev")
DEFAULT_IGNORE = ("dir_mtime",)
LIST_LIMIT = 1000


class CompareError(ValueError):
    """Input that cannot be compared (unreadable manifest, wrong shape, different checksum methods)."""


# ------------------------------------------------------------------------------------------------ manifests

def load_manifest(source: Any) -> dict[str, Any]:
    """Accept a manifest file path (gzip or plain JSON lines), its bytes, or an already-parsed manifest dict."""
    if isinstance(source, Mapping):
        if "entries" not in source:
            raise CompareError("manifest dict has no 'entries'")
        return {"header": dict(source.get("header") or {}), "entries": list(source["entries"])}
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise CompareError(f"cannot read manifest {str(source)!r}: {exc.strerror}") from exc
        name = str(source)
    elif isinstance(source, bytes):
        data, name = source, "<bytes>"
    else:
        raise CompareError(f"expected a manifest path, bytes or dict, got {type(source).__name__}")
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        lines = [ln for ln in data.splitlines() if ln.strip()]
        header = json.loads(lines[0]) if lines else None
        entries = [json.loads(ln) for ln in lines[1:]]
    except (OSError, EOFError, ValueError) as exc:
        raise CompareError(f"manifest {name!r} is corrupt: {exc}") from exc
    if not isinstance(header, dict) or header.get("s4_manifest") != 1:
        raise CompareError(f"{name!r} is not an s4 manifest (format 1)")
    if header.get("entries") is not None and header["entries"] != len(entries):
        raise CompareError(f"manifest {name!r} is truncated: header says {header['entries']} entries, has {len(entries)}")
    return {"header": header, "entries": entries}


def _display(text: str | None) -> str | None:
    if text is None:
        return None
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(text).decode("utf-8", "replace")


def _attr_diff(a: Mapping[str, Any], b: Mapping[str, Any], ignore: set[str], mtime_precision_ns: int) -> list[str]:
    diffs = []
    for attr in FILE_ATTRIBUTES:
        if attr in ignore:
            continue
        if attr == "mtime":
            if a.get("type") == "dir" and "dir_mtime" in ignore:
                continue
            if a.get("type") == "link" and "link_mtime" in ignore:
                continue
            ma, mb = a.get("mtime_ns"), b.get("mtime_ns")
            if ma is None or mb is None:
                continue
            if ma // mtime_precision_ns != mb // mtime_precision_ns:
                diffs.append("mtime")
        elif attr == "owner":
            if (a.get("owner") or a.get("uid")) != (b.get("owner") or b.get("uid")):
                diffs.append("owner")
        elif attr == "group":
            if (a.get("group") or a.get("gid")) != (b.get("group") or b.get("gid")):
                diffs.append("group")
        elif attr == "size" and a.get("type") == "dir":
            continue
        elif a.get(attr) != b.get(attr):
            diffs.append(attr)
    return diffs


def compare_manifests(
    source: Any,
    target: Any,
    *,
    root_map: Mapping[str, str] | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    mtime_precision: float = 1.0,
    limit: int = LIST_LIMIT,
) -> dict[str, Any]:
    """Compare two manifests. ``ignore`` names attributes to skip (``mtime``, ``owner``, ``mode``, ``dir_mtime``,
    ``link_mtime``...). mtimes are compared at ``mtime_precision`` seconds (1.0 = whole seconds, as tar/rsync keep
    them on every file system)."""
    src, tgt = load_manifest(source), load_manifest(target)
    ignore_set = set(ignore)
    unknown = ignore_set - set(FILE_ATTRIBUTES) - {"dir_mtime", "link_mtime"}
    if unknown:
        raise CompareError(f"unknown attribute(s) to ignore: {', '.join(sorted(unknown))}")
    if mtime_precision <= 0:
        raise CompareError("mtime_precision must be > 0")
    precision_ns = max(1, int(round(mtime_precision * 1e9)))
    rmap = {_enc(k): _enc(v) for k, v in (root_map or {}).items()}

    def index(entries: list[dict[str, Any]], mapping: Mapping[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(mapping.get(e["root"], e["root"]), e["path"]): e for e in entries}

    a = index(src["entries"], rmap)
    b = index(tgt["entries"], {})
    missing, extra, changed, unverified = [], [], [], []
    changed_by_attr: dict[str, int] = {}
    for key in sorted(a.keys() | b.keys()):
        ea, eb = a.get(key), b.get(key)
        where = {"root": _display(key[0]), "path": _display(key[1])}
        if eb is None:
            assert ea is not None
            missing.append({**where, "type": ea.get("type")})
            continue
        if ea is None:
            extra.append({**where, "type": eb.get("type")})
            continue
        if ea.get("error") or eb.get("error"):
            unverified.append({**where, "source_error": ea.get("error"), "target_error": eb.get("error")})
            continue
        diffs = _attr_diff(ea, eb, ignore_set, precision_ns)
        if diffs:
            for d in diffs:
                changed_by_attr[d] = changed_by_attr.get(d, 0) + 1
            changed.append({
                **where,
                "attributes": diffs,
                "source": {d: _show(ea, d) for d in diffs},
                "target": {d: _show(eb, d) for d in diffs},
            })
    passed = not (missing or extra or changed or unverified)
    return {
        "schema": SCHEMA,
        "kind": "files",
        "passed": passed,
        "summary": {
            "source_entries": len(src["entries"]),
            "target_entries": len(tgt["entries"]),
            "missing": len(missing),
            "extra": len(extra),
            "changed": len(changed),
            "unverified": len(unverified),
            "changed_by_attribute": dict(sorted(changed_by_attr.items())),
            "source_tree_sha256": src["header"].get("tree_sha256"),
            "target_tree_sha256": tgt["header"].get("tree_sha256"),
        },
        "missing": missing[:limit],
        "extra": extra[:limit],
        "changed": changed[:limit],
        "unverified": unverified[:limit],
        "truncated": any(len(x) > limit for x in (missing, extra, changed, unverified)),
    }


def _enc(root: str) -> str:
    from urllib.parse import quote_from_bytes

    safe = "".join(chr(c) for c in range(0x21, 0x7F) if c != 0x25)
    return quote_from_bytes(root.encode("utf-8", "surrogateescape"), safe=safe)


def _show(entry: Mapping[str, Any], attr: str) -> Any:
    if attr == "mtime":
        return entry.get("mtime_ns")
    if attr == "owner":
        return entry.get("owner") or entry.get("uid")
    if attr == "group":
        return entry.get("group") or entry.get("gid")
    if attr in ("target", "hardlink"):
        return _display(entry.get(attr))
    return entry.get(attr)


# ------------------------------------------------------------------------------------------------ databases

def _tables(result: Mapping[str, Any], dbmap: Mapping[str, str]) -> dict[tuple[str, str, str], dict[str, Any]]:
    if not isinstance(result, Mapping) or not isinstance(result.get("databases"), list):
        raise CompareError("expected a smartt.s4.db_checksum result (a dict with 'databases')")
    out = {}
    for db in result["databases"]:
        name = dbmap.get(db["name"], db["name"])
        for t in db.get("tables") or []:
            out[(name, t.get("schema") or "", t["name"])] = t
    return out


def compare_databases(
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    *,
    database_map: Mapping[str, str] | None = None,
    limit: int = LIST_LIMIT,
) -> dict[str, Any]:
    """Compare two ``smartt.s4.db_checksum`` results table by table."""
    a = _tables(source, database_map or {})
    b = _tables(target, {})
    sm, tm = source.get("method"), target.get("method")
    if sm and tm and sm != tm:
        raise CompareError(f"checksum methods differ ({sm} vs {tm}): results are not comparable")
    missing, extra, mismatched, matched = [], [], [], 0
    for key in sorted(a.keys() | b.keys()):
        ta, tb = a.get(key), b.get(key)
        where = {"database": key[0], "schema": key[1] or None, "table": key[2]}
        if tb is None:
            assert ta is not None
            missing.append({**where, "rows": ta.get("rows")})
        elif ta is None:
            extra.append({**where, "rows": tb.get("rows")})
        else:
            attrs = [x for x in ("rows", "checksum") if ta.get(x) != tb.get(x)]
            if ta.get("method") != tb.get("method"):
                attrs.append("method")
            if attrs:
                mismatched.append({**where, "attributes": attrs, "source": {x: ta.get(x) for x in attrs},
                                   "target": {x: tb.get(x) for x in attrs}})
            else:
                matched += 1
    no_pk = sorted({f"{k[0]}/{(k[1] + '.') if k[1] else ''}{k[2]}" for k, t in a.items() if t.get("no_primary_key")})
    non_tx = sorted({f"{k[0]}/{k[2]}" for k, t in a.items() if t.get("transactional") is False})
    passed = not (missing or extra or mismatched)
    return {
        "schema": SCHEMA,
        "kind": "databases",
        "passed": passed,
        "summary": {
            "engine": source.get("engine"),
            "method": sm,
            "source_version": source.get("server_version"),
            "target_version": target.get("server_version"),
            "source_tables": len(a),
            "target_tables": len(b),
            "matched": matched,
            "missing": len(missing),
            "extra": len(extra),
            "mismatched": len(mismatched),
            "source_rows": sum(int(t.get("rows") or 0) for t in a.values()),
            "target_rows": sum(int(t.get("rows") or 0) for t in b.values()),
        },
        "missing": missing[:limit],
        "extra": extra[:limit],
        "mismatched": mismatched[:limit],
        "no_primary_key": no_pk,
        "non_transactional": non_tx,
        "truncated": any(len(x) > limit for x in (missing, extra, mismatched)),
    }


def compare(source: Any, target: Any, **options: Any) -> dict[str, Any]:
    """Dispatch on the input: db_checksum results (dicts with ``databases``) or manifests (anything else)."""
    if isinstance(source, Mapping) and "databases" in source:
        return compare_databases(source, target, **options)
    return compare_manifests(source, target, **options)


def combine(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Overall verdict over several compare results (the POC report's integrity section)."""
    items = list(results)
    return {"schema": SCHEMA, "passed": bool(items) and all(r.get("passed") for r in items), "checks": items}
