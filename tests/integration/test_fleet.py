"""The fleet lab (issue #18): `scripts/lab up --fleet 5`, a gather over it, `scripts/lab down --fleet`.

Checks what the generator promised against what the discovery finds on the hosts: the planned sites with their
app trees and front-end library versions, the rolled-back packages on a "behind" host, the /opt runtime where
planned; the out-of-scope host is never targeted; the lab's own containers are left as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s4.lab import fleet, fleetctl

pytestmark = [pytest.mark.integration, pytest.mark.fleet]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
N = 5


def _lab(*args: str, timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "scripts" / "lab"), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, check=False)


def _lab_containers() -> dict[str, str]:
    out = subprocess.run(["podman", "ps", "-a", "--filter", "name=^s4lab-", "--format", "{{.Names}} {{.ID}}"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


@pytest.fixture(scope="module")
def fleet_up():
    lab_before = _lab_containers()
    up = _lab("up", "--fleet", str(N))
    try:
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]
        yield {"up": up, "lab_before": lab_before}
    finally:
        down = _lab("down", "--fleet", timeout=300)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not fleetctl.fleet_containers()
        assert not fleet.CMDB_PATH.exists()
        assert _lab_containers() == lab_before  # the lab's own hosts: same containers before and after


@pytest.fixture(scope="module")
def gathered(fleet_up, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_NOCOLOR="1")
    r = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(fleet.FLEET_DIR), "playbooks/gather_software.yml",
                        "-e", f"s4_state_url=sqlite:///{tmp / 'state.sqlite'}"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = json.loads(r.stdout)
    facts = {h: res["ansible_facts"]["s4_software"] for h, res in out["plays"][2]["tasks"][0]["hosts"].items()}
    return {"facts": facts, "tmp": tmp}


def test_fleet_cmdb_and_hosts(fleet_up):
    plan = fleet.plan(N)
    assert fleet.CMDB_PATH.read_text(encoding="utf-8") == fleet.render_cmdb(plan)
    running = {n for n, lab in fleetctl.fleet_containers().items() if lab["state"] == "running"}
    assert running == {h.container for h in plan.hosts}
    for row in fleetctl.measure():  # memory and disk per host are measurable (figures: docs/LAB.md)
        assert row["anon"] and row["anon"] < 200e6


def test_gather_finds_what_the_plan_put_there(gathered):
    plan = fleet.plan(N)
    facts = gathered["facts"]
    assert set(facts) == {h.name for h in plan.hosts if h.in_scope}  # out-of-scope hosts are never targeted
    for h in plan.hosts:
        if not h.in_scope:
            continue
        f = facts[h.name]
        sites = {s["name"]: s for s in f["sites"]}
        for s in h.sites:
            assert s.name in sites, f"{h.name}: {s.name} not found ({list(sites)})"
            libs = {(x["product"], x["version"]) for x in sites[s.name]["libraries"]}
            for lib, version in s.libs:
                assert (lib, version) in libs, f"{h.name}/{s.name}: {lib} {version} not in {sorted(libs)}"
        nodes = [c for c in f["components"] if c["product"] == "nodejs" and c["source"] == "binary"]
        assert bool(nodes) == h.node, f"{h.name}: node runtime {nodes}"


def test_behind_hosts_miss_updates(gathered):
    plan = fleet.plan(N)
    behind = [h for h in plan.hosts if h.behind]
    assert behind, "the 5-host fleet of the default seed has a behind host"
    for h in behind:
        listed = (fleetctl.CACHE / "pool" / "behind" / h.suite / "versions.txt").read_text().split("\n")
        rolled = {line.split()[0]: line.split()[1] for line in listed if line.strip()}
        res = subprocess.run(["podman", "exec", h.container, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n",
                              *rolled], capture_output=True, text=True, check=False)
        installed = dict(line.split() for line in res.stdout.splitlines())
        assert installed == rolled
