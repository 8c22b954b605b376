"""Issue #13 finding 11: guard bypass through extra vars.

Extra vars beat set_fact and register, so ``-e s4_poc_plan=...`` replaced the plan the guard had checked (a POC of
an out-of-scope host) and ``-e s4_poc_golive_mode=switch`` switched the source without the confirmation. Every
playbook now refuses, in its first task, any internal variable that is set from outside (-e or the inventory).

These tests run the playbooks on the controller only: each attack must be refused by that first task, before the
playbook reads a POC report, contacts Proxmox (no PVE_* settings are given) or connects to any host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_TASK = "Refuse internal variables set from outside"

# a plan that looks in scope (an mVPS client's site) but whose source is the colocation host colo-01
OUT_OF_SCOPE_PLAN = {
    "name": "poc-acme-acme-blog", "source": "colo-01", "source_address": "10.89.40.16", "client": "acme",
    "clients": ["acme"], "scope": "site", "site": "acme-blog", "domain": "smartt.example",
    "sites": [{"name": "acme-blog", "domain": "blog.acme.example", "aliases": []}],
    "databases": [], "data_paths": ["/"], "engines": [], "packages": [], "debconf": [],
    "tags": ["s4-poc"], "versions": {}, "profile": {"name": "debian13", "template": 9000, "distro": "debian-13"},
}
POC = "poc-guardtest-acme-blog"


def run(playbook: str, *args: str, inventory: Path | None = None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PVE_", "ANSIBLE_"))}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
    inv = ["-i", str(ROOT / "inventories" / "lab" / "cmdb.yml")] + (["-i", str(inventory)] if inventory else [])
    p = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), *inv, f"playbooks/{playbook}", *args],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


def assert_refused_first(rc: int, out: str, *names: str) -> None:
    assert rc != 0, out[-3000:]
    tasks = re.findall(r"^TASK \[(.*?)\]", out, re.M)
    # the refusal is the last task run; only gather_software.yml's read-only CMDB check may come before it
    assert tasks and tasks[-1].startswith(FIRST_TASK), (tasks, out[-3000:])
    assert all(t.startswith("Stop when no smartt.s4.cmdb inventory") for t in tasks[:-1]), tasks
    refusal = out[out.index("refused:"):]
    for name in names:
        assert name in refusal, (name, out[-3000:])


@pytest.fixture
def poc_inventory(tmp_path: Path) -> Path:
    """A provisioned-looking POC entry (as poc_provision.yml writes it), in an inventory of the test's own."""
    inv = tmp_path / "poc.yml"
    inv.write_text(json.dumps({"all": {"children": {"s4_poc": {"hosts": {POC: {
        "ansible_host": "10.89.40.199", "s4_poc": {"name": POC, "source": "mvps-acme-01", "site": "acme-blog",
                                                   "client": "acme", "profile": "debian13", "vmid": 199}}}}}}}))
    return inv


def test_extra_var_plan_of_an_out_of_scope_source_cannot_replace_the_checked_plan() -> None:
    rc, out = run("poc_provision.yml", "-e", "s4_poc_source=mvps-acme-01", "-e", "s4_poc_site=acme-blog",
                  "-e", json.dumps({"s4_poc_plan": OUT_OF_SCOPE_PLAN}))
    assert_refused_first(rc, out, "s4_poc_plan")


@pytest.mark.parametrize("var", ["s4_poc_dir", "s4_poc_report_dir", "s4_poc_inventory_file", "s4_poc_source_manifest",
                                 "__s4_poc_profile", "__s4_poc_passwords", "__s4_poc_db_unsettled"])
def test_extra_var_cannot_replace_a_value_the_provision_guard_computes(var: str) -> None:
    rc, out = run("poc_provision.yml", "-e", "s4_poc_source=mvps-acme-01", "-e", json.dumps({var: "/tmp/x"}))
    assert_refused_first(rc, out, var)


def test_extra_var_vm_result_cannot_redirect_the_poc_to_another_address() -> None:
    rc, out = run("poc_provision.yml", "-e", "s4_poc_source=mvps-acme-01",
                  "-e", json.dumps({"s4_poc_vm": {"address": "10.89.40.13", "vmid": 100, "created": False}}))
    assert_refused_first(rc, out, "s4_poc_vm")


def test_extra_var_golive_mode_switch_cannot_skip_the_confirmation(poc_inventory: Path) -> None:
    rc, out = run("poc_golive.yml", "-e", f"s4_poc_name={POC}", "-e", "s4_poc_golive_mode=switch",
                  inventory=poc_inventory)
    assert_refused_first(rc, out, "s4_poc_golive_mode")


