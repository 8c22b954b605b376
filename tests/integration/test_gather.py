"""Software discovery against the lab: gather_software.yml on every in-scope host, history, refusal of colo-01.

Expected versions are read from each host's own package database over SSH (so the check is exact and survives
point releases), plus the release cycles the lab is built from (docs/LAB.md: PHP 7.4 / MariaDB 10.5 on
bullseye ...).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from s4.lab import topology

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IN_SCOPE = [h.name for h in topology.HOSTS if h.service != "colocation"]


def _accepted_ssh_logins(ssh, host: str) -> int:
    out = ssh(host, "journalctl -u ssh -u sshd --no-pager -o cat | grep -c 'Accepted publickey' || true",
              check=False).stdout
    return int(out.strip() or 0)


def _playbook(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"), "playbooks/gather_software.yml",
         "-e", f"s4_state_url={tmp / 'state.sqlite'}", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)


def _upstream(v: str) -> str:
    v = re.sub(r"^\d+:", "", v.strip())
    m = re.match(r"(\d+(?:\.\d+)*[a-z]?)", v)
    assert m, v
    return m.group(1)


def _pkg_version(ssh, host: str, pkg: str) -> str:
    out = ssh(host, f"dpkg-query -W -f '${{Version}}' {pkg}", check=False)
    assert out.returncode == 0, f"{host}: {pkg} not installed: {out.stderr}"
    return _upstream(out.stdout)


@pytest.fixture(scope="module")
def gathered(ssh, tmp_path_factory):
    """One gather run over the lab (plus the colo-01 SSH login count around it)."""
    tmp = tmp_path_factory.mktemp("gather")
    colo_before = _accepted_ssh_logins(ssh, "colo-01")
    r = _playbook(tmp)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    refused = _playbook(tmp, "--limit", "mvps-acme-01,colo-01")
    colo_after = _accepted_ssh_logins(ssh, "colo-01")
    out = json.loads(r.stdout)
    facts = {h: res["ansible_facts"]["s4_software"] for h, res in out["plays"][2]["tasks"][0]["hosts"].items()}
    return {"tmp": tmp, "out": out, "facts": facts, "refused": refused, "colo": (colo_before, colo_after)}


def _comp(facts, product, source=None):
    found = [c for c in facts["components"] if c["product"] == product and (source is None or c["source"] == source)]
    assert found, f"{facts['host']}: no {product} component ({[c['product'] for c in facts['components']]})"
    return found


def _site(facts, name):
    sites = {s["name"]: s for s in facts["sites"]}
    assert name in sites, f"{facts['host']}: no site {name} ({list(sites)})"
    return sites[name]


def test_every_in_scope_host_and_never_colo(gathered):
    assert sorted(gathered["facts"]) == sorted(IN_SCOPE)
    stats = gathered["out"]["stats"]
    assert all(stats[h]["failures"] == 0 and stats[h]["unreachable"] == 0 for h in IN_SCOPE)
    assert "colo-01" not in gathered["facts"]
    for h in IN_SCOPE:
        assert gathered["facts"][h]["host"] == h
        assert gathered["facts"][h]["package_count"] > 100


def test_colo_01_is_never_contacted(gathered):
    before, after = gathered["colo"]
    assert before >= 1  # our own check login is logged, so the count works
    assert after == before + 1  # only the second check login: neither the gather nor the refused run connected
    refused = gathered["refused"]
    assert refused.returncode != 0
    out = json.loads(refused.stdout)
    assert len(out["plays"]) == 2  # the CMDB check (no localhost in the limit) and the refusal; no gathering
    msg = out["plays"][1]["tasks"][0]["hosts"]["colo-01"]["msg"]
    assert msg.startswith("refused: colo-01 (colocation) is out of the S4 scope")


def test_mvps_acme_01(gathered, ssh):
    f = gathered["facts"]["mvps-acme-01"]
    assert (f["os"]["id"], f["os"]["version"], f["os"]["codename"]) == ("debian", "11", "bullseye")
    [php] = _comp(f, "php")
    assert php["version"].startswith("7.4.") and php["version"] == _pkg_version(ssh, "mvps-acme-01", "php7.4-fpm")
    assert "fpm" in php["details"]["sapis"]
    [mariadb] = _comp(f, "mariadb")
    assert mariadb["version"].startswith("10.5.")
    assert mariadb["version"] == _pkg_version(ssh, "mvps-acme-01", "mariadb-server-core-10.5")
    [nginx] = _comp(f, "nginx")
    assert nginx["version"].startswith("1.18.")
    blog = _site(f, "acme-blog")
    assert blog["client"] == "acme" and blog["server"] == "nginx"
    wp_file = ssh("mvps-acme-01", "sed -n \"s/^\\$wp_version = '\\(.*\\)';/\\1/p\" "
                  "/usr/share/wordpress/wp-includes/version.php").stdout.strip()
    wp = [a for a in blog["apps"] if a["product"] == "wordpress"]
    assert wp and wp[0]["version"] == wp_file
    assert blog["php"]["version"] == "7.4" and blog["php"]["sapi"] == "fpm"
    assert any(lib["product"] == "jquery" for lib in blog["libraries"])
    svcs = {s["name"]: s for s in f["services"]}
    for unit, product in (("nginx.service", "nginx"), ("php7.4-fpm.service", "php"), ("mariadb.service", "mariadb")):
        assert svcs[unit]["active"] == "active" and svcs[unit]["product"] == product
    ports = {(p["port"], p["product"]) for p in f["ports"]}
    assert (80, "nginx") in ports and (22, "openssh") in ports


def test_mvps_globex_01(gathered, ssh):
    f = gathered["facts"]["mvps-globex-01"]
    [apache] = _comp(f, "apache-http-server")
    assert apache["version"] == _pkg_version(ssh, "mvps-globex-01", "apache2-bin")
    [php] = _comp(f, "php")
    assert php["version"].startswith("7.4.") and "apache2handler" in php["details"]["sapis"]
    [pg] = _comp(f, "postgresql")
    assert pg["version"].startswith("13.")
    # Node.js installed outside the package manager, found by path and version output
    node = _comp(f, "nodejs", source="binary")
    assert any(n["version"] == "20.18.0" and n["path"] == "/opt/node-v20.18.0/bin/node" for n in node)
    assert any(p["product"] == "nodejs" for p in f["ports"])
    mail = _site(f, "globex-webmail")
    assert [(a["product"], a["version"]) for a in mail["apps"] if a["product"] == "roundcube"] == \
        [("roundcube", _pkg_version(ssh, "mvps-globex-01", "roundcube-core"))]
    www = _site(f, "globex-www")
    libs = {(x["product"], x["version"]) for x in www["libraries"]}
    assert {("jquery", "1.12.4"), ("jquery-ui", "1.12.1"), ("bootstrap", "3.3.7")} <= libs
    assert www["php"] == {"version": "7.4", "pool": None, "socket": None, "sapi": "apache2handler"}


def test_shared_01(gathered, ssh):
    f = gathered["facts"]["shared-01"]
    [php] = _comp(f, "php")
    assert php["version"].startswith("8.2.") and php["version"] == _pkg_version(ssh, "shared-01", "php8.2-fpm")
    shop = _site(f, "umbrella-shop")
    assert ("laravel", "9.52.16") in {(a["product"], a["version"]) for a in shop["apps"]}
    assert shop["php"]["version"] == "8.2"
    hooli = _site(f, "hooli-app")
    assert ("jquery", "3.4.1") in {(x["product"], x["version"]) for x in hooli["libraries"]}
    assert {s["client"] for s in f["sites"] if s["in_cmdb"]} == {"initech", "umbrella", "hooli"}


def test_db_01_and_internal_01(gathered, ssh):
    db = gathered["facts"]["db-01"]
    [mariadb] = _comp(db, "mariadb")
    assert mariadb["version"].startswith("10.11.") and mariadb["version"] == _pkg_version(ssh, "db-01", "mariadb-server")
    assert any(p["product"] == "mariadb" and p["port"] == 3306 for p in db["ports"])
    internal = gathered["facts"]["internal-01"]
    assert internal["os"]["codename"] == "trixie"
    [tomcat] = _comp(internal, "apache-tomcat")
    assert tomcat["version"].startswith("10.1.") and tomcat["version"] == _pkg_version(ssh, "internal-01", "tomcat10")
    [redis] = _comp(internal, "redis")
    assert redis["version"] == _pkg_version(ssh, "internal-01", "redis-server")
    assert _comp(internal, "java")[0]["details"]["distribution"] == "openjdk"
    assert _comp(internal, "nginx")[0]["version"].startswith("1.26.")


def test_history_has_the_run(gathered):
    db = sqlite3.connect(gathered["tmp"] / "state.sqlite")
    runs = db.execute("SELECT id, hosts_ok, hosts_failed, playbook FROM gather_runs").fetchall()
    assert runs == [(1, len(IN_SCOPE), 0, "gather_software.yml")]  # the refused run recorded nothing
    hosts = {r[0]: r[1] for r in db.execute("SELECT host, status FROM run_hosts WHERE run_id = 1")}
    assert hosts == dict.fromkeys(IN_SCOPE, "ok")
    row = db.execute("SELECT version FROM components WHERE host = 'mvps-acme-01' AND product = 'php'").fetchone()
    assert row[0].startswith("7.4.")
    assert db.execute("SELECT count(*) FROM components WHERE host = 'colo-01'").fetchone() == (0,)


def test_facts_are_in_the_fact_cache(gathered):
    cache = gathered["tmp"] / "facts"
    names = sorted(p.name for p in cache.iterdir())
    assert len(names) == len(IN_SCOPE) and not any("colo-01" in n for n in names)


def test_second_run_reports_no_change(gathered):
    r = _playbook(gathered["tmp"], "--limit", "mvps-acme-01")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["stats"]["mvps-acme-01"]["changed"] == 0
    summary = out["plays"][2]["tasks"][2]["hosts"]["mvps-acme-01"]["msg"]
    assert "mvps-acme-01: no change" in summary
