"""Schema upgrades of the packaged applications on a POC (s4/poc/apps.py) and their report section."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from s4.poc import apps, report

WP_CONFIG = """<?php
define('DB_NAME', 'acme_wp');
define('DB_PASSWORD', 'x');
$table_prefix = 'wp_';
"""
WP_VERSION_PHP = """<?php
/**
 * @global int $wp_db_version
 */
$wp_version = '6.8.3';
$wp_db_version = 60421;
"""
RC_SQL_FILES = ["2019092900.sql", "2020020100.sql", "2022081200.sql", "2020122900.sql", "README", "x.sql"]


def _plan(**kw: Any) -> dict[str, Any]:
    sites = [
        {"name": "acme-blog", "domain": "blog.acme.example", "app": "wordpress", "packaged": True,
         "config": "/etc/wordpress/config-blog.acme.example.php",
         "db": {"engine": "mariadb", "name": "acme_wp", "server": "mvps-acme-01"}},
        {"name": "globex-webmail", "domain": "mail.globex.example", "app": "roundcube", "packaged": True,
         "config": "/etc/roundcube/debian-db.php",
         "db": {"engine": "postgresql", "name": "globex_roundcube", "server": "mvps-globex-01"}},
        {"name": "globex-www", "domain": "www.globex.example", "app": "php", "packaged": False, "config": None,
         "db": {"engine": "postgresql", "name": "globex_crm", "server": "mvps-globex-01"}},
        {"name": "own-wp", "domain": "own.example", "app": "wordpress", "packaged": False, "config": None,
         "db": {"engine": "mariadb", "name": "own", "server": "x"}},
    ]
    return {"versions": {"php": {"version": "8.4"}}, "sites": sites, **kw}


def _targets() -> list[dict[str, Any]]:
    entries = apps.upgrades(_plan())
    files = {"/etc/wordpress/config-blog.acme.example.php": WP_CONFIG, apps.WP_VERSION_FILE: WP_VERSION_PHP,
             apps.RC_CONFIG: "<?php\n$config['db_prefix'] = 'rc_';\n"}
    return apps.targets(entries, files, {"/usr/share/roundcube/SQL/postgres": RC_SQL_FILES})


def _res(stdout: str = "", rc: int = 0, stderr: str = "") -> dict[str, Any]:
    return {"rc": rc, "stdout": stdout, "stderr": stderr}


def test_only_packaged_apps_with_a_database_are_upgraded() -> None:
    entries = apps.upgrades(_plan())
    assert [(e["site"], e["app"], e["package"]) for e in entries] == [
        ("acme-blog", "wordpress", "wordpress"), ("globex-webmail", "roundcube", "roundcube-core")]
    wp, rc = entries
    assert wp["read"] == ["/etc/wordpress/config-blog.acme.example.php", apps.WP_VERSION_FILE]
    assert rc["list_dir"] == "/usr/share/roundcube/SQL/postgres" and rc["read"] == [apps.RC_CONFIG]
    assert wp["record"] == "/var/lib/s4-poc/app-upgrade-acme-blog.json"
    assert rc["verified"] == "/var/lib/s4-poc/verified-globex_roundcube.json"
    mysql_rc = apps.upgrades({"versions": {"php": {"version": "8.4"}}, "sites": [
        dict(_plan()["sites"][1], db={"engine": "mariadb", "name": "rc", "server": "h"})]})
    assert mysql_rc[0]["list_dir"] == "/usr/share/roundcube/SQL/mysql"


def test_bad_plans_are_refused_with_the_site() -> None:
    with pytest.raises(apps.AppError, match="site acme-blog: database 'acme;drop' is refused"):
        apps.upgrades({"versions": {"php": {"version": "8.4"}},
                       "sites": [dict(_plan()["sites"][0], db={"engine": "mariadb", "name": "acme;drop"})]})
    with pytest.raises(apps.AppError, match="no PHP version"):
        apps.upgrades({"versions": {}, "sites": _plan()["sites"][:1]})


def test_targets_prefixes_and_commands() -> None:
    wp, rc = _targets()
    assert (wp["prefix"], wp["target"], wp["package_upstream"]) == ("wp_", 60421, "6.8.3")
    assert (rc["prefix"], rc["target"]) == ("rc_", 2022081200)
    assert wp["query"][-1] == "SELECT option_value FROM `acme_wp`.`wp_options` WHERE option_name = 'db_version'"
    assert rc["query"][:4] == ["runuser", "-u", "postgres", "--"]
    assert rc["query"][-1] == "SELECT value FROM \"rc_system\" WHERE name = 'roundcube-version'"
    assert wp["upgrade"][:5] == ["runuser", "-u", "www-data", "--", "php8.4"]  # plan without pool users
    assert "$_SERVER['HTTP_HOST'] = 'blog.acme.example';" in wp["upgrade"][-1]
    assert "define('WP_INSTALLING', true)" in wp["upgrade"][-1] and "wp_upgrade();" in wp["upgrade"][-1]
    assert rc["upgrade"] == ["runuser", "-u", "www-data", "--", "php8.4", apps.RC_UPDATEDB, "--package=roundcube",
                             "--dir=/usr/share/roundcube/SQL"]


def test_parsers() -> None:
    assert apps.wp_prefix("<?php\n") == "wp_"  # Debian's wp-config.php default
    assert apps.wp_prefix("$table_prefix = 'a_';\n$table_prefix  =  \"b_\" ;\n") == "b_"
    with pytest.raises(apps.AppError, match="table prefix"):
        apps.wp_prefix("$table_prefix = 'x`; DROP';\n")
    with pytest.raises(apps.AppError, match=r"no \$wp_db_version"):
        apps.wp_db_version("<?php $wp_version = '6.8';")
    assert apps.rc_prefix("<?php\n") == "" and apps.rc_prefix("$rcmail_config['db_prefix'] = 'x_';") == "x_"
    assert apps.rc_target(["/d/2013011000.sql", "2009090400.sql"]) == 2013011000
    with pytest.raises(apps.AppError, match="no <version>.sql"):
        apps.rc_target(["mysql.initial.sql"])
    assert apps.dpkg_versions("wordpress 6.8.12+dfsg1-0+deb13u1\nbroken\n") == {
        "wordpress": "6.8.12+dfsg1-0+deb13u1"}


def test_missing_files_name_the_site_and_the_cause() -> None:
    entries = apps.upgrades(_plan())
    with pytest.raises(apps.AppError, match="site acme-blog \\(wordpress\\): .*version.php not found"):
        apps.targets(entries, {"/etc/wordpress/config-blog.acme.example.php": WP_CONFIG}, {})
    with pytest.raises(apps.AppError, match="site globex-webmail \\(roundcube\\): .*SQL/postgres not found"):
        apps.targets(entries[1:], {}, {})


def test_only_older_schemas_are_due() -> None:
    wp, rc = _targets()
    assert [e["site"] for e in apps.due([wp, rc], [_res("49752\n"), _res("2019092900\n")])] == [
        "acme-blog", "globex-webmail"]
    assert apps.due([wp, rc], [_res("60421\n"), _res("2022081200")]) == []
    # unreadable, missing or newer: never upgraded (judged as failures by results())
    assert apps.due([wp, rc], [_res(rc=1, stderr="denied"), _res("")]) == []
    assert apps.due([wp], [_res("99999")]) == []


def _ran(entry: dict[str, Any], rc: int = 0, **kw: Any) -> dict[str, Any]:
    return {"item": entry, "rc": rc, "stdout": "", "stderr": "", **kw}


def test_results_of_a_run_that_upgraded() -> None:
    wp, rc = _targets()
    verified = {wp["verified"]: json.dumps({"checksum": "abc"}), rc["verified"]: json.dumps({"checksum": "def"})}
    facts = {"packages": [{"name": "wordpress", "version": "5.7.14+dfsg1-0+deb11u1"}],
             "sites": [{"name": "globex-webmail", "apps": [{"product": "roundcube", "version": "1.4.15"}]}]}
    rows = apps.results([wp, rc], [_res("49752"), _res("2019092900")], [_ran(wp), _ran(rc)],
                        [_res("60421"), _res("2022081200")], verified,
                        packages_after={"wordpress": "6.8.12", "roundcube-core": "1.6.22"}, source_facts=facts)
    assert [(r["status"], r["schema_before"], r["schema_after"]) for r in rows] == [
        ("ran", 49752, 60421), ("ran", 2019092900, 2022081200)]
    assert (rows[0]["package_before"], rows[0]["package_after"]) == ("5.7.14+dfsg1-0+deb11u1", "6.8.12")
    assert (rows[1]["package_before"], rows[1]["package_after"]) == ("1.4.15", "1.6.22")
    assert rows[0]["record"] == {"site": "acme-blog", "app": "wordpress", "database": "acme_wp",
                                 "restored_checksum": "abc", "schema_before": 49752, "schema_after": 60421}
    assert apps.failures(rows) == []


def test_a_rerun_on_the_same_restore_reports_the_recorded_upgrade() -> None:
    wp, _ = _targets()
    record = {"restored_checksum": "abc", "schema_before": 49752, "schema_after": 60421}
    state = {wp["verified"]: json.dumps({"checksum": "abc"}), wp["record"]: json.dumps(record)}
    rows = apps.results([wp], [_res("60421")], [], [_res("60421")], state)
    assert (rows[0]["status"], rows[0]["schema_before"], rows[0]["record"]) == ("ran", 49752, None)
    # a new restore (different checksum) whose schema is already current: nothing ran on it
    state[wp["verified"]] = json.dumps({"checksum": "new"})
    rows = apps.results([wp], [_res("60421")], [], [_res("60421")], state)
    assert (rows[0]["status"], rows[0]["schema_before"]) == ("not needed", 60421)
    # no record at all: the source was already on the target schema
    rows = apps.results([wp], [_res("60421")], [], [_res("60421")], {})
    assert rows[0]["status"] == "not needed"


@pytest.mark.parametrize(
    ("before", "ran", "after", "detail"),
    [
        (_res("49752"), {"rc": 255, "stderr": "PHP Fatal error: boom"}, _res("49752"), "upgrade failed (rc 255)"),
        (_res("49752"), {"rc": 0}, _res("58975"), "is 58975, not the target 60421"),
        (_res("49752"), {"rc": 0}, _res(rc=1, stderr="gone"), "after the upgrade: reading db_version failed"),
        (_res(rc=1, stderr="Access denied"), None, _res(rc=1), "reading db_version failed (rc 1): Access denied"),
        (_res(""), None, _res(""), "no db_version in the database acme_wp"),
        (_res("70000"), None, _res("70000"), "newer than the POC package's 60421"),
    ],
)
def test_failures_are_judged_with_the_cause(before: dict[str, Any], ran: dict[str, Any] | None,
                                            after: dict[str, Any], detail: str) -> None:
    wp, _ = _targets()
    ran_l = [{"item": wp, "stdout": "", "stderr": "", **ran}] if ran else []
    rows = apps.results([wp], [before], ran_l, [after], {})
    assert rows[0]["status"] == "failed" and detail in rows[0]["detail"], rows[0]["detail"]
    assert rows[0]["record"] is None
    assert apps.failures(rows) == [f"acme-blog (wordpress): {rows[0]['detail']}"]


def test_check_mode_reports_the_due_upgrade() -> None:
    wp, _ = _targets()
    rows = apps.results([wp], [_res("49752")], [{"item": wp, "skipped": True}], [_res("49752")], {})
    assert rows[0]["status"] == apps.STATUS_DUE and not apps.failures(rows)


def test_slurp_and_find_results_are_read() -> None:
    content = base64.b64encode(b"<?php\n").decode()
    assert apps.slurped([{"item": "/a", "content": content}, {"item": "/b", "failed": True}]) == {"/a": "<?php\n"}
    finds = [{"item": "/d", "files": [{"path": "/d/2.sql"}, {"path": "/d/1.sql"}]},
             {"item": "/gone", "files": [], "skipped_paths": {"/gone": "not a directory"}}]
    assert apps.listed(finds) == {"/d": ["1.sql", "2.sql"]}


def test_report_section_rows_note_and_status() -> None:
    wp, rc = _targets()
    rows = apps.results([wp, rc], [_res("49752"), _res("2022081200")], [_ran(wp)],
                        [_res("60421"), _res("2022081200")], {})
    plan = {"name": "poc-x", "source": "s", "client": "c", "scope": "host", "profile": {"name": "debian13"},
            "sites": []}
    kw: dict[str, Any] = {"vm": {}, "before": {}, "after": {}, "integrity": {"passed": True}, "interop": [],
                          "access": {}, "commands": {}}
    rep = report.build(plan, app_upgrades=rows, **kw)
    sec = rep["app_upgrades"]
    assert [(r["site"], r["status"]) for r in sec["sites"]] == [("acme-blog", "ran"), ("globex-webmail", "not needed")]
    assert "record" not in sec["sites"][0]
    assert sec["note"] and "differs from the source by design" in sec["note"]
    assert rep["status"] == "passed"
    html = report.render_html(rep)
    assert "Application upgrades" in html and "db_version 49752" in html and "differs from the source by design" in html
    # nothing upgraded: no note; a failed upgrade fails the report
    assert report.build(plan, app_upgrades=rows[1:], **kw)["app_upgrades"]["note"] is None
    failed = [dict(rows[0], status="failed", detail="upgrade failed (rc 1)")]
    assert report.build(plan, app_upgrades=failed, **kw)["status"] == "failed"
    assert report.build(plan, **kw)["app_upgrades"] == {"sites": [], "note": None}
    with pytest.raises(ValueError, match="without site, app or status"):
        report.build(plan, app_upgrades=[{"site": "x"}], **kw)


def test_a_failed_upgrade_has_its_database_restored_again() -> None:
    wp, rc = _targets()
    rows = apps.results([wp, rc], [_res("49752"), _res("2099010100")], [_ran(wp, rc=1, stderr="boom")],
                        [_res("49752"), _res("2099010100")], {})
    assert [r["status"] for r in rows] == ["failed", "failed"]
    # only the one an upgrade touched: re-restoring cannot fix a schema newer than the package
    assert apps.restore_again([wp, rc], rows) == ["/var/lib/s4-data-migrate/db/acme_wp.restored"]
    ok = apps.results([wp], [_res("49752")], [_ran(wp)], [_res("60421")], {})
    assert apps.restore_again([wp], ok) == []
