"""Start, stop and describe the lab's Proxmox VE-compatible server (used by ``scripts/lab`` and the tests).

State dir layout (all generated, secrets mode 0600): ``config.json`` (bind, port, name prefixes), ``realm.json``,
``secrets.json``, ``authkey``, ``ca.pem``/``ca.key``, ``server.pem``/``server.key``, ``state.json`` (VMs),
``tasks/`` (task logs), ``server.pid``, ``server.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s4.lab import topology
from s4.pve import auth, tls

if TYPE_CHECKING:
    from s4.pve.api import Api

DEFAULTS: dict[str, Any] = {
    "bind": "127.0.0.1",
    "port": 8006,
    "container_prefix": "s4pve-",
    "image_prefix": "localhost/s4pve",
    "task_delay": 0,
    "auth_delay": 0.5,
}


def default_state_dir() -> Path:
    return topology.STATE_DIR / "pve"


def read_config(state_dir: Path) -> dict[str, Any]:
    cfg = dict(DEFAULTS)
    path = state_dir / "config.json"
    if path.exists():
        cfg.update(json.loads(path.read_text()))
    return cfg


def configure(state_dir: Path, **overrides: Any) -> dict[str, Any]:
    """Write config.json (keeping earlier settings unless overridden) and create credentials and certificates."""
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    cfg = read_config(state_dir)
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown pve settings: {', '.join(sorted(unknown))}")
    (state_dir / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    auth.init_realm(state_dir)
    hosts = ("localhost", "127.0.0.1", "pve") + ((cfg["bind"],) if cfg["bind"] not in ("127.0.0.1", "0.0.0.0") else ())
    tls.ensure_certificates(state_dir, hosts)
    return cfg


def _pid(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / "server.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return pid if "s4.pve" in cmdline and "serve" in cmdline else None


def _host(cfg: dict[str, Any]) -> str:
    return "127.0.0.1" if cfg["bind"] in ("0.0.0.0", "") else str(cfg["bind"])


def _answers(state_dir: Path, cfg: dict[str, Any]) -> bool:
    ctx = ssl.create_default_context(cafile=str(state_dir / "ca.pem"))
    url = f"https://{_host(cfg)}:{cfg['port']}/api2/json/access/ticket"
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=3) as resp:
            return int(resp.status) == 200
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


def up(state_dir: Path, *, bind: str | None = None, port: int | None = None, wait: float = 60.0,
       **settings: Any) -> None:
    """Generate CA/cert/realm/tokens on first use, start the server detached and wait until it answers."""
    cfg = configure(state_dir, bind=bind, port=port, **settings)
    if _pid(state_dir) and _answers(state_dir, cfg):
        return
    log = open(state_dir / "server.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "s4.pve", "serve", "--state-dir", str(state_dir)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        cwd=str(topology.ROOT), env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state_dir / "server.log").read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError("the PVE server exited during start-up:\n" + "\n".join(tail))
        if _answers(state_dir, cfg):
            return
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"the PVE server did not answer on {_host(cfg)}:{cfg['port']} within {wait:.0f}s")


def stop_server(state_dir: Path, timeout: float = 40.0) -> bool:
    """Stop the server process (SIGTERM, then SIGKILL); VMs and state stay. Returns whether one was running."""
    pid = _pid(state_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid(state_dir) is None:
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    (state_dir / "server.pid").unlink(missing_ok=True)
    return True


def down(state_dir: Path) -> None:
    """Stop the server and remove every VM container and image it created; the VMs are forgotten (templates stay)."""
    stop_server(state_dir)
    state_file = state_dir / "state.json"
    if not state_file.exists():
        return
    data = json.loads(state_file.read_text())
    cfg = read_config(state_dir)
    instance = data.get("instance")
    if instance:
        proc = subprocess.run(["podman", "ps", "-a", "-q", "--filter", f"label=s4pve.instance={instance}"],
                              capture_output=True, text=True, check=False)
        ids = proc.stdout.split()
        if ids:
            subprocess.run(["podman", "rm", "-f", "-t", "2", *ids], capture_output=True, check=False)
    from s4.pve.api import owned_image_refs

    for vm in data.get("vms", {}).values():
        for ref in owned_image_refs(vm, cfg["image_prefix"]):
            subprocess.run(["podman", "rmi", ref], capture_output=True, check=False)
    data["vms"] = {k: v for k, v in data.get("vms", {}).items() if v.get("seeded")}
    for vm in data["vms"].values():
        vm.update({"container": None, "net_applied": None, "starttime": None, "lock": None})
    data["leases"] = {}
    state_file.write_text(json.dumps(data, indent=1, sort_keys=True))


def status(state_dir: Path) -> str:
    cfg = read_config(state_dir)
    pid = _pid(state_dir)
    if pid is None:
        return "pve: stopped"
    count = 0
    with contextlib.suppress(OSError, json.JSONDecodeError):
        count = len(json.loads((state_dir / "state.json").read_text()).get("vms", {}))
    health = "answering" if _answers(state_dir, cfg) else "NOT answering"
    return f"pve: running (pid {pid}) on https://{_host(cfg)}:{cfg['port']}/api2/json, {health}, {count} VMs/templates"


def credentials(state_dir: Path) -> dict[str, str]:
    """Clear-text lab credentials (user/token id -> password/secret)."""
    return auth.read_secrets(state_dir)


def env_lines(state_dir: Path) -> list[str]:
    """``export PVE_...=`` lines for the server. PVE_TOKEN_ID is the token *name* (``s4``), as the community.proxmox
    modules (``api_token_id``) and proxmoxer (``token_name``) take it, to be combined with PVE_USER."""
    cfg = read_config(state_dir)
    secrets = credentials(state_dir)
    user, token = "root@pam", "s4"
    values = {
        "PVE_HOST": _host(cfg),
        "PVE_PORT": str(cfg["port"]),
        "PVE_CA": str(state_dir / "ca.pem"),
        "PVE_USER": user,
        "PVE_PASSWORD": secrets[user],
        "PVE_TOKEN_ID": token,
        "PVE_TOKEN_SECRET": secrets[f"{user}!{token}"],
    }
    return [f"export {k}={_shell_quote(v)}" for k, v in values.items()]


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


def reconcile(api: Api) -> list[str]:
    """Bring state and podman back in line after a (re)start: drop half-created VMs, remove orphan containers,
    forget containers that vanished. Returns what was done."""
    done: list[str] = []
    state, backend = api.state, api.backend
    with state.lock:
        for vm in state.vms():
            if vm.get("lock") in ("clone", "create"):
                api._remove_vm_artifacts(None, vm)
                state.delete(vm["vmid"])
                done.append(f"removed half-created VM {vm['vmid']} (lock {vm['lock']})")
        live = backend.states()
        known = {vm["container"] for vm in state.vms() if vm.get("container")}
        for name in live:
            if name not in known:
                backend.remove(name)
                done.append(f"removed orphan container {name}")
        for vm in state.vms():
            if vm.get("container") and vm["container"] not in live:
                vm.update({"container": None, "net_applied": None, "starttime": None})
                state.put(vm)
                done.append(f"VM {vm['vmid']}: its container is gone; the next start recreates it from {vm['image']}")
    return done
