"""The whole gathering on a fixture root tree, and the module entry point."""

from __future__ import annotations

import json
import shutil

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery
from ansible_collections.smartt.s4.plugins.modules import software_facts


def _host_tree(fixtures, root):
    (root / "etc").mkdir(parents=True)
    shutil.copy(fixtures / "os" / "os-release-bullseye", root / "etc" / "os-release")
    (root / "etc" / "debian_version").write_text("11.11\n")
    (root / "var" / "lib" / "dpkg" / "info").mkdir(parents=True)
    shutil.copy(fixtures / "dpkg" / "status-bullseye-web", root / "var" / "lib" / "dpkg" / "status")
    (root / "etc" / "nginx" / "sites-enabled").mkdir(parents=True)
    shutil.copy(fixtures / "nginx" / "acme-blog", root / "etc" / "nginx" / "sites-enabled" / "acme-blog")
    shutil.copy(fixtures / "nginx" / "default", root / "etc" / "nginx" / "sites-enabled" / "default")
    (root / "etc" / "php" / "7.4" / "fpm" / "pool.d").mkdir(parents=True)
    shutil.copy(fixtures / "php" / "www.conf", root / "etc" / "php" / "7.4" / "fpm" / "pool.d" / "www.conf")
    shutil.copy(fixtures / "php" / "acme.conf", root / "etc" / "php" / "7.4" / "fpm" / "pool.d" / "acme.conf")
    site = root / "srv" / "www" / "acme-blog"
    shutil.copytree(fixtures / "apps" / "wordpress", site)
    (site / "wp-includes" / "js" / "jquery").mkdir(parents=True)
    shutil.copy(fixtures / "js" / "jquery.min.js", site / "wp-includes" / "js" / "jquery" / "jquery.min.js")
    (root / "var" / "www" / "html").mkdir(parents=True)
    (root / "proc" / "net").mkdir(parents=True)
    shutil.copy(fixtures / "proc" / "tcp", root / "proc" / "net" / "tcp")
    shutil.copy(fixtures / "proc" / "tcp6", root / "proc" / "net" / "tcp6")
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "php-fpm7.4").write_text("")
    return root


SITES = [
    {"name": "acme-blog", "client": "acme", "domain": "blog.acme.example", "docroot": "/srv/www/acme-blog",
     "aliases": ["www.blog.acme.example"], "app": "wordpress"},
    {"name": "acme-shop", "client": "acme", "domain": "shop.acme.example", "docroot": "/srv/www/acme-shop"},
]


def test_gather_on_a_fixture_root(fixtures, tmp_path):
    root = _host_tree(fixtures, tmp_path / "root")
    facts = s4_discovery.Gatherer({"root": str(root), "host": "mvps-acme-01", "sites": SITES,
                                   "binary_search_paths": ["/opt"]}).gather()
    assert facts["schema"] == 1 and facts["host"] == "mvps-acme-01"
    assert facts["os"]["version_full"] == "11.11" and facts["distro"] == "debian-11"
    assert facts["package_manager"] == "dpkg" and len(facts["packages"]) == 260
    comps = {c["product"]: c for c in facts["components"]}
    assert comps["debian"]["kind"] == "os"
    assert comps["php"]["version"] == "7.4.33" and comps["php"]["path"] == "/usr/sbin/php-fpm7.4"
    sites = {s["name"]: s for s in facts["sites"]}
    assert set(sites) == {"acme-blog", "acme-shop", "default"}
    blog = sites["acme-blog"]
    assert blog["docroot"] == "/srv/www/acme-blog" and blog["config"] == "/etc/nginx/sites-enabled/acme-blog"
    assert blog["php"]["pool"] == "acme" and blog["php"]["version"] == "7.4"
    assert [(a["product"], a["version"]) for a in blog["apps"]] == [("wordpress", "5.7.14")]
    assert [(x["product"], x["version"]) for x in blog["libraries"]] == [("jquery", "3.5.1")]
    assert sites["default"]["docroot"] == "/var/www/html"
    assert facts["warnings"] == ["site acme-shop: docroot /srv/www/acme-shop is missing"]
    assert [(p["address"], p["port"]) for p in facts["ports"]] == [("0.0.0.0", 22), ("::", 22)]
    json.dumps(facts)  # JSON-safe


def test_unreadable_package_db_is_a_warning(fixtures, tmp_path):
    root = _host_tree(fixtures, tmp_path / "root")
    status = root / "var" / "lib" / "dpkg" / "status"
    status.unlink()
    status.mkdir()  # reading it fails even as root
    facts = s4_discovery.Gatherer({"root": str(root), "sites": SITES[:1], "binary_search_paths": []}).gather()
    assert facts["packages"] == []
    assert any(w.startswith("dpkg status database unreadable (") for w in facts["warnings"])
    # the rest is still gathered
    assert facts["sites"][0]["apps"][0]["product"] == "wordpress"
    assert facts["components"][0]["product"] == "debian"


def _run_module(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit):
        software_facts.main()
    return json.loads(capsys.readouterr().out)


def test_module_returns_facts_and_never_changes(capsys, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    out = _run_module({"host": "h1", "sites": [{"name": "s", "docroot": str(site)}], "include_packages": False,
                       "binary_search_paths": [], "_ansible_check_mode": True}, capsys)
    assert out["changed"] is False
    facts = out["ansible_facts"]["s4_software"]
    assert facts["host"] == "h1" and facts["packages"] == [] and facts["sites"][0]["name"] == "s"


def test_module_rejects_bad_options(capsys):
    out = _run_module({"sites": [{"name": "s", "docroot": "relative/path"}], "time_budget": 0}, capsys)
    assert out["failed"] is True
    assert out["msg"] == ("invalid options: sites[0]: needs a name and an absolute docroot; "
                          "time_budget must be > 0")
