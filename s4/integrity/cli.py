"""``s4 integrity compare SOURCE TARGET``: compare two manifests or two db_checksum results (JSON files)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from s4.integrity.compare import DEFAULT_IGNORE, CompareError, compare_databases, compare_manifests


def _load_any(path: str) -> Any:
    p = Path(path)
    try:
        head = p.read_bytes()[:2]
    except OSError as exc:
        raise CompareError(f"cannot read {path!r}: {exc.strerror}") from exc
    if head != b"\x1f\x8b":
        try:
            data = json.loads(p.read_text())
        except ValueError:
            return path  # JSON lines manifest
        if isinstance(data, dict) and "databases" in data:
            return data
    return path


def run(args: argparse.Namespace) -> int:
    try:
        src, tgt = _load_any(args.source), _load_any(args.target)
        if isinstance(src, dict):
            if not isinstance(tgt, dict):
                raise CompareError("source is a db_checksum result but target is not")
            result = compare_databases(src, tgt)
        else:
            result = compare_manifests(src, tgt, ignore=args.ignore if args.ignore is not None else DEFAULT_IGNORE,
                                       mtime_precision=args.mtime_precision)
    except CompareError as exc:
        print(f"s4 integrity: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    s = result["summary"]
    verdict = "PASS" if result["passed"] else "FAIL"
    print(f"{verdict}: {json.dumps({k: v for k, v in s.items() if isinstance(v, int)}, sort_keys=True)}", file=sys.stderr)
    return 0 if result["passed"] else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("integrity", help="compare data manifests or database checksums (source vs target)")
    sub = p.add_subparsers(dest="integrity_command", metavar="ACTION")
    sub.required = True
    c = sub.add_parser("compare", help="compare SOURCE and TARGET; exit 0 pass, 1 fail, 2 bad input")
    c.add_argument("source", help="manifest (.jsonl.gz) or db_checksum result (.json) of the source")
    c.add_argument("target", help="same for the target")
    c.add_argument("--ignore", action="append", help="attribute not to compare (repeat); default dir_mtime")
    c.add_argument("--mtime-precision", type=float, default=1.0, help="seconds (default 1)")
    c.add_argument("-o", "--output", help="write the JSON result here instead of stdout")
    c.set_defaults(func=run)
