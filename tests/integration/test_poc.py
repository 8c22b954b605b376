"""POC pipeline against the lab: acme (WordPress + MariaDB 10.5 -> Debian 13) and globex (PostgreSQL 13 apps ->
Debian 13 / PostgreSQL 17).

One provision per source is shared by the checks of its class: full run green, a rerun with changed=0 (acme),
the source's data manifest identical before and after, bad input refused before any change, teardown leaving no
container, no inventory entry, no report behind. Needs `scripts/lab up` (the lab's PVE server included).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from s4.lab import topology

pytestmark = [pytest.mark.integration, pytest.mark.slow]

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


def provisioned(ssh: Callable[..., Any], name: str, source: str, roots: list[str], extra: list[str],
                reruns: int) -> Iterator[Poc]:
    poc = Poc(name, source, roots, extra)
    env = pve_env()
    playbook("poc_teardown.yml", "-e", f"s4_poc_name={name}", env=env)  # leftovers of an aborted session
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
        rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={name}", env=env)
        assert rc == 0, out[-3000:]


@pytest.fixture(scope="module")
def acme(ssh: Callable[..., Any]) -> Iterator[Poc]:
    yield from provisioned(ssh, "poc-acme-acme-blog", "mvps-acme-01", ["/etc/wordpress", "/var/lib/wordpress"],
                           ["-e", "s4_poc_source=mvps-acme-01", "-e", "s4_poc_site=acme-blog"], reruns=1)


@pytest.fixture(scope="module")
def globex(ssh: Callable[..., Any]) -> Iterator[Poc]:
    yield from provisioned(ssh, "poc-globex-mvps-globex-01", "mvps-globex-01", ["/etc/roundcube", "/srv/www/globex-www"],
                           ["-e", "s4_poc_source=mvps-globex-01"], reruns=0)


def test_bad_input_is_refused_before_any_change() -> None:
    before = set(podman_names())
    cases = [
        (["-e", "s4_poc_source=nope-01"], "unknown source 'nope-01'"),
        (["-e", "s4_poc_source=colo-01"], "out of scope"),
        (["-e", "s4_poc_source=mvps-acme-01", "-e", "s4_poc_site=nosuch"], "unknown site 'nosuch'"),
        (["-e", "s4_poc_source=mvps-acme-01", "-e", '{"s4_poc_versions": {"php": "7.4"}}'],
         "php 7.4 is not provided by template 9000"),
    ]
    for extra, msg in cases:
        rc, out, _ = playbook("poc_provision.yml", *extra)
        assert rc != 0 and msg in out, out[-2000:]
    env = pve_env()
    env["PVE_TOKEN_SECRET"] = "00000000-0000-0000-0000-000000000000"
    env.pop("PVE_PASSWORD", None)
    rc, out, _ = playbook("poc_provision.yml", "-e", "s4_poc_source=mvps-acme-01", env=env)
    assert rc != 0 and "Proxmox connect failed" in out and "401" in out, out[-2000:]
    assert set(podman_names()) == before
    assert not list(INVENTORY_POC.glob("*.yml")) or all(
        p.stem.startswith("poc-") for p in INVENTORY_POC.glob("*.yml"))


def test_acme_full_run_is_green(acme: Poc) -> None:
    rc, out, recap = acme.runs[0]
    assert rc == 0, out[-5000:]
    rep = acme.report
    assert rep["status"] == "passed" and rep["integrity"]["passed"]
    assert all(i["passed"] for i in rep["interop"])
    checks = {i["check"] for i in rep["interop"]}
    assert {"http blog.acme.example", "http acme-blog.poc.smartt.example", "served PHP version (blog.acme.example)",
            "service php8.4-fpm.service", "service mariadb.service"} <= checks
    versions = {v["product"]: v for v in rep["versions"]}
    assert versions["php"]["before"].startswith("7.4") and versions["php"]["after"].startswith("8.4")
    assert versions["mariadb"]["after"].startswith("11.8")
    assert versions["php"]["before_verdict"]["status"] == "eol"
    # WordPress 5.7 does not support PHP 8.4: the client is told
    assert any("wordpress" in i["message"] for i in rep["issues"])
    assert "poc_teardown.yml" in rep["commands"]["teardown"]
    assert (ROOT / "reports" / "poc" / acme.name / "report.html").read_text().count("passed") >= 1


def test_acme_credentials_are_private_and_not_logged(acme: Poc) -> None:
    access = ROOT / ".cache" / "s4" / "poc" / acme.name / "credentials" / "access.yml"
    assert access.stat().st_mode & 0o777 == 0o600
    secrets = yaml.safe_load(access.read_text())["database_accounts"]
    assert secrets and all(len(p) == 24 for p in secrets.values())
    for _, out, _ in acme.runs:
        assert all(p not in out for p in secrets.values())
    assert all(p not in json.dumps(acme.report) for p in secrets.values())


def test_acme_rerun_changes_nothing(acme: Poc) -> None:
    assert len(acme.runs) == 2
    rc, out, recap = acme.runs[1]
    assert rc == 0, out[-5000:]
    assert recap and all(r["changed"] == 0 and r["failed"] == 0 for r in recap.values()), recap


def test_acme_source_is_untouched(acme: Poc, ssh: Callable[..., Any]) -> None:
    assert source_manifest(ssh, acme.source, acme.roots) == acme.manifest_before


def test_acme_vm_is_in_the_inventory_and_tagged(acme: Poc) -> None:
    e = entry(acme.name)
    assert e["ansible_host"].startswith("10.89.40.") and acme.vmid is not None
    assert vm_container(acme.vmid) in podman_names()
    assert "StrictHostKeyChecking=accept-new" in e["ansible_ssh_common_args"]
    assert e["s4_poc"]["hosts_lines"][0].startswith(e["ansible_host"] + " acme-blog.poc.smartt.example")


def test_golive_refuses_an_unknown_poc_and_one_without_a_passing_report(acme: Poc) -> None:
    rc, out, _ = playbook("poc_golive.yml", "-e", "s4_poc_name=poc-nope-nope")
    assert rc != 0 and "not a provisioned POC" in out
    report = ROOT / "reports" / "poc" / acme.name / "report.json"
    saved = report.read_text()
    try:
        report.write_text(json.dumps({**json.loads(saved), "status": "failed"}))
        rc, out, recap = playbook("poc_golive.yml", "-e", f"s4_poc_name={acme.name}")
        assert rc != 0 and "has no passing report" in out, out[-3000:]
        assert acme.name not in recap  # refused before the final sync touched the POC
    finally:
        report.write_text(saved)


def test_globex_full_run_is_green(globex: Poc, ssh: Callable[..., Any]) -> None:
    rc, out, _ = globex.runs[0]
    assert rc == 0, out[-5000:]
    rep = globex.report
    assert rep["status"] == "passed" and rep["integrity"]["passed"]
    names = {c["name"] for c in rep["integrity"]["checks"]}
    assert {"database globex_roundcube", "database globex_crm"} <= names
    versions = {v["product"]: v for v in rep["versions"]}
    assert versions["postgresql"]["before"].startswith("13") and versions["postgresql"]["after"].startswith("17")
    assert all(i["passed"] for i in rep["interop"]), [i for i in rep["interop"] if not i["passed"]]
    assert source_manifest(ssh, globex.source, globex.roots) == globex.manifest_before


def test_teardown_leaves_nothing_behind(globex: Poc) -> None:
    assert globex.vmid is not None
    rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={globex.name}")
    assert rc == 0, out[-3000:]
    assert vm_container(globex.vmid) not in podman_names()
    assert not (INVENTORY_POC / f"{globex.name}.yml").exists()
    assert not (ROOT / "reports" / "poc" / globex.name).exists()
    assert not (ROOT / ".cache" / "s4" / "poc" / globex.name).exists()
    rc, out, recap = playbook("poc_teardown.yml", "-e", f"s4_poc_name={globex.name}")  # rerunnable
    assert rc == 0 and recap["localhost"]["changed"] == 0, out[-3000:]
