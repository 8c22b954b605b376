"""Schema upgrades of the packaged applications on the POCs (issue #7), against the lab.

Uses the session POCs of conftest.py: acme (WordPress 5.7 -> the Debian 13 package, MariaDB) and globex (roundcube 1.4
-> 1.6, PostgreSQL). After the provision the schema version in each POC database is the one the POC's package ships
(read on the POC from the package's own files, not from the toolkit), the report lists both upgrades with the package
and schema versions before and after, the integrity gate still passed (it checked the copy before the upgrade), and
the acme rerun reported changed=0 (no upgrade ran again). Needs `scripts/lab up` (the lab's PVE server included).
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from poc_support import INVENTORY_POC, ROOT, Poc, entry, playbook, pve_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WP_VERSION_PHP = "/usr/share/wordpress/wp-includes/version.php"
RC_SQL = "/usr/share/roundcube/SQL/postgres"


def poc_run(name: str, command: str, *, timeout: int = 120) -> str:
    """``command`` on the POC ``name`` over SSH, with its inventory entry's key and the POC's pinned host key."""
    e = entry(name)
    known = re.search(r"UserKnownHostsFile=(\S+)", e["ansible_ssh_common_args"])
    assert known, e["ansible_ssh_common_args"]
    p = subprocess.run(
        ["ssh", "-i", e["ansible_ssh_private_key_file"], "-o", f"UserKnownHostsFile={known.group(1)}",
         "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         f"root@{e['ansible_host']}", command],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert p.returncode == 0, f"{command}: rc {p.returncode}: {p.stderr[-2000:]}"
    return p.stdout.strip()


def live(poc: Poc) -> Poc:
    """The POC, provisioned again when an earlier test of the session tore it down (test_poc.py's teardown test);
    the session fixture's finalizer tears it down at the end either way."""
    if not (INVENTORY_POC / f"{poc.name}.yml").exists():
        rc, out, _ = playbook("poc_provision.yml", *poc.extra, env=pve_env())
        assert rc == 0, out[-5000:]
    return poc


def upgrade_row(poc: Poc, site: str) -> dict[str, Any]:
    rows = {r["site"]: r for r in poc.report["app_upgrades"]["sites"]}
    assert site in rows, poc.report["app_upgrades"]
    return rows[site]


def test_acme_wordpress_schema_is_the_packages(acme: Poc) -> None:
    rc, out, _ = acme.runs[0]
    assert rc == 0, out[-5000:]
    m = re.search(r"^\$wp_db_version = (\d+);", poc_run(acme.name, f"cat {WP_VERSION_PHP}"), re.M)
    assert m, "no $wp_db_version in the POC's WordPress package"
    target = int(m.group(1))
    prefix = re.search(r"\$table_prefix\s*=\s*'(\w*)'",
                       poc_run(acme.name, "cat /etc/wordpress/config-blog.acme.example.php"))
    table = f"{prefix.group(1) if prefix else 'wp_'}options"
    now = poc_run(acme.name, "mysql -N -B -e \"SELECT option_value FROM acme_wp." + table
                  + " WHERE option_name = 'db_version'\"")
    assert int(now) == target
    row = upgrade_row(acme, "acme-blog")
    assert row["status"] == "ran" and row["schema_after"] == target and row["schema_before"] < target, row
    assert row["package_before"].startswith("5.7") and row["package_after"].startswith("6.8"), row
    assert acme.report["app_upgrades"]["note"] and "by design" in acme.report["app_upgrades"]["note"]
    assert acme.report["status"] == "passed" and acme.report["integrity"]["passed"]


def test_acme_rerun_upgraded_nothing(acme: Poc) -> None:
    assert len(acme.runs) == 2
    rc, out, recap = acme.runs[1]
    assert rc == 0, out[-5000:]
    assert recap[acme.name]["changed"] == 0, recap
    run = out.split("TASK [Run the schema upgrades that are due]", 1)[1].split("TASK [", 1)[0]
    # the loop was empty: nothing was due (status lines only: at -vvv a skipped result also prints "changed: false")
    assert not re.search(r"^(changed|ok): \[", run, re.M) and "(item=" not in run, run
    # the report still shows the upgrade the first run made on this restore (unchanged file, changed=0)
    assert upgrade_row(acme, "acme-blog")["status"] == "ran"


def test_globex_roundcube_schema_is_the_packages(globex: Poc) -> None:
    rc, out, _ = globex.runs[0]
    assert rc == 0, out[-5000:]
    poc = live(globex)
    files = poc_run(poc.name, f"ls {RC_SQL}").split()
    target = max(int(f[:-4]) for f in files if re.fullmatch(r"\d+\.sql", f))
    now = poc_run(poc.name, "cd / && runuser -u postgres -- psql -XAt -d globex_roundcube "
                  "-c \"SELECT value FROM system WHERE name = 'roundcube-version'\"")
    assert int(now) == target
    row = upgrade_row(poc, "globex-webmail")
    assert row["status"] == "ran" and row["schema_after"] == target and row["schema_before"] < target, row
    assert row["package_before"].startswith("1.4") and row["package_after"].startswith("1.6"), row
    # the PHP CRM is not a packaged application: no upgrade row for it
    assert [r["site"] for r in poc.report["app_upgrades"]["sites"]] == ["globex-webmail"]
    assert poc.report["status"] == "passed" and poc.report["integrity"]["passed"]
    html = (ROOT / "reports" / "poc" / poc.name / "report.html").read_text()
    assert "Application upgrades" in html and "roundcube-version" in html


def test_a_re_restored_database_is_upgraded_again(acme: Poc) -> None:
    """A new restore (the marker of the last restore gone, as after a source change) brings the 5.7 schema back:
    the next run restores, upgrades again and passes the gate."""
    assert acme.runs[0][0] == 0
    poc_run(acme.name, "rm /var/lib/s4-data-migrate/db/acme_wp.restored")
    rc, out, recap = playbook("poc_provision.yml", *acme.extra, env=pve_env())
    assert rc == 0, out[-5000:]
    restores = [c.split("TASK [", 1)[0] for c in
                out.split("TASK [smartt.s4.s4_data_migrate : Dump on the source and restore here")[1:]]
    assert any("changed:" in r for r in restores), restores  # the role also runs for files only (skipped there)
    run = out.split("TASK [Run the schema upgrades that are due]", 1)[1].split("TASK [", 1)[0]
    assert "changed:" in run and "(item=acme-blog wordpress" in run, run
    assert upgrade_row(acme, "acme-blog")["status"] == "ran" and acme.report["status"] == "passed"
    rc, out, recap = playbook("poc_provision.yml", *acme.extra, env=pve_env())
    assert rc == 0 and recap[acme.name]["changed"] == 0, out[-3000:]