def test_extra_var_golive_internal_mode_cannot_skip_the_confirmation(poc_inventory: Path) -> None:
    rc, out = run("poc_golive.yml", "-e", f"s4_poc_name={POC}", "-e", "__s4_golive_mode=switch",
                  "-e", "__s4_golive_live=false", inventory=poc_inventory)
    assert_refused_first(rc, out, "__s4_golive_mode", "__s4_golive_live")


def test_extra_var_golive_plan_cannot_move_arbitrary_files_on_the_source(poc_inventory: Path) -> None:
    evil = {"s4_poc_golive": {"moves": [{"from": "/etc/shadow", "to": "/tmp/x"}], "sites": [], "servers": []}}
    rc, out = run("poc_golive.yml", "-e", f"s4_poc_name={POC}", "-e", f"s4_poc_golive_confirm={POC}",
                  "-e", json.dumps(evil), inventory=poc_inventory)
    assert_refused_first(rc, out, "s4_poc_golive")


def test_extra_var_source_cannot_point_the_golive_final_sync_at_another_host(poc_inventory: Path) -> None:
    rc, out = run("poc_golive.yml", "-e", f"s4_poc_name={POC}", "-e", "s4_poc_source=mvps-globex-01",
                  inventory=poc_inventory)
    assert_refused_first(rc, out, "s4_poc_source")


def test_extra_var_golive_live_false_cannot_allow_the_final_sync_of_a_live_poc(poc_inventory: Path) -> None:
    rc, out = run("poc_golive.yml", "-e", f"s4_poc_name={POC}", "-e", "s4_poc_golive_live=false",
                  inventory=poc_inventory)
    assert_refused_first(rc, out, "s4_poc_golive_live")


def test_extra_var_name_cannot_redirect_the_teardown_to_another_poc() -> None:
    rc, out = run("poc_teardown.yml", "-e", "s4_poc_name=poc-acme-acme-blog", "-e", "__s4_poc_name=poc-globex-x")
    assert_refused_first(rc, out, "__s4_poc_name")


def test_extra_var_vm_info_cannot_hide_the_live_marker_from_the_teardown() -> None:
    fake = {"__s4_poc_pve": {"vmid": None, "live": False, "tags": [], "live_marks": {}}}
    rc, out = run("poc_teardown.yml", "-e", "s4_poc_name=poc-acme-acme-blog", "-e", json.dumps(fake))
    assert_refused_first(rc, out, "__s4_poc_pve")


def test_inventory_var_cannot_replace_the_checked_plan(tmp_path: Path) -> None:
    """The same refusal for a value planted in the inventory (group_vars of an estate, a host_vars file)."""
    inv = tmp_path / "planted.yml"
    inv.write_text(json.dumps({"all": {"vars": {"s4_poc_plan": OUT_OF_SCOPE_PLAN}}}))
    rc, out = run("poc_provision.yml", "-e", "s4_poc_source=mvps-acme-01", inventory=inv)
    assert_refused_first(rc, out, "s4_poc_plan")


@pytest.mark.parametrize(("playbook", "var"), [
    ("gather_software.yml", "__s4_gather_history"),
    ("eol_report.yml", "__s4_eol_report"),
    ("release_watch.yml", "__s4_release_watch"),
])
def test_extra_var_registered_result_cannot_hide_a_failure(playbook: str, var: str) -> None:
    """e.g. -e '{"__s4_release_watch": {"failed": false}}' replaced the module's result and skipped its failure."""
    rc, out = run(playbook, "-e", json.dumps({var: {"failed": False, "summary": "", "msg": ""}}))
    assert_refused_first(rc, out, var)


def test_guards_leave_the_documented_inputs_alone(tmp_path: Path) -> None:
    """The check is not a blanket refusal: a run with only operator inputs gets past it (and then stops for lack of
    Proxmox settings, which these tests never give). The operator key is the test's own: a clean clone has no lab."""
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    rc, out = run("poc_provision.yml", "-e", "s4_poc_source=mvps-acme-01", "-e", "s4_poc_site=acme-blog",
                  "-e", "s4_poc_bwlimit=100", "-e", f"s4_poc_operator_key={key}")
    tasks = re.findall(r"^TASK \[(.*?)\]", out, re.M)
    assert rc != 0 and "no Proxmox host" in out, out[-3000:]
    assert tasks[0].startswith(FIRST_TASK) and len(tasks) > 3, tasks
