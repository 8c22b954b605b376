"""Bring the lab estate up and down: podman network, one systemd container per host, pinned SSH.

``up`` is idempotent and recovers from earlier runs: a container from the current image, carrying the current
keys and running is kept; one from an older image, with other keys, stopped or half-created is recreated; a
leftover network is reused. A host that does not come up is reported with the last lines of its journal while
the others are left running.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from s4.lab import cmdb, estate, hostimages, keys, statedb, topology

Log = Callable[[str], None]
LABEL_LAB = "s4lab.lab"
LABEL_IMAGE = "s4lab.image"
LABEL_KEYS = "s4lab.keys"
SSH_TIMEOUT = 90.0
KEPT_SSH_TIMEOUT = 15.0
PVE_STATE = topology.STATE_DIR / "pve"


class LabError(RuntimeError):
    """A problem the operator must fix; the message says what and how."""


@dataclass
class HostResult:
    name: str
    action: str  # kept | created | failed
    seconds: float = 0.0
    detail: str = ""


def require_podman() -> None:
    if shutil.which("podman") is None:
        raise LabError(
            "podman is not installed: run scripts/bootstrap (step 1 installs the Debian packages of "
            "scripts/apt-packages.txt, podman among them), then scripts/lab up again"
        )
    res = subprocess.run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"], capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        raise LabError(f"podman does not work here ({res.stderr.strip()}): run scripts/bootstrap (step 2 configures "
                       "podman's runtime and ulimits)")


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["podman", *args], capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise LabError(f"podman {' '.join(args[:2])} failed: {res.stderr.strip()}")
    return res


def ensure_network() -> str:
    res = _podman("network", "inspect", topology.NETWORK, check=False)
    if res.returncode == 0:
        info = json.loads(res.stdout)[0]
        subnets = [s.get("subnet") for s in info.get("subnets", [])]
        if topology.SUBNET not in subnets:
            raise LabError(f"podman network {topology.NETWORK} exists with subnets {subnets}, not {topology.SUBNET}: "
                           f"remove it (podman network rm {topology.NETWORK}) or free the name")
        return "reused"
    _podman("network", "create", "--subnet", topology.SUBNET, "--gateway", topology.GATEWAY,
            "--label", f"{LABEL_LAB}=1", topology.NETWORK)
    return "created"


def inspect_container(name: str) -> dict | None:
    res = _podman("container", "inspect", name, check=False)
    if res.returncode != 0:
        return None
    return json.loads(res.stdout)[0]


def _labels(info: dict) -> dict[str, str]:
    return info.get("Config", {}).get("Labels") or {}


def container_is_current(info: dict | None, image_ref: str, key_fp: str) -> bool:
    if not info:
        return False
    labels = _labels(info)
    return (
        labels.get(LABEL_IMAGE) == image_ref
        and labels.get(LABEL_KEYS) == key_fp
        and info.get("State", {}).get("Status") == "running"
    )


def create_container(host: str, image_ref: str) -> None:
    h = topology.host(host)
    name = h.container
    _podman("rm", "-f", "-t", "5", name, check=False)
    add_hosts = [f"--add-host={o.name}:{o.address}" for o in topology.HOSTS if o.name != host]
    _podman(
        "create", "--name", name, "--hostname", host,
        "--network", topology.NETWORK, "--ip", h.address,
        "--systemd=always", "--stop-signal", "SIGRTMIN+3",
        "--label", f"{LABEL_LAB}=1", "--label", f"{LABEL_IMAGE}={image_ref}",
        "--label", f"{LABEL_KEYS}={keys.fingerprint(host)}",
        *add_hosts,
        image_ref, "/sbin/init",
    )
    key = keys.host_key(host)
    _podman("cp", str(key), f"{name}:/etc/ssh/ssh_host_ed25519_key")
    _podman("cp", str(key.with_suffix(".pub")), f"{name}:/etc/ssh/ssh_host_ed25519_key.pub")
    _podman("cp", str(topology.SSH_KEY.with_suffix(".pub")), f"{name}:/root/.ssh/authorized_keys")
    _podman("start", name)


def ssh_ready(host: str) -> bool:
    try:
        res = subprocess.run([*keys.ssh_command(host, connect_timeout=3), "true"], capture_output=True, text=True,
                             timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return False
    return res.returncode == 0


def wait_ssh(host: str, timeout: float = SSH_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = inspect_container(topology.host(host).container)
        if not info or info.get("State", {}).get("Status") != "running":
            return False
        if ssh_ready(host):
            return True
        time.sleep(0.5)
    return False


def journal_tail(host: str, lines: int = 30) -> str:
    name = topology.host(host).container
    res = _podman("exec", name, "journalctl", "-n", str(lines), "--no-pager", check=False)
    if res.returncode != 0 or not res.stdout.strip():
        res = _podman("logs", "--tail", str(lines), name, check=False)
    return (res.stdout + res.stderr).strip() or "(no journal and no container log)"


def _pve() -> ModuleType | None:
    try:
        return importlib.import_module("s4.pve.control")
    except ModuleNotFoundError as exc:
        if exc.name and "s4.pve.control".startswith(exc.name):
            return None
        raise


def bring_up_host(host: str, image_ref: str) -> HostResult:
    started = time.monotonic()
    name = topology.host(host).container
    info = inspect_container(name)
    fp = keys.fingerprint(host)
    action = "kept"
    if not container_is_current(info, image_ref, fp):
        action = "recreated" if info else "created"
        try:
            create_container(host, image_ref)
        except LabError as exc:
            return HostResult(host, "failed", time.monotonic() - started, str(exc))
    if action == "kept" and not wait_ssh(host, KEPT_SSH_TIMEOUT):
        action = "recreated"  # running from the right image but not answering: broken, start it afresh
        try:
            create_container(host, image_ref)
        except LabError as exc:
            return HostResult(host, "failed", time.monotonic() - started, str(exc))
    elif action == "kept":
        return HostResult(host, action, time.monotonic() - started)
    if wait_ssh(host, SSH_TIMEOUT):
        return HostResult(host, action, time.monotonic() - started)
    return HostResult(host, "failed", time.monotonic() - started,
                      f"no SSH after {SSH_TIMEOUT:.0f}s; last journal lines:\n{journal_tail(host)}")


def up(*, log: Log = print, build: bool = True) -> int:
    t0 = time.monotonic()
    require_podman()
    keys.ensure()
    refs: dict[str, str] = {}
    missing = [h.name for h in topology.HOSTS if not hostimages.images.image_exists(hostimages.host_ref(h.name))]
    if missing and not build:
        raise LabError(f"host images missing for {', '.join(missing)}: run scripts/lab images")
    if missing:
        log(f"building host images (one at a time): {', '.join(missing)}")
    for h in topology.HOSTS:
        refs[h.name] = hostimages.build_host_image(h.name, log=log)
    log(f"network {topology.NETWORK} {ensure_network()}")
    with ThreadPoolExecutor(max_workers=len(topology.HOSTS)) as pool:
        results = list(pool.map(lambda h: bring_up_host(h.name, refs[h.name]), topology.HOSTS))
    failed = [r for r in results if r.action == "failed"]
    for r in results:
        h = topology.host(r.name)
        log(f"  {r.name:<15} {h.address:<12} {r.action:<9} {r.seconds:5.1f}s")
    for r in failed:
        log(f"host {r.name} failed to come up: {r.detail}")
    if cmdb.write():
        log(f"wrote {cmdb.CMDB_PATH.relative_to(topology.ROOT)}")
    pve_failed = False
    pve = _pve()
    if pve is not None:
        PVE_STATE.mkdir(parents=True, exist_ok=True)
        try:
            pve.up(PVE_STATE)
            log("Proxmox-compatible server up (settings: scripts/lab pve-env)")
        except Exception as exc:  # report it, keep the hosts: they are usable without it
            pve_failed = True
            log(f"Proxmox-compatible server failed to start: {exc}")
    statedb_failed = False
    try:  # the state store's PostgreSQL (tests, docs/STATE.md)
        log(statedb.up())
    except (statedb.StateDbError, OSError, subprocess.SubprocessError) as exc:
        statedb_failed = True
        log(f"PostgreSQL for the state store failed to start: {exc}")
    ok = len(results) - len(failed)
    log(f"lab up: {ok}/{len(results)} hosts reachable by SSH in {time.monotonic() - t0:.1f}s"
        + (f"; FAILED: {', '.join(r.name for r in failed)}" if failed else ""))
    return 1 if failed or pve_failed or statedb_failed else 0


def lab_containers() -> list[str]:
    res = _podman("ps", "-a", "--filter", f"label={LABEL_LAB}=1", "--format", "{{.Names}}", check=False)
    known = {h.container for h in topology.HOSTS} | {hostimages.BUILD_PREFIX + h.name for h in topology.HOSTS}
    return [n for n in res.stdout.split() if n in known]


def down(*, log: Log = print) -> int:
    require_podman()
    pve = _pve()
    if pve is not None and PVE_STATE.exists():
        pve.down(PVE_STATE)
    try:
        log(statedb.down())
    except (statedb.StateDbError, OSError, subprocess.SubprocessError) as exc:
        log(f"PostgreSQL for the state store: {exc}")
    names = lab_containers()
    if names:
        _podman("rm", "-f", "-t", "10", *names)
    log(f"removed {len(names)} lab container(s)" + (f": {', '.join(names)}" if names else ""))
    res = _podman("network", "inspect", topology.NETWORK, check=False)
    if res.returncode == 0:
        labels = json.loads(res.stdout)[0].get("labels") or {}
        users = _podman("ps", "-a", "--filter", f"network={topology.NETWORK}", "--format", "{{.Names}}").stdout.split()
        if labels.get(LABEL_LAB) != "1":
            log(f"network {topology.NETWORK} was not created by the lab: left alone")
        elif users:
            log(f"network {topology.NETWORK} kept: still used by {', '.join(users)}")
        else:
            _podman("network", "rm", topology.NETWORK)
            log(f"removed network {topology.NETWORK}")
    log("images and .lab/ (keys, caches) kept: the next up is warm")
    return 0


def services_of(host: str) -> tuple[str, ...]:
    return estate.spec(host).services


def host_status(host: str) -> tuple[str, str]:
    """(state, services summary) of one host."""
    h = topology.host(host)
    info = inspect_container(h.container)
    if not info:
        return "absent", "-"
    state = info.get("State", {}).get("Status", "?")
    if state != "running":
        return state, "-"
    units = services_of(host)
    res = _podman("exec", h.container, "systemctl", "is-active", *units, check=False)
    states = res.stdout.split()
    summary = " ".join(f"{u}={s}" for u, s in zip(units, states, strict=False))
    return state, summary


def status(hosts: list[str] | None = None, *, log: Log = print) -> int:
    require_podman()
    chosen = [topology.host(n).name for n in hosts] if hosts else [h.name for h in topology.HOSTS]
    bad = 0
    log(f"{'host':<15} {'address':<12} {'container':<9} services")
    for name in chosen:
        h = topology.host(name)
        state, summary = host_status(name)
        if state != "running" or "=active" not in summary or any(
            not part.endswith("=active") for part in summary.split()
        ):
            bad += 1
        log(f"{name:<15} {h.address:<12} {state:<9} {summary}")
    pve = _pve()
    if pve is not None and hosts is None:
        log(pve.status(PVE_STATE))
    if hosts is None:
        log(statedb.status())
    return 1 if bad else 0


def ssh(host: str, command: list[str]) -> int:
    topology.host(host)  # clear error for unknown hosts
    if not topology.SSH_KEY.exists():
        raise LabError("the lab has no keys yet: run scripts/lab up")
    argv = [*keys.ssh_command(host), *command]
    sys.stdout.flush()
    return subprocess.call(argv)


def pve_env(*, log: Log = print) -> int:
    pve = _pve()
    if pve is None:
        raise LabError("the Proxmox-compatible server (s4.pve.control) is not part of this checkout yet")
    PVE_STATE.mkdir(parents=True, exist_ok=True)
    for line in pve.env_lines(PVE_STATE):
        log(line)
    return 0


def images_only(*, log: Log = print) -> int:
    require_podman()
    t0 = time.monotonic()
    refs = hostimages.build_all(log=log)
    for host, ref in refs.items():
        log(f"  {host:<15} {ref}")
    log(f"images ready in {time.monotonic() - t0:.1f}s")
    return 0


def write_cmdb(path: Path = cmdb.CMDB_PATH, *, log: Log = print) -> int:
    changed = cmdb.write(path)
    log(f"{'wrote' if changed else 'unchanged'} {path}")
    return 0
