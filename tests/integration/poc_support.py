"""Helpers of the POC integration tests (test_poc*.py): playbook runs with the lab's Proxmox settings, the
source's data manifest computed on the source, the POC inventory entries and the VM containers."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from s4.lab import topology

ROOT = topology.ROOT
INVENTORY_POC = ROOT / "inventories" / "lab" / "poc"
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


def playbook(name: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, dict[str, int]]]:
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), f"playbooks/{name}", *extra]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env or pve_env(), timeout=1800)
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
