"""The POC plan takes what a site is from discovery (issue #17): the app root is copied, every thing found is an
item (copied or not, with the reason), and every discovered value is checked before use."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from s4.poc import plan as poc_plan
from s4.poc import profiles, report

SHA = "ab" * 32
HOSTVARS: dict[str, dict[str, Any]] = {
    "shared-01": {
        "s4_service": "shared_hosting", "s4_in_scope": True, "ansible_host": "10.89.40.13",
        "s4_sites": [
            {"name": "umbrella-shop", "client": "umbrella", "domain": "shop.umbrella.example", "aliases": [],
             "docroot": "/srv/www/umbrella-shop/public", "app": "laravel",
             "db": {"engine": "mariadb", "name": "umbrella_shop", "server": "db-01"}},
            {"name": "hooli-app", "client": "hooli", "domain": "app.hooli.example", "aliases": [],
             "docroot": "/srv/www/hooli-app/public", "app": "php",
             "db": {"engine": "postgresql", "name": "hooli_app", "server": "db-01"}},
        ],
    },
    "db-01": {"s4_service": "shared_hosting", "s4_in_scope": True, "ansible_host": "10.89.40.14", "s4_sites": []},
}
IN_SCOPE = ["shared-01", "db-01"]


def _shop_facts() -> dict[str, Any]:
    """s4_software facts of shared-01 as software_facts records them (sites part only)."""
    return {"schema": 1, "sites": [{
        "name": "umbrella-shop", "in_cmdb": True, "docroot": "/srv/www/umbrella-shop/public",
        "app_root": "/srv/www/umbrella-shop", "app_root_markers": [".env", "artisan", "composer.json"],
        "owner": "umbrella", "group": "umbrella", "owner_uid": 1001, "owner_gid": 1001,
        "fpm_pool": {"pool": "umbrella", "config": "/etc/php/8.2/fpm/pool.d/umbrella.conf", "version": "8.2",
                     "listen": "/run/php/php8.2-fpm-umbrella.sock", "user": "umbrella", "group": "umbrella",
                     "limits": {"pm": "ondemand", "pm.max_children": "5"},
                     "open_basedir": ["/srv/www/umbrella-shop", "/tmp"],
                     "php": {"php_admin_value[open_basedir]": "/srv/www/umbrella-shop:/tmp"},
                     "redacted": ["php_admin_value[mail.smtp_password]"]},
        "tls": [{"kind": "certificate", "directive": "SSLCertificateFile", "path": "/etc/ssl/certs/shop.pem",
                 "exists": True},
                {"kind": "key", "directive": "SSLCertificateKeyFile", "path": "/etc/ssl/private/shop.key",
                 "exists": True}],
        "cron": [{"source": "crontab", "path": "/var/spool/cron/crontabs/umbrella", "lines": 2, "size": 120,
                  "sha256": SHA}],
        "databases": [{"config": "/srv/www/umbrella-shop/.env", "kind": "env", "host": "10.89.40.14", "port": 3306,
                       "name": "umbrella_shop", "engine": "mysql"}],
    }]}


def _plan(facts: Any = None, site: str = "umbrella-shop") -> dict[str, Any]:
    prof = profiles.load("debian13")
    return poc_plan.build("shared-01", HOSTVARS, IN_SCOPE, site=site, domain="smartt.example",
                          profile=prof.to_dict(), versions=prof.resolve_versions(), facts=facts)


def test_laravel_app_root_is_copied_and_the_docroot_stays_the_vhost_docroot() -> None:
    pl = _plan(_shop_facts())
    [s] = pl["sites"]
    assert pl["data_paths"] == ["/srv/www/umbrella-shop"]
    assert s["app_root"] == "/srv/www/umbrella-shop" and s["vhost_docroot"] == "/srv/www/umbrella-shop/public"
    assert (s["owner"], s["group"], s["fpm_pool"]["user"]) == ("umbrella", "umbrella", "umbrella")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for i in s["items"]:
        by_kind.setdefault(i["kind"], []).append(i)
    [root] = by_kind["app-root"]
    assert root["copied"] is True and root["path"] == "/srv/www/umbrella-shop" and "docroot" in root["note"]
    [db] = by_kind["database"]
    assert (db["server"], db["name"], db["copied"]) == ("db-01", "umbrella_shop", True)  # 10.89.40.14 is db-01
    assert "names the live server db-01 (10.89.40.14)" in db["note"]  # the config step must repoint it
    assert s["db_configs"] == [{"config": "/srv/www/umbrella-shop/.env", "kind": "env", "host": "10.89.40.14",
                                "server": "db-01", "name": "umbrella_shop"}]
    [key] = by_kind["tls-key"]
    assert key["copied"] is False and key["reason"].startswith("TLS key: not copied, a new certificate is issued")
    [cron] = by_kind["cron"]
    assert cron["copied"] is False and cron["reason"].startswith("cron: installed by #17 runtime step, not yet")
    assert (cron["lines"], cron["sha256"]) == (2, SHA)
    [pool] = by_kind["fpm-pool"]
    assert pool["copied"] is False and "pm.max_children=5" in pool["reason"] and "1 secret ones" in pool["reason"]
    assert all(i["copied"] or i["reason"] for i in s["items"])  # nothing not copied without a reason
    json.dumps(pl)


def test_without_facts_only_the_docroot_is_copied_and_an_item_says_so() -> None:
    pl = _plan(None)
    [s] = pl["sites"]
    assert pl["data_paths"] == ["/srv/www/umbrella-shop/public"]
    [disc] = [i for i in s["items"] if i["kind"] == "discovery"]
    assert disc["copied"] is False and "gather_software.yml --limit shared-01" in disc["reason"]
    assert [i["server"] for i in s["items"] if i["kind"] == "database"] == ["db-01"]
    # facts of an older schema (no app_root): the same
    old = _shop_facts()
    del old["sites"][0]["app_root"]
    assert _plan(old)["data_paths"] == ["/srv/www/umbrella-shop/public"]


def test_bare_uid_owner_and_a_config_naming_another_server_are_listed() -> None:
    f = _shop_facts()
    f["sites"][0]["owner"] = 1001
    f["sites"][0]["databases"].append({"config": "/srv/www/umbrella-shop/.env.backup", "host": "203.0.113.9",
                                       "port": None, "name": "old_shop"})
    f["sites"][0]["databases"][0]["host"] = "localhost"  # a local DB: not the CMDB's db-01
    items = _plan(f)["sites"][0]["items"]
    [owner] = [i for i in items if i["kind"] == "owner"]
    assert owner["copied"] is False and "bare id 1001" in owner["reason"]
    dbs = [i for i in items if i["kind"] == "database"]
    assert [(d["server"], d["copied"]) for d in dbs] == [("shared-01", False), (None, False), ("db-01", True)]
    assert "names database umbrella_shop on shared-01, the CMDB names umbrella_shop on db-01" in dbs[0]["reason"]
    assert "'203.0.113.9'" in dbs[1]["reason"] and "not a host of the CMDB" in dbs[1]["reason"]
    assert dbs[2]["note"] == "from the CMDB (no app config names it)"


def _set(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    f = copy.deepcopy(_shop_facts())
    cur: Any = f["sites"][0]
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return f


@pytest.mark.parametrize(("path", "value", "field"), [
    (("app_root",), "/srv/www/../etc", "app_root"),
    (("app_root",), "/srv/www/umbrella-shop\nroot", "app_root"),
    (("app_root",), "/srv", "app_root"),  # the top of the tree: every tenant's sites
    (("app_root",), "/etc", "app_root"),
    (("app_root",), "/srv/www/hooli-app", "app_root"),  # not above this site's docroot: another tenant's app
    (("app_root",), "/home/umbrella", "app_root"),
    (("docroot",), "/srv/www/hooli-app/public", "docroot"),
    (("owner",), "root;id", "owner"),
    (("group",), "-x", "group"),
    (("cron", 0, "path"), "/etc/shadow", "cron.path"),
    (("cron", 0, "path"), "/etc/cron.d/../shadow", "cron.path"),
    (("cron", 0, "sha256"), "x", "cron.sha256"),
    (("tls", 0, "path"), "/etc/ssl/x\nroot", "tls.path"),
    (("tls", 0, "kind"), "other", "tls"),
    (("databases", 0, "host"), "db;rm -rf /", "databases.host"),
    (("databases", 0, "name"), "x' OR 1=1", "databases.name"),
    (("databases", 0, "config"), "../.env", "databases.config"),
    (("databases", 0, "kind"), "env;x", "databases.kind"),
    (("fpm_pool", "user"), "www data", "fpm_pool.user"),
    (("fpm_pool", "php"), {"php_admin_value[x]": "a\nb"}, "fpm_pool.php"),
    (("fpm_pool", "config"), "/etc/php/../../shadow", "fpm_pool.config"),
])
def test_hostile_discovered_values_refuse_the_plan(path: tuple[Any, ...], value: Any, field: str) -> None:
    with pytest.raises(poc_plan.PlanError) as exc:
        _plan(_set(path, value))
    msg = str(exc.value)
    assert msg.startswith("source shared-01, site umbrella-shop (discovery facts)") and field in msg
    assert "Nothing was changed" in msg or "nothing was changed" in msg


def test_hostile_facts_of_another_site_refuse_a_whole_host_plan_too() -> None:
    f = _shop_facts()
    f["sites"].append({**copy.deepcopy(f["sites"][0]), "name": "hooli-app", "docroot": "/srv/www/hooli-app/public",
                       "app_root": "/srv/www/umbrella-shop"})
    with pytest.raises(poc_plan.PlanError, match="site hooli-app .*app_root"):
        _plan(f, site="umbrella-shop")


def test_report_lists_found_but_not_copied_items() -> None:
    pl = _plan(_shop_facts())
    rep = report.build(pl, vm={"vmid": 1, "address": "10.89.40.100"}, before=None, after=None,
                       integrity={"passed": True, "checks": []}, interop=[], access={}, commands={})
    rows = rep["found_not_copied"]
    assert {r["kind"] for r in rows} == {"fpm-pool", "tls-certificate", "tls-key", "cron"}
    assert all(r["site"] == "umbrella-shop" and r["reason"] for r in rows)
    html = report.render_html(rep)
    assert "<h3>Found but not copied</h3>" in html
    assert "<code>/var/spool/cron/crontabs/umbrella</code>" in html and "cron: installed by #17 runtime step" in html
    assert SHA not in html  # the hash stays in the JSON report


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown the fixture tree")
def test_discovery_output_feeds_the_plan(tmp_path: Path) -> None:
    """software_facts' site detector on a Laravel-style tree, straight into the plan (no hand-written facts)."""
    collections = Path(__file__).resolve().parents[3] / ".collections"
    if str(collections) not in sys.path:
        sys.path.insert(0, str(collections))
    from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_sites as st

    base = tmp_path / "srv" / "www" / "umbrella-shop"
    (base / "public").mkdir(parents=True)
    (base / "artisan").write_text("#!/usr/bin/env php\n")
    (base / ".env").write_text("DB_HOST=10.89.40.14\nDB_DATABASE=umbrella_shop\nDB_PASSWORD=never-in-the-plan\n")
    for p in [base, *base.rglob("*")]:
        os.lchown(p, 41001, 41001)
    cmdb = [{**HOSTVARS["shared-01"]["s4_sites"][0], "docroot": str(base / "public")}]
    sites, _w = st.build_sites(cmdb, [], [], None, 8, 1000, float("inf"), str(tmp_path))
    sites[0]["docroot"] = "/srv/www/umbrella-shop/public"  # as Gatherer shows it
    pl = _plan({"schema": 1, "sites": json.loads(json.dumps(sites))})
    assert pl["data_paths"] == ["/srv/www/umbrella-shop"]
    items = pl["sites"][0]["items"]
    assert [i["copied"] for i in items if i["kind"] == "database"] == [True]
    # uid/gid 41001 have no name: kept as numbers, flagged
    assert [i["reason"][:25] for i in items if i["kind"] == "owner"] == ["owner is the bare id 4100",
                                                                         "group is the bare id 4100"]
    assert "never-in-the-plan" not in json.dumps(pl)
