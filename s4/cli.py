"""The ``s4`` command: a thin dispatcher over sub-commands that live in their own modules.

Each sub-command module exposes ``register(subparsers)`` which adds its parser and sets ``func``
(a callable taking the parsed args and returning an exit status). Add a module to ``SUBCOMMANDS`` to publish it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# module path of each sub-command (imported lazily so one broken sub-command cannot break the others' help)
SUBCOMMANDS: list[str] = [
    "s4.releasewatch.cli",
    "s4.lifecycle.cli",
    "s4.lifecycle.vulns",
    "s4.integrity.cli",
    "s4.history",
    "s4.state.cli",
    "s4.report.cli",
    "s4.poc.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s4", description="Smartt Supported Software Stack toolkit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # sub-command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
