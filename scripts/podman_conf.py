#!/usr/bin/env python3
"""Ensure /etc/containers/containers.conf has the two settings podman needs on this host.

* ``[containers] default_ulimits`` - the built-in defaults exceed this host's hard limits;
* ``[engine] runtime = "runc"`` - crun fails on hybrid cgroups.

Only missing keys are added; existing keys (even with other values) and every other setting are left alone.
Stdlib only (tomllib reads, a line-based edit writes, so comments and layout survive). Prints what it did.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

WANTED = {
    "containers": ("default_ulimits", '["nofile=20000:20000", "nproc=20000:20000"]'),
    "engine": ("runtime", '"runc"'),
}


def ensure(text: str) -> tuple[str, list[str]]:
    data = tomllib.loads(text) if text.strip() else {}
    lines = text.splitlines()
    added: list[str] = []
    for table, (key, value) in WANTED.items():
        if key in data.get(table, {}):
            continue
        entry = f"{key} = {value}"
        header = next((i for i, line in enumerate(lines) if line.strip() == f"[{table}]"), None)
        if header is None:
            if lines and lines[-1].strip():
                lines.append("")
            lines += [f"[{table}]", entry]
        else:
            lines.insert(header + 1, entry)
        added.append(f"[{table}] {entry}")
    return "\n".join(lines) + "\n", added


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "/etc/containers/containers.conf")
    text = path.read_text() if path.exists() else ""
    new, added = ensure(text)
    if added:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new)
        for a in added:
            print(f"[bootstrap] {path}: added {a}")
    else:
        print(f"[bootstrap] {path}: podman settings present")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
