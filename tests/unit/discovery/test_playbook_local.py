"""playbooks/gather_software.yml end to end on this machine (local connection): no lab, no network.

An in-scope host `local-01` is this machine; `colo-01` is out of scope and points at a closed local port, so any
attempt to contact it would show up as unreachable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent

CMDB = """\
plugin: smartt.s4.cmdb
cmdb:
  version: 1
  domain: smartt.example
  clients:
    acme: {name: Acme Ltd, contacts: [ops@acme.example]}
  hosts:
    local-01:
      service: mvps
      address: 127.0.0.1
      clients: [acme]
      sites:
        - {name: acme-blog, client: acme, domain: blog.acme.example, docroot: %(site)s}
        - {name: acme-gone, client: acme, domain: gone.acme.example, docroot: /nonexistent/s4-test-docroot}
    colo-01:
      service: colocation
      address: 127.0.0.2
"""


@pytest.fixture
def estate(tmp_path, fixtures):
    site = tmp_path / "acme-blog"
    (site / "wp-includes").mkdir(parents=True)
    (site / "wp-includes" / "version.php").write_text(
        (fixtures / "apps" / "wordpress" / "wp-includes" / "version.php").read_text())
    inv = tmp_path / "cmdb.yml"
    inv.write_text(CMDB % {"site": site})
    # connection settings are never accepted from the CMDB (issue #13): they come from host_vars next to it
    hv = tmp_path / "host_vars"
    hv.mkdir()
    (hv / "local-01.yml").write_text(f"ansible_connection: local\nansible_python_interpreter: {sys.executable}\n")
    (hv / "colo-01.yml").write_text("ansible_port: 9\nansible_connection: ssh\n")
    return tmp_path, inv, site


def _play(tmp, inv, *args, unparsed_failed="true"):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_INVENTORY_UNPARSED_FAILED=unparsed_failed)
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), "playbooks/gather_software.yml",
                           "-e", f"s4_state_url={tmp / 'state.sqlite'}", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def _stats(out):
    return json.loads(out)["stats"]


def test_gather_records_history_and_is_idempotent(estate):
    tmp, inv, site = estate
    r0 = _play(tmp, inv, "--check")
    assert r0.returncode == 0, r0.stdout[-3000:] + r0.stderr[-3000:]
    assert not (tmp / "state.sqlite").exists()  # check mode writes nothing
    summary0 = json.loads(r0.stdout)["plays"][2]["tasks"][2]["hosts"]["local-01"]["msg"]
    assert summary0[0].startswith("check mode: no state store at ")
    r1 = _play(tmp, inv)
    assert r1.returncode == 0, r1.stdout[-3000:] + r1.stderr[-3000:]
    stats = _stats(r1.stdout)
    assert "colo-01" not in stats or stats["colo-01"]["unreachable"] == 0 and stats["colo-01"]["ok"] == 0
    plays = json.loads(r1.stdout)["plays"]
    facts_task = plays[2]["tasks"][0]["hosts"]["local-01"]
    s4 = facts_task["ansible_facts"]["s4_software"]
    sites = {s["name"]: s for s in s4["sites"]}
    assert sites["acme-blog"]["apps"][0]["version"] == "5.7.14"
    assert "site acme-gone: docroot /nonexistent/s4-test-docroot is missing" in s4["warnings"]

    r2 = _play(tmp, inv)
    assert r2.returncode == 0
    assert _stats(r2.stdout)["local-01"]["changed"] == 0  # second run: nothing changed
    db = sqlite3.connect(tmp / "state.sqlite")
    assert db.execute("SELECT count(*), sum(hosts_ok), sum(hosts_failed) FROM gather_runs").fetchone() == (2, 2, 0)
    assert db.execute("SELECT version, first_seen_run, last_seen_run FROM components WHERE host='local-01' "
                      "AND product='wordpress'").fetchone() == ("5.7.14", 1, 2)
    assert db.execute("SELECT count(*) FROM run_hosts WHERE host='colo-01'").fetchone() == (0,)

    # an upgrade on disk shows up as a change (first previewed in check mode, which records nothing)
    vp = site / "wp-includes" / "version.php"
    vp.write_text(vp.read_text().replace("5.7.14", "5.7.15"))
    rc = _play(tmp, inv, "--check")
    preview = json.loads(rc.stdout)["plays"][2]["tasks"][2]["hosts"]["local-01"]["msg"]
    assert "local-01: wordpress 5.7.14 -> 5.7.15 (site acme-blog)" in preview
    assert db.execute("SELECT count(*) FROM gather_runs").fetchone() == (2,)
    r3 = _play(tmp, inv)
    summary = json.loads(r3.stdout)["plays"][2]["tasks"][2]["hosts"]["local-01"]["msg"]
    assert "local-01: wordpress 5.7.14 -> 5.7.15 (site acme-blog)" in summary


def test_out_of_scope_limit_is_refused_before_any_connection(estate):
    tmp, inv, _site = estate
    r = _play(tmp, inv, "--limit", "local-01,colo-01")
    assert r.returncode != 0
    out = json.loads(r.stdout)
    refused = out["plays"][1]["tasks"][0]["hosts"]["colo-01"]
    assert refused["failed"] is True
    assert refused["msg"].startswith("refused: colo-01 (colocation) is out of the S4 scope")
    assert len(out["plays"]) == 2  # the gathering play never started
    assert out["stats"]["colo-01"]["unreachable"] == 0
    assert not (tmp / "state.sqlite").exists()


def test_invalid_cmdb_runs_nothing(estate):
    tmp, inv, _site = estate
    inv.write_text(inv.read_text().replace("service: mvps", "service: vps"))
    # even where ansible is not told to fail on unparsed inventories, the playbook stops with a clear message
    r = _play(tmp, inv, unparsed_failed="false")
    assert r.returncode != 0
    out = json.loads(r.stdout)
    msg = out["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert msg.startswith("no smartt.s4.cmdb inventory was parsed: the CMDB is missing or invalid")
    assert "host local-01: service: unknown service class 'vps'" in r.stderr
    assert len(out["plays"]) == 1
    assert not (tmp / "state.sqlite").exists()
