"""``scripts/lab``: control the local lab estate (see docs/LAB.md).

    scripts/lab up | down | status [HOST...] | ssh HOST [CMD...] | images | cmdb | pve-env
    scripts/lab up --fleet N [--seed S] | down --fleet | status --fleet      # the fleet lab (docs/LAB.md)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import subprocess
import sys
from collections.abc import Iterator, Sequence

from s4.lab import control, fleet, fleetctl, hostimages, topology


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scripts/lab", description="Local stand-in for the provider's estate")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True
    upp = sub.add_parser("up", help="build missing images, start every host, wait until each answers SSH, write the CMDB")
    upp.add_argument("--fleet", type=_fleet_size, metavar="N",
                     help=f"instead: bring up the fleet lab of N light hosts (1..{fleet.MAX_HOSTS}, docs/LAB.md)")
    upp.add_argument("--seed", type=int, default=fleet.DEFAULT_SEED, help="the fleet's seed (with --fleet)")
    dn = sub.add_parser("down", help="remove the lab's containers and network (images, keys and caches are kept)")
    dn.add_argument("--fleet", action="store_true", help="instead: remove only the fleet lab (s4fleet-* hosts)")
    st = sub.add_parser("status", help="hosts, addresses, container state and services")
    st.add_argument("--fleet", action="store_true", help="instead: the fleet's hosts with memory and disk per host")
    st.add_argument("hosts", nargs="*", metavar="HOST")
    sh = sub.add_parser("ssh", help="ssh into a lab host (pinned host key, lab client key)")
    sh.add_argument("host", metavar="HOST")
    sh.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD")
    sub.add_parser("images", help="build every image (base + hosts) without starting the estate")
    sub.add_parser("cmdb", help="(re)generate inventories/lab/cmdb.yml")
    sub.add_parser("pve-env", help="print the export PVE_... settings of the Proxmox-compatible server")
    sub.add_parser("hosts", help="list the lab's host names")
    return p


def _fleet_size(text: str) -> int:
    n = int(text)
    if not 1 <= n <= fleet.MAX_HOSTS:
        raise argparse.ArgumentTypeError(f"fleet size must be 1..{fleet.MAX_HOSTS}")
    return n


MUTATING = {"up", "down", "images"}


@contextlib.contextmanager
def _lock(cmd: str) -> Iterator[None]:
    """One mutating scripts/lab run at a time (another one waits, and says so)."""
    if cmd not in MUTATING:
        yield
        return
    topology.STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(topology.STATE_DIR / "lab.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"scripts/lab {cmd}: waiting for another scripts/lab run to finish", file=sys.stderr)
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd in MUTATING:
        try:
            control.require_podman()  # before waiting on the lock: a missing podman is reported at once
        except control.LabError as exc:
            print(f"scripts/lab {args.cmd}: {exc}", file=sys.stderr)
            return 1
    with _lock(args.cmd):
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.cmd == "up" and args.fleet:
            return fleetctl.up(args.fleet, args.seed)
        if args.cmd == "up":
            return control.up()
        if args.cmd == "down" and args.fleet:
            return fleetctl.down()
        if args.cmd == "down":
            return control.down()
        if args.cmd == "status" and args.fleet:
            return fleetctl.status()
        if args.cmd == "status":
            return control.status(args.hosts or None)
        if args.cmd == "ssh":
            return control.ssh(args.host, args.command)
        if args.cmd == "images":
            return control.images_only()
        if args.cmd == "cmdb":
            return control.write_cmdb()
        if args.cmd == "pve-env":
            return control.pve_env()
        if args.cmd == "hosts":
            print("\n".join(h.name for h in topology.HOSTS))
            return 0
    except KeyError as exc:  # unknown host name
        print(f"scripts/lab {args.cmd}: {exc.args[0]}", file=sys.stderr)
        return 2
    except (control.LabError, hostimages.BuildError, fleetctl.FleetError) as exc:
        print(f"scripts/lab {args.cmd}: {exc}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as exc:
        print(f"scripts/lab {args.cmd}: timed out: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    raise AssertionError(args.cmd)


if __name__ == "__main__":
    sys.exit(main())
