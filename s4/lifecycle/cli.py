"""``s4 lifecycle PRODUCT VERSION``: the lifecycle verdict for one component.

Exit status: 0 when a verdict was produced (whatever the status, also ``unknown``), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from s4.lifecycle.catalog import Catalog, CatalogError
from s4.lifecycle.engine import DEFAULT_EOL_SOON_DAYS, DEFAULT_MIN_MONTHS, Engine, Verdict


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _non_negative(text: str) -> int:
    try:
        n = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return n


def _constraint(text: str) -> tuple[str, str]:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"expected PRODUCT=SPEC, e.g. php='>=7.4,<8.5': {text!r}")
    k, v = text.split("=", 1)
    if k.endswith((">", "<", "!")):  # php>=7.4 typed without the '='
        raise argparse.ArgumentTypeError(f"expected PRODUCT=SPEC, e.g. php='>=7.4,<8.5': {text!r}")
    return k.strip(), v.strip()


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("lifecycle", help="lifecycle verdict (EOL status, support, target) for a product version",
                              description=__doc__)
    p.add_argument("product", help="product as typed: id, alias, display name or package name (php, php7.4-fpm, "
                                   "apache2, 'Apache HTTP Server', mariadb-server-10.5, ea-php81, ...)")
    p.add_argument("version", help="version as found: package version, banner or upstream version")
    p.add_argument("--distro", help="distro of the host as typed (debian-11, bookworm, 'Debian 12', 'Rocky Linux 8', "
                                    "el8, 'Ubuntu 22.04 LTS', a PRETTY_NAME, ...)")
    p.add_argument("--packaged", choices=("auto", "yes", "no"), default="auto",
                   help="is it the distro archive's own package? (auto: on evidence, --origin or the distro's "
                        "release mark in the version such as +deb12u1, ubuntu0.22.04, .el9; never a bare -N)")
    p.add_argument("--origin", help="the package db's origin/vendor (dpkg origin, rpm %%{VENDOR}): debian, "
                                    "'Red Hat, Inc.', sury, cpanel ...")
    p.add_argument("--target-distro", help="distro the recommended target must fit (default: --distro)")
    p.add_argument("--as-of", type=_iso_date, default=None, help="judge as of this date (default: today)")
    p.add_argument("--eol-soon-days", type=_non_negative, default=DEFAULT_EOL_SOON_DAYS,
                   help=f"window for eol-soon (default {DEFAULT_EOL_SOON_DAYS})")
    p.add_argument("--min-months", type=_non_negative, default=DEFAULT_MIN_MONTHS,
                   help=f"a recommended target must be supported this long (default {DEFAULT_MIN_MONTHS})")
    p.add_argument("--constraint", type=_constraint, action="append", default=[], metavar="PRODUCT=SPEC",
                   help="limit the target, e.g. php='>=7.4,<8.5' (repeatable)")
    p.add_argument("--catalog", help="catalog directory (default: the committed catalog)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        engine = Engine(Catalog.load(args.catalog)) if args.catalog else Engine.load_default()
    except CatalogError as exc:
        print(f"s4 lifecycle: catalog error: {exc}", file=sys.stderr)
        return 2
    for d in (args.distro, args.target_distro):
        if d and engine.catalog.resolve_distro(d) is None:
            print(f"s4 lifecycle: unknown distro {d!r}; known: {', '.join(engine.known_distros())}",
                  file=sys.stderr)
            return 2
    constraints = {}
    for k, spec in args.constraint:
        if engine.resolve(k) is None:
            print(f"s4 lifecycle: --constraint names an unknown product {k!r}", file=sys.stderr)
            return 2
        from s4.lifecycle.constraints import ConstraintError, ConstraintSet
        try:
            ConstraintSet(spec)
        except ConstraintError as exc:
            print(f"s4 lifecycle: bad --constraint {k}={spec!r}: {exc}", file=sys.stderr)
            return 2
        constraints[k] = spec
    packaged = {"auto": None, "yes": True, "no": False}[args.packaged]
    v = engine.evaluate(args.product, args.version, args.distro, args.as_of or date.today(), packaged=packaged,
                        origin=args.origin,
                        eol_soon_days=args.eol_soon_days, min_months=args.min_months,
                        constraints=constraints or None, target_distro=args.target_distro)
    if args.json:
        print(json.dumps(v.to_dict(), indent=2))
    else:
        print(format_verdict(v))
    return 0


def format_verdict(v: Verdict) -> str:
    def d(x: Any) -> str:
        return x.isoformat() if isinstance(x, date) else ("-" if x is None else str(x))

    lines = [f"{v.label or v.product} {v.version or v.raw_version}" + (f" (cycle {v.cycle})" if v.cycle else ""),
             f"  status:          {v.status.upper()}"]
    if v.status != "unknown":
        lines += [
            f"  support source:  {v.source}" + (f" ({v.distro})" if v.distro and v.source == 'distro' else ""),
            f"  support ends:    {d(v.support_end) if v.support_end else ('no end announced' if v.upstream_eol is False else 'ended (no date)' if v.upstream_eol is True else '-')}",
            f"  days left:       {d(v.days_left)}",
            f"  upstream:        active until {d(v.active_end)}, security until "
            f"{d(v.eol) if v.eol else ('open' if v.upstream_eol is False else 'ended')}"
            + (f", extended until {d(v.extended_end)}" if v.extended_end else ""),
        ]
        if v.distro_end:
            lines.append(f"  distro:          {v.distro} packages supported until {d(v.distro_end)}")
        lines.append(f"  patch level:     latest in cycle {d(v.latest_in_cycle)}, "
                     f"{d(v.releases_behind)} release(s) behind")
        if v.recommended:
            r = v.recommended
            lines.append(f"  recommended:     {r.product} {r.cycle} ({r.version}) via {r.source}; {r.reason}")
        else:
            lines.append("  recommended:     none")
        for a in v.alternatives:
            lines.append(f"  alternative:     {a['product']}{' ' + a['cycle'] if a.get('cycle') else ''}: {a['reason']}")
    lines.append(f"  reason:          {v.reason}")
    lines.append(f"  as of:           {d(v.as_of)}")
    return "\n".join(lines)
