"""``s4 release-watch``: the release watch without Ansible (reads the CMDB file and the gather history DB)."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from s4.releasewatch.site import SiteConfig
from s4.releasewatch.smtp import SmtpConfig, SmtpConfigError
from s4.releasewatch.store import DEFAULT_PATH
from s4.state import StateError


def register(sub: Any) -> None:
    p = sub.add_parser("release-watch", help="announce new stable releases: notice website, feed, client notices",
                       description="Decide which new releases are ready (policy), publish notice pages and an Atom "
                                   "feed, and notify the clients that use the software (dry run by default).")
    p.add_argument("--as-of", help="decision date YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--cmdb", default="inventories/lab/cmdb.yml", help="CMDB file (default: %(default)s)")
    p.add_argument("--state-url", "--store", dest="state_url", default=DEFAULT_PATH,
                   help="state store URL or SQLite path holding the gather history and the decisions (default: "
                        "$S4_STATE_URL, else .cache/s4/state.sqlite in the checkout)")
    p.add_argument("--history-db", default=None,
                   help="another state store to read the gather history from (default: --state-url)")
    p.add_argument("--out", default="reports/release-watch", help="output directory (default: %(default)s)")
    p.add_argument("--catalog", help="catalog directory (default: the committed s4/data/catalog)")
    p.add_argument("--policy", help="policy YAML (default: s4/releasewatch/policy.yaml)")
    p.add_argument("--base-url", help="URL the site is served at (default: https://notices.<domain>/)")
    p.add_argument("--poc-contact", help="address for POC requests (default: support@<domain>)")
    p.add_argument("--sender", help="From address (default: s4-notices@<domain>)")
    p.add_argument("--send", action="store_true", help="deliver by SMTP (default: dry run, .eml files in OUT/outbox)")
    p.add_argument("--claim-lease", type=int, default=15, metavar="MINUTES",
                   help="how long a job's claim on a notice holds before another job takes it over (default 15)")
    add_smtp_arguments(p)
    p.add_argument("--check", action="store_true", help="decide and render in memory; write and send nothing")
    p.add_argument("--explain", metavar="PRODUCT", help="print the policy verdict of every cycle of PRODUCT and exit")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cli)


def add_smtp_arguments(p: argparse.ArgumentParser) -> None:
    """The SMTP options of every command that mails clients (release notices, POC handover)."""
    p.add_argument("--smtp-host", default="localhost")
    p.add_argument("--smtp-port", type=int)
    p.add_argument("--smtp-security", choices=["starttls", "ssl", "none"], default="starttls")
    p.add_argument("--smtp-username", help="or $S4_SMTP_USERNAME (the password only from $S4_SMTP_PASSWORD)")
    p.add_argument("--smtp-timeout", type=float, default=30.0)
    p.add_argument("--smtp-ca-file", help="CA bundle the server certificate is verified against (default: system)")
    p.add_argument("--smtp-allow-plaintext-auth", action="store_true",
                   help="allow the login over --smtp-security none, to a loopback relay only")


def smtp_from_args(args: argparse.Namespace) -> SmtpConfig:
    """The SMTP settings of :func:`add_smtp_arguments`; the password only from ``$S4_SMTP_PASSWORD``. Raises
    SmtpConfigError."""
    return SmtpConfig.from_options({"host": args.smtp_host, "port": args.smtp_port, "security": args.smtp_security,
                                    "username": args.smtp_username, "password": os.environ.get("S4_SMTP_PASSWORD"),
                                    "timeout": args.smtp_timeout, "ca_file": args.smtp_ca_file,
                                    "allow_plaintext_auth": args.smtp_allow_plaintext_auth})


def _explain(args: argparse.Namespace, as_of: _dt.date) -> int:
    from s4.releasewatch.policy import Policy, evaluate_cycle, load_catalog_releases

    policy = Policy.load(args.policy)
    releases, warnings = load_catalog_releases(args.catalog, [args.explain])
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.explain not in releases:
        print(f"no product {args.explain!r} in the catalog", file=sys.stderr)
        return 2
    pol = policy.for_product(args.explain)
    for c in releases[args.explain]:
        d, why = evaluate_cycle(c, pol, as_of)
        print(f"{c.cycle:<10} {'READY' if d else 'no':<6} {why}")
    return 0


def _cli(args: argparse.Namespace) -> int:
    from s4 import cmdb as _cmdb
    from s4.releasewatch.policy import PolicyError
    from s4.releasewatch.watch import Options, run
    from s4.report.model import ReportInputError

    try:
        as_of = _dt.date.fromisoformat(args.as_of) if args.as_of else _dt.datetime.now(_dt.UTC).date()
    except ValueError:
        print(f"error: --as-of must be a date YYYY-MM-DD, got {args.as_of!r}", file=sys.stderr)
        return 2
    if args.explain:
        return _explain(args, as_of)
    try:
        db = _cmdb.load(args.cmdb)
    except (_cmdb.CmdbError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hostvars = [dict(db.hostvars(n), inventory_hostname=n) for n in sorted(db.in_scope)]
    domain = db.domain
    try:
        smtp = smtp_from_args(args) if args.send else None
    except SmtpConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    site = SiteConfig(base_url=args.base_url or f"https://notices.{domain}/", domain=domain,
                      poc_contact=args.poc_contact or f"support@{domain}")
    opts = Options(as_of=as_of, out_dir=Path(args.out), store_path=args.state_url,
                   history_db=args.history_db or args.state_url, catalog_dir=Path(args.catalog) if args.catalog else None,
                   policy_path=Path(args.policy) if args.policy else None, site=site,
                   sender=args.sender or f"s4-notices@{domain}", send=args.send, smtp=smtp, check=args.check,
                   claim_lease=args.claim_lease * 60)
    try:
        result = run(hostvars, opts)
    except (PolicyError, ReportInputError, FileNotFoundError, StateError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        _print(result)
    return 1 if result["error"] else 0


def _print(r: dict[str, Any]) -> None:
    for w in r["warnings"]:
        print(f"warning: {w}")
    mode = "check" if r["check"] else ("send" if r["send"] else "dry run")
    print(f"release watch as of {r['as_of']} ({mode}): {len(r['ready'])} ready, "
          f"{len(r['new_announcements'])} new, {len(r['announcements'])} announced in total")
    for a in r["new_announcements"]:
        print(f"  new: {a['id']}: {a['title']} (clients: {', '.join(a['clients']) or 'none'})")
    for a in r["late_clients"]:
        print(f"  clients newly concerned by {a['id']}: {', '.join(a['clients'])}")
    print(f"site: {r['site']['dir']} ({len(r['site']['changed'])} file(s) changed)")
    for n in r["notices"]:
        where = n.get("eml") or ", ".join(n["recipients"])
        if n.get("note"):
            where += f" ({n['note']})"
        print(f"  notice {n['status']:<8} {n['client']}: {', '.join(n['announcements'])} -> {where}")
        for cmd in n.get("poc_commands") or []:
            print(f"    POC on acceptance (operator): {cmd}")
    for n in r["not_notified"]:
        print(f"  not notified: {n['client']} ({n['announcement']}): {n['reason']}")
    for h in r["not_gathered"]:
        print(f"  not gathered: {h['host']}: {h['reason']}")
    if r["error"]:
        print(f"error: {r['error']}", file=sys.stderr)
