"""Helpers of the POC integration tests (test_poc*.py): playbook runs with the lab's Proxmox settings, the
source's data manifest computed on the source, the POC inventory entries and the VM containers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from s4.filemodes import private_dir
from s4.lab import topology

ROOT = topology.ROOT
INVENTORY_POC = ROOT / "inventories" / "lab" / "poc"
TEST_LOG_ROOT = ROOT / ".cache" / "s4" / "test-logs"
LOG_KEEP_DAYS = 7
_SESSION_LOG_DIR: Path | None = None
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
MANIFEST_PY = (
    "import sys, json; sys.path.insert(0, '/tmp/s4poc-test'); import s4_manifest as m; "
    "r = m.build(sys.argv[1:]); m.serialize(r); print(r['header']['tree_sha256'])"
)


def pve_env() -> dict[str, str]:
    out = subprocess.run([str(ROOT / "scripts" / "lab"), "pve-env"], capture_output=True, text=True, check=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        m = re.match(r"export (\w+)=(.*)$", line.strip())
        if m:
            env[m.group(1)] = m.group(2).strip("'\"")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    return env


def session_log_dir() -> Path:
    """The directory (0700) where every :func:`playbook` run of this test session appends its output, for the
    secrets grep (tests/security/test_secrets_grep.py); ``$S4_TEST_LOG_DIR`` overrides it. Sessions older than
    LOG_KEEP_DAYS are removed when a new one starts."""
    global _SESSION_LOG_DIR
    if _SESSION_LOG_DIR is None:
        override = os.environ.get("S4_TEST_LOG_DIR")
        if not override and TEST_LOG_ROOT.is_dir():
            for old in TEST_LOG_ROOT.glob("session-*"):
                if old.is_dir() and time.time() - old.stat().st_mtime > LOG_KEEP_DAYS * 86400:
                    shutil.rmtree(old, ignore_errors=True)
        d = Path(override) if override else TEST_LOG_ROOT / f"session-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        private_dir(d)
        _SESSION_LOG_DIR = d
    return _SESSION_LOG_DIR


def _log_run(cmd: list[str], p: subprocess.CompletedProcess[str]) -> None:
    fd = os.open(session_log_dir() / "playbooks.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(f"===== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(cmd[1:])} (rc {p.returncode})\n")
        fh.write(p.stdout)
        fh.write("\n----- stderr\n")
        fh.write(p.stderr)
        fh.write("\n")


def playbook(name: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, dict[str, int]]]:
    """Run playbooks/NAME at -vvv (the most the toolkit may ever print: the secrets grep reads it all); the output
    is returned and appended to the session log (:func:`session_log_dir`)."""
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-vvv", f"playbooks/{name}", *extra]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env or pve_env(), timeout=1800)
    _log_run(cmd, p)
    recap = {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                          "failed": int(m.group(5))} for m in RECAP.finditer(p.stdout)}
    return p.returncode, p.stdout + p.stderr, recap


def source_manifest(ssh: Callable[..., Any], host: str, roots: list[str]) -> str:
    """tree_sha256 of the source's data paths, computed on the source with the toolkit's manifest code."""
    mu = (ROOT / "s4_plugins" / "module_utils" / "s4_manifest.py").read_text()
    subprocess.run(
        ["ssh", "-i", str(topology.SSH_KEY), "-o", f"UserKnownHostsFile={topology.KNOWN_HOSTS}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"root@{topology.host(host).address}",
         "mkdir -p /tmp/s4poc-test && cat > /tmp/s4poc-test/s4_manifest.py"],
        input=mu, text=True, check=True, timeout=60,
    )
    out = ssh(host, "python3 -c " + json.dumps(MANIFEST_PY) + " " + " ".join(roots), timeout=600).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", out), out
    return out


def podman_names() -> list[str]:
    """Containers of the lab's Proxmox server (its VMs); other containers come and go with other tests."""
    names = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True,
                           check=True).stdout.split()
    return [n for n in names if n.startswith("s4pve-")]


def entry(name: str) -> dict[str, Any]:
    data = yaml.safe_load((INVENTORY_POC / f"{name}.yml").read_text())
    return data["all"]["children"]["s4_poc"]["hosts"][name]


def vm_container(vmid: int) -> str:
    return f"s4pve-{vmid}"


# the POC's root-only secrets (generated DB passwords, access.yml) live on its VM, never on the controller
POC_SECRETS_DIR = "/root/.s4"


def vm_exec(vmid: int, command: str) -> subprocess.CompletedProcess[str]:
    """Run a shell command as root inside the POC VM's container (output not logged: it may hold secrets)."""
    return subprocess.run(["podman", "exec", vm_container(vmid), "sh", "-c", command], capture_output=True,
                          text=True, timeout=120)


class Poc:
    def __init__(self, name: str, source: str, roots: list[str], extra: list[str]) -> None:
        self.name, self.source, self.roots, self.extra = name, source, roots, extra
        self.runs: list[tuple[int, str, dict[str, dict[str, int]]]] = []
        self.manifest_before = ""
        self.vmid: int | None = None

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((ROOT / "reports" / "poc" / self.name / "report.json").read_text())


def remove(name: str, env: dict[str, str]) -> tuple[int, str]:
    """Tear a POC down; one left live by a go-live test that stopped half-way is rolled back first."""
    if (INVENTORY_POC / f"{name}.golive.yml").exists():
        playbook("poc_golive.yml", "-e", f"s4_poc_name={name}", "-e", f"s4_poc_golive_rollback={name}", env=env)
    rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={name}", env=env)
    if rc != 0 and "roll back first" in out.lower():
        # marked live on the VM or the source only (a go-live test stopped between marking and the CMDB record)
        playbook("poc_golive.yml", "-e", f"s4_poc_name={name}", "-e", f"s4_poc_golive_rollback={name}", env=env)
        rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={name}", env=env)
    return rc, out


def provisioned(ssh: Callable[..., Any], name: str, source: str, roots: list[str], extra: list[str],
                reruns: int) -> Iterator[Poc]:
    poc = Poc(name, source, roots, extra)
    env = pve_env()
    remove(name, env)  # leftovers of an aborted session
    poc.manifest_before = source_manifest(ssh, source, roots)
    for _ in range(1 + reruns):
        poc.runs.append(playbook("poc_provision.yml", *extra, env=env))
        if poc.runs[-1][0] != 0:
            break
    if (INVENTORY_POC / f"{name}.yml").exists():
        poc.vmid = int(entry(name)["s4_poc"]["vmid"])
    try:
        yield poc
    finally:
        rc, out = remove(name, env)
        assert rc == 0, out[-3000:]
