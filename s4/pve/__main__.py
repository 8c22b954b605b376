"""``python -m s4.pve serve|up|down|status|env --state-dir DIR [--bind A] [--port N]``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from s4.pve import control


def serve(state_dir: Path) -> int:
    from s4.pve.api import Api
    from s4.pve.auth import Authority
    from s4.pve.backend import PodmanBackend
    from s4.pve.server import PVEServer, serve_forever
    from s4.pve.state import NODE, State
    from s4.pve.tasks import TaskRunner
    from s4.pve.tls import ca_paths

    cfg = control.read_config(state_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    state = State(state_dir, image_prefix=cfg["image_prefix"])
    backend = PodmanBackend(state.instance)
    backend.ensure_network()
    runner = TaskRunner(state_dir, NODE, delay=float(cfg.get("task_delay", 0)))
    api = Api(state, backend, runner, container_prefix=cfg["container_prefix"])
    for line in control.reconcile(api):
        logging.info("reconcile: %s", line)
    _, _, cert, key = ca_paths(state_dir)
    server = PVEServer((cfg["bind"], int(cfg["port"])), api, Authority(state_dir), cert, key,
                       auth_delay=float(cfg.get("auth_delay", 0.5)))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    (state_dir / "server.pid").write_text(f"{os.getpid()}\n")
    logging.info("listening on https://%s:%s/api2/json", cfg["bind"], cfg["port"])
    try:
        serve_forever(server, stop)
        runner.wait_all(timeout=30)
    finally:
        (state_dir / "server.pid").unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s4.pve", description=__doc__)
    ap.add_argument("command", choices=("serve", "up", "down", "status", "env"))
    ap.add_argument("--state-dir", type=Path, default=None)
    ap.add_argument("--bind", default=None)
    ap.add_argument("--port", type=int, default=None)
    args = ap.parse_args(argv)
    state_dir = (args.state_dir or control.default_state_dir()).resolve()
    if args.command == "serve":
        control.configure(state_dir, bind=args.bind, port=args.port)
        return serve(state_dir)
    if args.command == "up":
        control.up(state_dir, bind=args.bind, port=args.port)
        print(control.status(state_dir))
    elif args.command == "down":
        control.down(state_dir)
    elif args.command == "status":
        print(control.status(state_dir))
    else:
        print("\n".join(control.env_lines(state_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
