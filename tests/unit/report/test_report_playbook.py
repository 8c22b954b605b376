"""playbooks/eol_report.yml end to end without the lab: a CMDB inventory and a fact cache seeded through Ansible
(set_fact cacheable, no connection), then the report play twice (idempotent) and its refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import report_fleet as fleet

from s4.report import build_report

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow

SEED = """
- name: Seed the fact cache
  hosts: s4_in_scope
  gather_facts: false
  tasks:
    - name: Cache the s4_software facts of the host
      ansible.builtin.set_fact:
        s4_software: "{{ lookup('ansible.builtin.file', facts_dir ~ '/' ~ inventory_hostname ~ '.json') | from_json }}"
        cacheable: true
      when: (facts_dir ~ '/' ~ inventory_hostname ~ '.json') is file
"""

FORCED = """
- name: Report on given hosts
  hosts: localhost
  gather_facts: false
  vars: {ansible_ssh_private_key_file: "", ansible_ssh_common_args: ""}
  tasks:
    - name: Build
      smartt.s4.eol_report:
        hosts: "{{ report_hosts }}"
        dest: "{{ dest }}"
        as_of: "2026-11-27"
"""


FILTER = """
- name: Use the filter on real hostvars
  hosts: localhost
  gather_facts: false
  vars: {ansible_ssh_private_key_file: "", ansible_ssh_common_args: ""}
  tasks:
    - name: Count EOL findings by responsible party
      ansible.builtin.debug:
        msg: "S4COUNT {{ found | selectattr('status', 'equalto', 'eol') | map(attribute='responsible') | list | sort | join(',') }}"
      vars:
        found: "{{ groups['s4_in_scope'] | map('extract', hostvars) | list | smartt.s4.eol_findings(as_of='2026-11-27') }}"
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pb")
    (tmp / "inv").mkdir()
    (tmp / "inv" / "cmdb.yml").write_text(fleet.CMDB_YAML)
    # like inventories/lab: SSH settings templated from inventory_dir (undefined for the implicit localhost)
    (tmp / "inv" / "group_vars").mkdir()
    (tmp / "inv" / "group_vars" / "all.yml").write_text(
        'ansible_ssh_private_key_file: "{{ inventory_dir }}/../key"\n'
        'ansible_ssh_common_args: "-o UserKnownHostsFile={{ inventory_dir }}/known_hosts"\n')
    (tmp / "facts").mkdir()
    for host, facts in fleet.FACTS.items():
        (tmp / "facts" / f"{host}.json").write_text(json.dumps(facts))
    e = dict(os.environ)
    e.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "cache"),
             ANSIBLE_LOCAL_TEMP=str(tmp / "atmp"), ANSIBLE_NOCOLOR="1",
             S4_STATE_URL=f"sqlite:///{tmp / 'state.sqlite'}",  # each report run is recorded: not in the checkout
             PATH=f"{Path(sys.executable).parent}:{e.get('PATH', '')}")
    (tmp / "seed.yml").write_text(SEED)
    run(e, tmp, str(tmp / "seed.yml"), "-e", f"facts_dir={tmp / 'facts'}")
    return e, tmp


def run(e, tmp, playbook, *args, check=True):
    proc = subprocess.run(["ansible-playbook", "-i", str(tmp / "inv"), playbook, *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _changed(out: str) -> int:
    line = next(ln for ln in out.splitlines() if ln.startswith("localhost"))
    return int(line.split("changed=")[1].split()[0])


def test_report_playbook_is_idempotent_and_reports_the_facts(env):
    e, tmp = env
    dest = tmp / "out"
    args = ("-e", "s4_as_of=2026-11-27", "-e", f"s4_report_dir={dest}", "-e", f"s4_history_db={tmp / 'none.sqlite'}")
    first = run(e, tmp, "playbooks/eol_report.yml", *args)
    assert _changed(first.stdout) == 1
    assert _changed(run(e, tmp, "playbooks/eol_report.yml", *args).stdout) == 0
    doc = json.loads((dest / "findings.json").read_text())
    assert doc["as_of"] == "2026-11-27"
    hosts = {f["host"] for f in doc["findings"]}
    assert hosts == set(fleet.FACTS)                        # colo-01 (colocation) never appears
    assert [n["host"] for n in doc["not_gathered"]] == ["mvps-initech-01"]
    php = next(f for f in doc["findings"] if f["host"] == "mvps-acme-01" and f["product"] == "php")
    assert (php["support_source"], php["support_end"]) == ("distro", "2026-08-31")
    assert "colo-01" not in (dest / "report.html").read_text()
    assert sorted(p.name for p in (dest / "clients").iterdir()) == ["acme.html", "globex.html", "initech.html"]


def test_bad_as_of_is_refused(env):
    e, tmp = env
    dest = tmp / "bad"
    proc = run(e, tmp, "playbooks/eol_report.yml", "-e", "s4_as_of=27.11.2026", "-e", f"s4_report_dir={dest}",
               check=False)
    assert proc.returncode != 0
    assert "s4_as_of must be a date YYYY-MM-DD" in proc.stdout
    assert not dest.exists()


def test_out_of_scope_host_is_refused_and_nothing_written(env):
    e, tmp = env
    (tmp / "forced.yml").write_text(FORCED)
    dest = tmp / "forced"
    proc = run(e, tmp, str(tmp / "forced.yml"), "-e", json.dumps({"report_hosts": ["mvps-acme-01", "colo-01"],
                                                                  "dest": str(dest)}), check=False)
    assert proc.returncode != 0
    assert "colo-01 (colocation) is out of the S4 scope" in proc.stdout
    assert not dest.exists()


def test_check_mode_writes_nothing(env):
    e, tmp = env
    dest = tmp / "check"
    proc = run(e, tmp, "playbooks/eol_report.yml", "--check", "-e", "s4_as_of=2026-11-27",
               "-e", f"s4_report_dir={dest}")
    assert _changed(proc.stdout) == 1
    assert not dest.exists()


def test_filter_on_real_hostvars(env):
    e, tmp = env
    (tmp / "filter.yml").write_text(FILTER)
    proc = run(e, tmp, str(tmp / "filter.yml"))
    expected = build_report(fleet.hostvars(), as_of="2026-11-27")["findings"]
    want = ",".join(sorted(f["responsible"] for f in expected if f["status"] == "eol"))
    assert f"S4COUNT {want}" in proc.stdout


def test_inventory_without_in_scope_hosts_is_refused(env, tmp_path):
    e, _ = env
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "hosts.yml").write_text("all:\n  hosts:\n    somehost: {}\n")
    dest = tmp_path / "out"
    proc = run(e, tmp_path, "playbooks/eol_report.yml", "-e", f"s4_report_dir={dest}", check=False)
    assert proc.returncode != 0
    assert "no hosts to report on" in proc.stdout
    assert not dest.exists()
