"""vhost configs, PHP-FPM pools, web-app version files, front-end library banners and bounded docroot walks."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_sites as st

FAR = float("inf")


def test_nginx_default_site_from_debian(fixtures):
    servers = st.parse_nginx_config((fixtures / "nginx" / "default").read_text(), "/etc/nginx/sites-enabled/default")
    assert len(servers) == 1  # the commented-out example server is ignored
    assert servers[0]["root"] == "/var/www/html" and servers[0]["server_names"] == ["_"]
    assert servers[0]["fastcgi"] is None


def test_nginx_php_site(fixtures):
    [s] = st.parse_nginx_config((fixtures / "nginx" / "acme-blog").read_text(), "/etc/nginx/sites-enabled/acme-blog")
    assert s["server_names"] == ["blog.acme.example", "www.blog.acme.example"]
    assert s["root"] == "/srv/www/acme-blog"
    assert s["fastcgi"] == "unix:/run/php/php7.4-fpm-acme.sock"
    assert s["listen"] == ["80", "[::]:80"]


def test_nginx_root_in_location_and_quotes(fixtures):
    [s] = st.parse_nginx_config((fixtures / "nginx" / "shop.conf").read_text(), "/etc/nginx/conf.d/shop.conf")
    assert s["server_names"] == ["shop.example.org"]
    assert s["root"] == "/srv/www/shop/public"
    assert st.normalise_listen(s["fastcgi"]) == "127.0.0.1:9000"


def test_apache_vhosts(fixtures):
    [d] = st.parse_apache_config((fixtures / "apache" / "000-default.conf").read_text(), "000-default.conf")
    assert d["root"] == "/var/www/html" and d["server_names"] == []
    g, sec = st.parse_apache_config((fixtures / "apache" / "globex-www.conf").read_text(), "globex-www.conf")
    assert g["server_names"] == ["www.globex.example", "globex.example"]
    assert g["root"] == "/srv/www/globex-www"
    assert g["fastcgi"] == "unix:/run/php/php8.2-fpm.sock"
    assert sec["root"] == "/srv/www/globex-secure" and sec["fastcgi"] is None


def test_fpm_pools(fixtures):
    [www] = st.parse_fpm_pool((fixtures / "php" / "www.conf").read_text(), "/etc/php/7.4/fpm/pool.d/www.conf")
    assert www == {"pool": "www", "listen": "/run/php/php7.4-fpm.sock", "user": "www-data", "version": "7.4",
                   "config": "/etc/php/7.4/fpm/pool.d/www.conf"}
    [acme] = st.parse_fpm_pool((fixtures / "php" / "acme.conf").read_text(), "/etc/php/7.4/fpm/pool.d/acme.conf")
    assert acme["listen"] == "/run/php/php7.4-fpm-acme.sock"  # $pool expanded


def test_php_for_vhost(fixtures):
    pools = st.parse_fpm_pool((fixtures / "php" / "www.conf").read_text(), "/etc/php/7.4/fpm/pool.d/www.conf")
    pools += st.parse_fpm_pool((fixtures / "php" / "acme.conf").read_text(), "/etc/php/7.4/fpm/pool.d/acme.conf")
    idx = st._fpm_index(pools)
    [v] = st.parse_nginx_config((fixtures / "nginx" / "acme-blog").read_text(), "acme-blog")
    assert st.php_for_vhost(v, idx, None) == {"version": "7.4", "pool": "acme",
                                              "socket": "/run/php/php7.4-fpm-acme.sock", "sapi": "fpm"}
    g, sec = st.parse_apache_config((fixtures / "apache" / "globex-www.conf").read_text(), "globex-www.conf")
    # socket without a known pool: the version still comes from the socket name
    assert st.php_for_vhost(g, idx, None)["version"] == "8.2"
    assert st.php_for_vhost(sec, idx, "7.4") == {"version": "7.4", "pool": None, "socket": None,
                                                  "sapi": "apache2handler"}
    assert st.php_for_vhost(sec, idx, None) is None


@pytest.mark.parametrize(
    ("app", "product", "version", "evidence"),
    [
        ("wordpress", "wordpress", "5.7.14", "wp-includes/version.php"),
        ("drupal", "drupal", "10.2.5", "core/lib/Drupal.php"),
        ("drupal7", "drupal", "7.98", "includes/bootstrap.inc"),
        ("joomla", "joomla", "4.4.9", "libraries/src/Version.php"),
        ("roundcube", "roundcube", "1.4.15", "program/include/iniset.php"),
        ("phpmyadmin", "phpmyadmin", "5.2.1", "libraries/classes/Version.php"),
        ("magento1", "magento", "1.9.4.5", "app/Mage.php"),
        ("laravel", "laravel", "10.48.4", "vendor/laravel/framework/src/Illuminate/Foundation/Application.php"),
    ],
)
def test_web_app_version_files(fixtures, app, product, version, evidence):
    apps = st.detect_apps_at(str(fixtures / "apps" / app))
    assert [(a["product"], a["version"], a["evidence"]) for a in apps] == [(product, version, evidence)]


def test_wordpress_extras(fixtures):
    [wp] = st.detect_apps_at(str(fixtures / "apps" / "wordpress"))
    assert wp["details"] == {"wp_db_version": "49752", "required_php_version": "5.6.20",
                             "required_mysql_version": "5.0"}


def test_composer_and_npm_locks(fixtures):
    apps, warn = st.detect_composer(str(fixtures / "apps" / "magento2"), str(fixtures / "apps" / "magento2" /
                                                                            "composer.lock"))
    assert warn is None
    assert [(a["product"], a["version"]) for a in apps] == [("magento", "2.4.6-p4"), ("composer", None)]
    apps, libs, warn = st.detect_npm(str(fixtures / "apps" / "magento2"),
                                     str(fixtures / "apps" / "magento2" / "package-lock.json"))
    assert warn is None
    assert sorted((x["product"], x["version"]) for x in libs) == [("bootstrap", "5.3.2"), ("jquery", "3.7.1")]
    assert {"name": "@popperjs/core", "version": "2.11.8"} in apps[0]["details"]["packages"]


def test_bad_lock_file_is_a_warning(tmp_path):
    (tmp_path / "composer.lock").write_text("{not json")
    apps, warn = st.detect_composer(str(tmp_path), str(tmp_path / "composer.lock"))
    assert apps == [] and warn.startswith("composer.lock not valid JSON: ")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("jquery.min.js", ("jquery", "3.5.1")),
        ("jquery.js", ("jquery", "3.5.1")),
        ("jquery-migrate.min.js", ("jquery-migrate", "3.3.2")),
        ("jquery-ui-core.min.js", ("jquery-ui", "1.12.1")),
        ("jquery-ui.min.js", ("jquery-ui", "1.12.1")),  # Debian build without a banner: $.ui.version
        ("bootstrap.min.js", ("bootstrap", "4.5.2")),
        ("bootstrap.min.css", ("bootstrap", "4.5.2")),
        ("underscore.js", ("underscore", "1.9.1")),
        # WordPress's vendor lodash: its banner says "Based on Underscore.js 1.8.3", which is not underscore
        ("lodash.js", ("lodash", "4.17.19")),
        ("lodash.min.js", None),  # no version in the first 2 KiB: nothing rather than a wrong library
    ],
)
def test_library_banners_from_real_files(fixtures, name, expected):
    head = (fixtures / "js" / name).read_text()
    assert st.detect_library(name, head) == expected


def test_angularjs_banner():
    assert st.detect_library("angular.min.js", "/*\n @license AngularJS v1.8.3\n (c) 2010-2020 Google LLC.") == \
        ("angularjs", "1.8.3")


def _site_tree(fixtures, root):
    """A WordPress docroot with bundled libraries, a symlink out of it, a pruned dir and a nested Laravel app."""
    shutil.copytree(fixtures / "apps" / "wordpress", root)
    js = root / "wp-includes" / "js" / "jquery"
    (js / "ui").mkdir(parents=True)
    shutil.copy(fixtures / "js" / "jquery.min.js", js / "jquery.min.js")
    shutil.copy(fixtures / "js" / "jquery.js", js / "jquery.js")
    shutil.copy(fixtures / "js" / "jquery-ui-core.min.js", js / "ui" / "core.min.js")
    shutil.copy(fixtures / "js" / "jquery-migrate.min.js", js / "jquery-migrate.min.js")
    theme = root / "wp-content" / "themes" / "acme"
    theme.mkdir(parents=True)
    shutil.copy(fixtures / "js" / "bootstrap.min.css", theme / "bootstrap.min.css")
    (theme / "style.css").write_text("/* Theme Name: Acme */\n")
    (root / "etc").symlink_to("/etc")
    (root / "jquery-latest.js").symlink_to(root / "wp-includes" / "js" / "jquery" / "jquery.js")
    (root / "node_modules" / "left-pad").mkdir(parents=True)
    shutil.copytree(fixtures / "apps" / "laravel", root / "tools")
    (root / "tools" / "vendor" / "autoload.php").write_text("<?php\n")
    # a front-end vendor directory (not Composer's) is walked
    (root / "js" / "vendor").mkdir(parents=True)
    shutil.copy(fixtures / "js" / "underscore.js", root / "js" / "vendor" / "underscore.js")
    return root


def test_walk_docroot(fixtures, tmp_path):
    root = _site_tree(fixtures, tmp_path / "acme-blog")
    apps, libs, walk, warnings = st.walk_docroot(str(root), 8, 1000, FAR)
    assert warnings == []
    found = {(a["product"], a["version"], os.path.relpath(a["path"], root)) for a in apps}
    assert ("wordpress", "5.7.14", ".") in found
    assert ("laravel", "10.48.4", "tools") in found
    assert {(x["product"], x["version"]) for x in libs} == {("jquery", "3.5.1"), ("jquery-ui", "1.12.1"),
                                                            ("jquery-migrate", "3.3.2"), ("bootstrap", "4.5.2"),
                                                            ("underscore", "1.9.1")}
    jq = next(x for x in libs if x["product"] == "jquery")
    assert jq["files"] == 3  # jquery.js, jquery.min.js and the in-docroot symlink to jquery.js
    reasons = {os.path.relpath(s["path"], root): s["reason"] for s in walk["skipped"]}
    assert reasons["etc"] == "symlink out of the docroot (-> /etc) not followed"
    assert reasons["node_modules"] == "pruned (node_modules)"
    assert reasons["tools/vendor"] == "pruned (composer vendor)"
    assert walk["truncated"] is False and walk["files"] > 5


def test_walk_limits_are_reported(fixtures, tmp_path):
    root = _site_tree(fixtures, tmp_path / "acme-blog")
    _a, _l, walk, _w = st.walk_docroot(str(root), 8, 3, FAR)
    assert walk["truncated"] is True and walk["files"] == 3
    assert any(s["reason"] == "file limit (3) reached" for s in walk["skipped"])
    _a, _l, walk, _w = st.walk_docroot(str(root), 1, 1000, FAR)
    assert walk["truncated"] is True
    assert any(s["reason"] == "depth limit (1) reached" for s in walk["skipped"])
    _a, _l, walk, _w = st.walk_docroot(str(root), 8, 1000, time.time() - 1)
    assert walk["truncated"] is True and walk["skipped"][0]["reason"] == "time budget exhausted"


def test_laravel_public_docroot_reads_the_app_root(fixtures, tmp_path):
    app = tmp_path / "umbrella-shop"
    shutil.copytree(fixtures / "apps" / "laravel", app)
    shutil.copy(fixtures / "apps" / "magento2" / "package-lock.json", app / "package-lock.json")
    apps, libs, walk, warnings = st.walk_docroot(str(app / "public"), 8, 100, FAR)
    assert warnings == [] and walk["files"] == 1
    got = {(a["product"], a["version"], a["path"]) for a in apps}
    assert ("laravel", "10.48.4", str(app)) in got
    assert ("symfony", "6.4.5", str(app)) in got
    assert {(x["product"], x["version"]) for x in libs} == {("jquery", "3.7.1"), ("bootstrap", "5.3.2")}


def test_missing_and_unreadable_docroots(tmp_path):
    apps, libs, walk, warnings = st.walk_docroot(str(tmp_path / "nope"), 8, 100, FAR)
    assert (apps, libs, warnings) == ([], [], [f"docroot {tmp_path / 'nope'} is missing"])
    f = tmp_path / "file"
    f.write_text("x")
    assert st.walk_docroot(str(f), 8, 100, FAR)[3] == [f"docroot {f} is not a directory"]


def test_build_sites_merges_cmdb_and_vhosts(fixtures, tmp_path):
    root = _site_tree(fixtures, tmp_path / "srv" / "acme-blog")
    other = tmp_path / "var" / "www" / "html"
    other.mkdir(parents=True)
    vhosts = st.parse_nginx_config((fixtures / "nginx" / "acme-blog").read_text().replace(
        "/srv/www/acme-blog", str(root)), "/etc/nginx/sites-enabled/acme-blog")
    vhosts += st.parse_nginx_config((fixtures / "nginx" / "default").read_text().replace(
        "/var/www/html", str(other)), "/etc/nginx/sites-enabled/default")
    pools = st.parse_fpm_pool((fixtures / "php" / "acme.conf").read_text(), "/etc/php/7.4/fpm/pool.d/acme.conf")
    cmdb = [{"name": "acme-blog", "client": "acme", "domain": "blog.acme.example", "docroot": str(root),
             "app": "wordpress"},
            {"name": "acme-old", "client": "acme", "domain": "old.acme.example", "docroot": str(tmp_path / "gone")}]
    sites, warnings = st.build_sites(cmdb, vhosts, pools, None, 8, 1000, FAR)
    by = {s["name"]: s for s in sites}
    assert set(by) == {"acme-blog", "acme-old", "default"}
    blog = by["acme-blog"]
    assert blog["client"] == "acme" and blog["server"] == "nginx" and blog["in_cmdb"] is True
    assert blog["php"] == {"version": "7.4", "pool": "acme", "socket": "/run/php/php7.4-fpm-acme.sock", "sapi": "fpm"}
    assert blog["apps"][0]["product"] == "wordpress"
    assert by["default"]["client"] is None and by["default"]["in_cmdb"] is False
    assert by["default"]["config"] == "/etc/nginx/sites-enabled/default"
    assert warnings == [f"site acme-old: docroot {tmp_path / 'gone'} is missing"]
