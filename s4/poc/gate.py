"""The integrity gate: the POC's data manifest and DB checksums against the source's.

Every difference is either covered by a difference the profile declares (``legitimate_differences``, listed in the
report with its reason) or a mismatch that fails the run. Nothing is ignored silently.

Manifest entries are those of ``smartt.s4.data_manifest`` (``root``, percent-encoded ``path``, ``type``, ``size``,
``mode``, ``uid``, ``gid``, ``mtime_ns``, ``sha256``, ``target``, ``hardlink``). Directory mtimes are not compared
(adding a declared file changes its directory's mtime); everything else is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from s4.poc.profiles import Profile

COMPARED = ("type", "size", "mode", "uid", "gid", "sha256", "target", "hardlink", "mtime_ns")
MAX_LISTED = 200


def full_path(entry: Mapping[str, Any]) -> str:
    root = str(entry.get("root", "")).rstrip("/")
    rel = unquote_to_bytes(str(entry.get("path", "."))).decode("utf-8", "surrogateescape")
    if rel in (".", ""):
        return root or "/"
    return f"{root}/{rel}"


def _index(entries: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {full_path(e): e for e in entries}


def _fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: entry.get(k) for k in COMPARED}
    if entry.get("type") == "dir":
        out.pop("mtime_ns")
        out.pop("size")
    return out


CREDENTIALS = "@db-credentials"


def compare_files(
    source: Iterable[Mapping[str, Any]],
    target: Iterable[Mapping[str, Any]],
    profile: Profile,
    rewritten: Iterable[str] = (),
) -> dict[str, Any]:
    """Compare two manifests. ``rewritten`` lists the files whose DB credentials the POC rewrote: their content
    change is legitimate only when the profile declares ``@db-credentials`` (owner, mode and type must still match).
    """
    src, dst = _index(source), _index(target)
    rewritten = set(rewritten)
    mismatches: list[str] = []
    legitimate: list[dict[str, str]] = []

    def judge(path: str, change: str, detail: str, content_only: bool = False) -> None:
        d = profile.legitimate(path, change)
        if d is None and content_only and path in rewritten:
            d = profile.legitimate(CREDENTIALS, "modified")
        if d is not None:
            legitimate.append({"path": path, "change": change, "reason": d.reason, "detail": detail})
        else:
            mismatches.append(f"{path}: {change} ({detail})")

    for path in sorted(set(src) | set(dst)):
        a, b = src.get(path), dst.get(path)
        if b is None:
            judge(path, "missing", "present on the source, missing on the POC")
        elif a is None:
            judge(path, "added", "present on the POC only")
        else:
            fa, fb = _fields(a), _fields(b)
            diff = sorted(k for k in fa if fa[k] != fb.get(k))
            if diff:
                content_only = set(diff) <= {"sha256", "size", "mtime_ns"}
                judge(path, "modified", ", ".join(f"{k} {fa[k]!r} -> {fb.get(k)!r}" for k in diff if k != "sha256")
                      + (" content differs" if "sha256" in diff else ""), content_only)
    return {
        "passed": not mismatches,
        "source_entries": len(src),
        "target_entries": len(dst),
        "mismatch_count": len(mismatches),
        "mismatches": mismatches[:MAX_LISTED],
        "legitimate": legitimate,
    }


def _tables(value: Any) -> dict[str, Any]:
    """``{table: {rows, checksum}}`` from a mapping, or from smartt.s4.db_checksum's list of table entries."""
    if isinstance(value, Mapping):
        return dict(value)
    out: dict[str, Any] = {}
    for t in value or []:
        name = f"{t['schema']}.{t['name']}" if t.get("schema") else str(t["name"])
        out[name] = {"rows": t.get("rows"), "checksum": t.get("checksum")}
    return out


def compare_tables(source: Any, target: Any, database: str) -> dict[str, Any]:
    """Per-table checksums ``{table: {rows, checksum}}`` (or db_checksum's table list) of one database."""
    source, target = _tables(source), _tables(target)
    mismatches = []
    for table in sorted(set(source) | set(target)):
        a, b = source.get(table), target.get(table)
        if b is None:
            mismatches.append(f"{database}.{table}: missing on the POC")
        elif a is None:
            mismatches.append(f"{database}.{table}: present on the POC only")
        elif a != b:
            mismatches.append(f"{database}.{table}: content differs ({_short(a)} -> {_short(b)})")
    return {"database": database, "passed": not mismatches, "tables": len(source), "mismatches": mismatches}


def _short(v: Any) -> str:
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={str(x)[:16]}" for k, x in sorted(v.items()) if k in ("rows", "checksum", "sha256"))
    return str(v)[:16]


def gate(files: Mapping[str, Any], databases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Overall result: ``passed`` only when the files and every database match (declared differences aside)."""
    dbs = [dict(d) for d in databases]
    mismatches = list(files.get("mismatches", [])) + [m for d in dbs for m in d.get("mismatches", [])]
    checks = [{"name": "files", "source": f"{files.get('source_entries')} entries",
               "target": f"{files.get('target_entries')} entries", "passed": bool(files.get("passed"))}]
    checks += [{"name": f"database {d['database']}", "source": f"{d.get('tables')} tables",
                "target": "checksums" , "passed": bool(d.get("passed"))} for d in dbs]
    return {
        "passed": all(c["passed"] for c in checks),
        "checks": checks,
        "mismatches": mismatches,
        "legitimate": list(files.get("legitimate", [])),
        "databases": dbs,
    }
