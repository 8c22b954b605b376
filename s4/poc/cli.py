"""``s4 poc``: POC commands that need no Ansible. ``s4 poc handover NAME [--send]``: the client handover notice of a
passed POC (s4.poc.handover; docs/POC.md "Client handover")."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from s4.releasewatch.cli import add_smtp_arguments, smtp_from_args


def register(sub: Any) -> None:
    p = sub.add_parser("poc", help="POC commands without Ansible (client handover)",
                       description="POC commands that need no Ansible; the POC itself is built by "
                                   "playbooks/poc_provision.yml (docs/POC.md).")
    psub = p.add_subparsers(dest="poc_command", metavar="POC_COMMAND")
    psub.required = True
    h = psub.add_parser("handover", help="the notice to the client of a passed POC (dry run: a draft .eml)",
                        description="Build the client handover notice of a passed POC (preview names, hosts-file "
                                    "lines, what changed, what to test, how to accept the go-live; never a "
                                    "credential) and write it as REPORTS/NAME/handover.eml, or send it with --send. "
                                    "Recorded in the state store: a rerun neither rewrites nor resends it.")
    h.add_argument("name", help="the POC's name (poc-<client>-<site or host>-<hash>)")
    h.add_argument("--cmdb", default="inventories/lab/cmdb.yml", help="CMDB file (default: %(default)s)")
    h.add_argument("--state-url", default=None,
                   help="state store URL or SQLite path (default: $S4_STATE_URL, else .cache/s4/state.sqlite)")
    h.add_argument("--reports", default="reports/poc",
                   help="directory of the POC reports, REPORTS/NAME/report.json (default: %(default)s)")
    h.add_argument("--support", help="the operator's support address replies go to (default: support@<domain>)")
    h.add_argument("--sender", help="From address (default: s4-notices@<domain>)")
    h.add_argument("--org", default="Smartt", help="organisation name signing the notice (default: %(default)s)")
    h.add_argument("--send", action="store_true", help="deliver by SMTP (default: dry run, a draft .eml)")
    add_smtp_arguments(h)
    h.add_argument("--check", action="store_true", help="build the notice; write, record and send nothing")
    h.add_argument("--json", action="store_true", help="print the result as JSON")
    h.set_defaults(func=_handover)


def _handover(args: argparse.Namespace) -> int:
    from s4 import cmdb as _cmdb
    from s4.poc import handover
    from s4.releasewatch.smtp import SmtpConfigError
    from s4.state import StateError

    try:
        db = _cmdb.load(args.cmdb)
    except (_cmdb.CmdbError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hostvars = {n: db.hostvars(n) for n in db.in_scope}
    try:
        smtp = smtp_from_args(args) if args.send else None
        settings = handover.Settings(support=args.support or f"support@{db.domain}",
                                     sender=args.sender or f"s4-notices@{db.domain}", org=args.org, domain=db.domain)
        result = handover.run(args.name, hostvars, handover.Options(
            reports_dir=Path(args.reports), state_url=args.state_url, send=args.send, smtp=smtp, check=args.check,
            settings=settings))
    except (handover.HandoverError, SmtpConfigError, StateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for w in result["warnings"]:
            print(f"warning: {w}")
        where = result.get("eml") or ", ".join(result["recipients"])
        state = "changed" if result["changed"] else "unchanged"
        print(f"handover {result['poc']} ({result['client']}): {result['status']} -> {where or '-'} ({state})")
        if result["error"]:
            print(f"error: {result['error']} (nothing was marked sent; a rerun sends it)", file=sys.stderr)
    return 1 if result["error"] else 0
