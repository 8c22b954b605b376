"""Integrity modules on the lab hosts' real data: Acme's WordPress (MariaDB 10.5) and Globex (PostgreSQL 13).

Kept minimal: the cross-version proof is in test_integrity.py. Here the modules run over SSH through the lab
inventory, twice, and must return identical, non-empty results (repeatability on real data; tables the
applications rewrite by themselves are left out of the comparison).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

PLAY = """
- name: Integrity evidence on the lab hosts
  hosts: mvps-acme-01:mvps-globex-01
  gather_facts: false
  tasks:
    - name: WordPress files on Acme
      smartt.s4.data_manifest:
        roots: [/usr/share/wordpress]
        dest: /var/tmp/s4-it-manifest.jsonl.gz
      register: files
      when: inventory_hostname == 'mvps-acme-01'
    - name: Acme WordPress database
      smartt.s4.db_checksum:
        engine: mariadb
        databases: [acme_wp]
      register: db_acme
      when: inventory_hostname == 'mvps-acme-01'
    - name: Globex PostgreSQL databases (peer authentication as postgres)
      smartt.s4.db_checksum:
        engine: postgresql
      become: true
      become_user: postgres
      register: db_globex
      when: inventory_hostname == 'mvps-globex-01'
    - name: Save
      ansible.builtin.copy:
        content: "{{ {'files': hostvars['mvps-acme-01'].files, 'acme': hostvars['mvps-acme-01'].db_acme,
                      'globex': hostvars['mvps-globex-01'].db_globex} | to_json }}"
        dest: "@OUT@"
        mode: "0644"
      delegate_to: localhost
      run_once: true
"""


def run_play(tmp_path: Path, name: str) -> dict:
    out = tmp_path / f"{name}.json"
    pb = tmp_path / "play.yml"
    pb.write_text(PLAY.replace("@OUT@", str(out)))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"),
                           str(pb)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_lab_data_is_hashed_repeatably(ssh, tmp_path):
    ssh("mvps-acme-01", "true")  # the lab is up (the fixture fails otherwise)
    first, second = run_play(tmp_path, "first"), run_play(tmp_path, "second")

    files = first["files"]
    assert files["error_count"] == 0 and files["counts"]["file"] > 100
    assert second["files"]["tree_sha256"] == files["tree_sha256"] and second["files"]["changed"] is False

    acme = first["acme"]
    assert acme["server_version"].startswith("10.5") and acme["tables_count"] >= 10
    assert {t["name"] for t in acme["databases"][0]["tables"]} >= {"wp_posts", "wp_options", "wp_users"}
    globex = first["globex"]
    assert globex["server_version"].startswith("13.")
    assert {d["name"] for d in globex["databases"]} >= {"globex_roundcube", "globex_crm"}
    for key in ("acme", "globex"):
        a, b = per_table(first[key]), per_table(second[key])
        assert a.keys() == b.keys() and len(a) >= 10
        stable = [t for t in a if t[1] not in VOLATILE]
        assert len(stable) >= 8
        assert {t: a[t] for t in stable} == {t: b[t] for t in stable}


# Tables the applications themselves rewrite on page views or logins (WordPress transients and cron in wp_options,
# sessions and caches in Roundcube): other jobs hitting the sites between the two runs legitimately change them.
VOLATILE = {"wp_options", "wp_usermeta", "session", "cache", "cache_shared", "cache_index", "cache_thread",
            "cache_messages"}


def per_table(result: dict) -> dict[tuple[str, str], tuple[int, str]]:
    return {(d["name"], t["name"]): (t["rows"], t["checksum"]) for d in result["databases"] for t in d["tables"]}
