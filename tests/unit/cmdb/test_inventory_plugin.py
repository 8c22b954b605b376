"""The smartt.s4.cmdb inventory plugin through ansible-inventory (real ansible-core, the project's ansible.cfg)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_cmdb_validation import GOOD

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _inventory(path: Path, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
               ANSIBLE_INVENTORY_ENABLED="smartt.s4.cmdb", ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
               ANSIBLE_NOCOLOR="1")
    env.update(env_extra or {})
    return subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


CONSTRUCTED = """\
strict: true
compose:
  site_count: s4_sites | length
groups:
  has_sites: s4_sites | length > 0
keyed_groups:
  - key: s4_os
    prefix: os
    default_value: unknown
"""


def _unsafe(v):
    """ansible-inventory marks plugin-provided strings untrusted: {"__ansible_unsafe": "x"} -> "x"."""
    if isinstance(v, dict):
        if set(v) == {"__ansible_unsafe"}:
            return v["__ansible_unsafe"]
        return {k: _unsafe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unsafe(x) for x in v]
    return v


def test_groups_hostvars_and_constructed_options(tmp_path):
    inv = tmp_path / "cmdb.yml"
    inv.write_text(GOOD.replace("cmdb:\n", CONSTRUCTED + "cmdb:\n", 1))
    r = _inventory(inv, "--list")
    assert r.returncode == 0, r.stderr
    data = _unsafe(json.loads(r.stdout))
    assert sorted(data["s4_in_scope"]["hosts"]) == ["db-01", "internal-01", "mvps-acme-01"]
    assert sorted(data["s4_out_of_scope"]["hosts"]) == ["colo-01", "router-01", "unmanaged-01"]
    assert data["service_colocation"]["hosts"] == ["colo-01"]
    assert sorted(data["client_acme"]["hosts"]) == ["db-01", "mvps-acme-01"]
    assert data["client_big_co"]["hosts"] == ["mvps-acme-01"]
    assert data["has_sites"]["hosts"] == ["mvps-acme-01"]
    assert data["os_debian_11"]["hosts"] == ["mvps-acme-01"]
    assert "colo-01" in data["os_unknown"]["hosts"]
    hv = data["_meta"]["hostvars"]["mvps-acme-01"]
    assert hv["site_count"] == 1
    assert hv["ansible_host"] == "10.89.40.11" and hv["ansible_port"] == 2222
    assert hv["s4_sites"][0]["name"] == "acme-blog"
    assert hv["s4_licences"][0]["expires"] == "2027-03-31"


def test_invalid_cmdb_adds_nothing_and_names_every_problem(tmp_path):
    inv = tmp_path / "cmdb.yml"
    inv.write_text(GOOD.replace("server: db-01", "server: db-09").replace("service: internal", "service: office"))
    r = _inventory(inv, "--list")
    assert r.returncode != 0
    assert "2 CMDB problems" in r.stderr
    assert f"{inv}: host mvps-acme-01: sites[0] (acme-blog).db.server: 'db-09' is not a host of this CMDB" in r.stderr
    assert f"{inv}: host internal-01: service: unknown service class 'office'" in r.stderr


def test_other_file_names_are_not_claimed(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text(GOOD)
    r = _inventory(inv, "--list")
    assert r.returncode != 0  # only smartt.s4.cmdb is enabled here, and it wants *cmdb.yml


def test_cache_is_used_and_keyed_on_content(tmp_path):
    inv = tmp_path / "cmdb.yml"
    cache_dir = tmp_path / "cache"
    inv.write_text(GOOD.replace("cmdb:\n", f"cache: true\ncache_plugin: jsonfile\ncache_connection: {cache_dir}\n"
                                           "cmdb:\n", 1))
    r = _inventory(inv, "--graph")
    assert r.returncode == 0, r.stderr
    files = list(cache_dir.iterdir())
    assert len(files) == 1
    r2 = _inventory(inv, "--graph")
    assert r2.stdout == r.stdout
    # a changed CMDB is re-validated, not served from the cache
    inv.write_text(inv.read_text().replace("service: internal", "service: office"))
    r3 = _inventory(inv, "--graph")
    assert r3.returncode != 0 and "unknown service class 'office'" in r3.stderr
