"""What a site is beyond its docroot (issue #17): app root, owner, FPM pool, TLS paths, cron sources, databases.

Attacks: a symlinked app root, an app root of another owner, markers above the site trees, secrets in .env, in
config files, in pool settings and in cron lines never reaching the facts. Runs as root (the tests chown).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_sites as st

FAR = float("inf")
SECRETS = ("s3cr3t-db-pass", "cr0n-t0ken-123", "pool-smtp-pass", "dsn-pass-77", "wp-pass-99")
TENANT, OTHER = 41001, 41002  # uids without a passwd entry

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown fixture trees")


def _chown_tree(path: Path, uid: int, gid: int | None = None) -> None:
    gid = uid if gid is None else gid
    os.lchown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), uid, gid)


def _laravel(base: Path, uid: int = TENANT) -> Path:
    (base / "public").mkdir(parents=True)
    (base / "public" / "index.php").write_text("<?php require __DIR__.'/../vendor/autoload.php';\n")
    (base / "artisan").write_text("#!/usr/bin/env php\n<?php\n")
    (base / "composer.json").write_text('{"require": {"laravel/framework": "^10.0"}}\n')
    (base / "vendor").mkdir()
    (base / "storage").mkdir()
    (base / ".env").write_text("APP_NAME=shop\nDB_CONNECTION=mysql\nDB_HOST=10.89.40.14\nDB_PORT=3306\n"
                               "DB_DATABASE=umbrella_shop\nDB_USERNAME=shop\nDB_PASSWORD=s3cr3t-db-pass\n")
    _chown_tree(base, uid)
    return base / "public"


def test_laravel_app_root_is_found_above_the_docroot(tmp_path):
    docroot = _laravel(tmp_path / "srv" / "www" / "shop")
    details, warnings = st.site_details(str(docroot), [], None, str(tmp_path))
    assert details["app_root"] == "/srv/www/shop"
    assert set(details["app_root_markers"]) == {".env", "artisan", "composer.json"}
    assert (details["owner"], details["owner_uid"]) == (TENANT, TENANT)
    assert "owner uid 41001 has no user name" in details["owner_flags"]  # a bare uid stays a number, flagged
    assert details["databases"] == [{"config": "/srv/www/shop/.env", "kind": "env", "host": "10.89.40.14",
                                     "port": 3306, "name": "umbrella_shop", "engine": "mysql"}]
    assert warnings == []
    text = json.dumps(details)
    assert not any(s in text for s in SECRETS) and "DB_USERNAME" not in text


def test_docroot_without_markers_above_is_its_own_app_root(tmp_path):
    docroot = tmp_path / "srv" / "www" / "plain"
    docroot.mkdir(parents=True)
    (docroot / "index.php").write_text("<?php echo 1;\n")
    _chown_tree(tmp_path / "srv" / "www" / "plain", TENANT)
    app_root, markers, note = st.find_app_root(str(docroot), [str(tmp_path / "srv")])
    assert (app_root, markers, note) == (str(docroot), [], None)


def test_symlinked_app_root_is_not_walked_through(tmp_path):
    victim = _laravel(tmp_path / "srv" / "www" / "victim", OTHER).parent
    attacker = tmp_path / "srv" / "www" / "attacker"
    attacker.mkdir(parents=True)
    # the tenant's site directory is a link into another tenant's app: its docroot resolves there
    (attacker / "site").symlink_to(victim)
    os.lchown(attacker / "site", TENANT, TENANT)
    _chown_tree(attacker, TENANT)
    app_root, markers, note = st.find_app_root(str(attacker / "site" / "public"), [str(tmp_path / "srv")])
    assert app_root == str(attacker / "site" / "public") and markers == []
    assert "symlink" in note
    # the docroot itself a link: no walk above it at all
    (attacker / "pub").symlink_to(victim / "public")
    app_root, _m, note = st.find_app_root(str(attacker / "pub"), [str(tmp_path / "srv")])
    assert app_root == str(attacker / "pub") and note == "docroot is a symlink: no app root searched above it"


def test_app_root_owned_by_another_user_is_refused(tmp_path):
    docroot = _laravel(tmp_path / "srv" / "www" / "shared", OTHER)
    os.lchown(docroot, TENANT, TENANT)  # the tenant owns only the docroot; .env/artisan above belong to OTHER
    details, _w = st.site_details(str(docroot), [], None, str(tmp_path))
    assert details["app_root"] == "/srv/www/shared/public" and details["databases"] == []
    assert "owned by uid 41002, not by the docroot's owner (uid 41001)" in details["app_root_note"]
    # root-owned parent (a system directory): the same
    os.lchown(docroot.parent, 0, 0)
    app_root, _m, note = st.find_app_root(str(docroot), [str(tmp_path / "srv")])
    assert app_root == str(docroot) and "uid 0" in note


def test_walk_up_stops_below_the_site_tree_top_and_after_three_levels(tmp_path):
    srv = tmp_path / "srv"
    deep = srv / "a" / "b" / "c" / "d" / "public"
    deep.mkdir(parents=True)
    (srv / ".env").write_text("DB_HOST=x\n")  # at the top of the tree: never an app root
    (srv / "a" / "composer.json").write_text("{}")  # 4 levels above the docroot: too far
    _chown_tree(srv, TENANT)
    app_root, markers, note = st.find_app_root(str(deep), [str(srv)])
    assert (app_root, markers, note) == (str(deep), [], None)
    (srv / "a" / "b" / "composer.json").write_text("{}")  # 3 levels up: found
    os.lchown(srv / "a" / "b" / "composer.json", TENANT, TENANT)
    assert st.find_app_root(str(deep), [str(srv)])[0] == str(srv / "a" / "b")
    # outside every site tree (/usr/share/...): the docroot only
    app_root, _m, note = st.find_app_root(str(deep), [str(tmp_path / "var" / "www")])
    assert app_root == str(deep) and "outside the site trees" in note


def test_home_is_a_bound_never_an_app_root(tmp_path, monkeypatch):
    home = tmp_path / "home" / "t"
    site = home / "site"
    (site / "public").mkdir(parents=True)
    (home / ".env").write_text("DB_HOST=x\n")
    (site / "package.json").write_text("{}")
    _chown_tree(tmp_path / "home", TENANT)
    monkeypatch.setattr(st, "home_of", lambda uid: "/home/t" if uid == TENANT else None)
    details, _w = st.site_details(str(site / "public"), [], None, str(tmp_path))
    assert details["app_root"] == "/home/t/site" and details["app_root_markers"] == ["package.json"]
    os.unlink(site / "package.json")
    details, _w = st.site_details(str(site / "public"), [], None, str(tmp_path))
    assert details["app_root"] == "/home/t/site/public"  # the home itself (.env there) is never the app root


def test_marker_that_is_a_symlink_or_fifo_does_not_count(tmp_path):
    base = tmp_path / "srv" / "www" / "x"
    (base / "public").mkdir(parents=True)
    (base / ".env").symlink_to("/etc/passwd")
    os.mkfifo(base / "artisan")
    _chown_tree(base, TENANT)
    assert st.find_app_root(str(base / "public"), [str(tmp_path / "srv")])[0] == str(base / "public")


def test_owner_and_group_names(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    os.lchown(f, 0, 0)
    assert st.owner_of(str(f)) == {"owner": "root", "group": "root", "uid": 0, "gid": 0, "flags": []}
    os.lchown(f, TENANT, OTHER)
    o = st.owner_of(str(f))
    assert (o["owner"], o["group"]) == (TENANT, OTHER) and len(o["flags"]) == 2


def test_fpm_pool_settings_without_secrets():
    text = """[shop]
user = shop
group = shop
listen = /run/php/php8.2-fpm-shop.sock
pm = ondemand
pm.max_children = 7
php_admin_value[open_basedir] = /srv/www/shop:/tmp
php_admin_value[memory_limit] = 256M
php_admin_flag[log_errors] = on
php_admin_value[mail.smtp_password] = pool-smtp-pass
php_value[session.cookie_secure] = 1
php_admin_value[sendmail_path] = /usr/sbin/sendmail -t -i --password=pool-smtp-pass
php_admin_value[error_log] = /srv/www/shop/storage/logs/php.log
env[DB_PASSWORD] = s3cr3t-db-pass
"""
    [pool] = st.parse_fpm_pool(text, "/etc/php/8.2/fpm/pool.d/shop.conf")
    facts = st.fpm_pool_facts(pool)
    assert facts["user"] == "shop" and facts["group"] == "shop" and facts["version"] == "8.2"
    assert facts["limits"] == {"pm": "ondemand", "pm.max_children": "7"}
    assert facts["open_basedir"] == ["/srv/www/shop", "/tmp"]
    assert facts["php"] == {"php_admin_value[open_basedir]": "/srv/www/shop:/tmp",
                            "php_admin_value[memory_limit]": "256M", "php_admin_flag[log_errors]": "on",
                            "php_admin_value[error_log]": "/srv/www/shop/storage/logs/php.log"}
    assert facts["redacted"] == ["php_admin_value[mail.smtp_password]", "php_value[session.cookie_secure]",
                                 "php_admin_value[sendmail_path]"]
    assert not any(s in json.dumps(facts) for s in SECRETS)
    [bad] = st.parse_fpm_pool("[x]\nuser = $(evil)\nlisten = /run/x.sock\n", "/etc/php/8.2/fpm/pool.d/x.conf")
    assert st.fpm_pool_facts(bad)["user"] is None and st.fpm_pool_facts(bad)["flags"]


def test_tls_paths_from_nginx_and_apache(tmp_path):
    ngx = st.parse_nginx_config("""server { listen 80; server_name shop.example; root /srv/www/shop/public; }
server { listen 443 ssl; server_name shop.example; root /srv/www/shop/public;
  ssl_certificate /etc/letsencrypt/live/shop.example/fullchain.pem;
  ssl_certificate_key /etc/letsencrypt/live/shop.example/privkey.pem;
  ssl_trusted_certificate /etc/ssl/$ssl_server_name.pem; }""", "/etc/nginx/sites-enabled/shop")
    apache = st.parse_apache_config("""<VirtualHost *:443>
  ServerName shop.example
  DocumentRoot /srv/www/shop/public
  SSLCertificateFile "/etc/ssl/certs/shop.pem"
  SSLCertificateKeyFile /etc/ssl/private/shop.key
  SSLCertificateChainFile /etc/ssl/../shadow
</VirtualHost>""", "/etc/apache2/sites-enabled/shop.conf")
    site = {"name": "shop", "domain": "shop.example", "docroot": "/srv/www/shop/public"}
    vhosts = ngx + apache
    (tmp_path / "etc" / "ssl" / "private").mkdir(parents=True)
    (tmp_path / "etc" / "ssl" / "private" / "shop.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    tls = st.tls_files(st.site_vhosts(site, vhosts, ngx[0]), lambda x: str(tmp_path) + x)
    got = [(t["kind"], t["path"], t.get("exists")) for t in tls]
    assert got == [
        ("certificate", "/etc/letsencrypt/live/shop.example/fullchain.pem", False),
        ("key", "/etc/letsencrypt/live/shop.example/privkey.pem", False),
        ("chain", None, None),  # a variable in the path: refused, not guessed
        ("certificate", "/etc/ssl/certs/shop.pem", False),
        ("key", "/etc/ssl/private/shop.key", True),
        ("chain", None, None),  # '..' in the path
    ]
    assert "PRIVATE KEY" not in json.dumps(tls)


def test_cron_sources_hash_not_lines(tmp_path):
    spool = tmp_path / "var" / "spool" / "cron" / "crontabs"
    spool.mkdir(parents=True)
    (spool / "shop").write_text("# m h dom mon dow command\nMAILTO=ops@example\n"
                                "*/5 * * * * php /srv/www/shop/artisan schedule:run --token=cr0n-t0ken-123\n")
    crond = tmp_path / "etc" / "cron.d"
    crond.mkdir(parents=True)
    (crond / "shop-backup").write_text("0 3 * * * shop /srv/www/shop/bin/backup --key cr0n-t0ken-123\n"
                                       "# /srv/www/shop in a comment only\n")
    (crond / "shop2").write_text("0 4 * * * shop2 /srv/www/shop2/artisan queue:work\n")  # another site's path
    (crond / "php").write_text("09,39 * * * * root [ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean\n")
    (crond / "evil\nname").write_text("* * * * * root /srv/www/shop/x\n")
    warnings: list[str] = []
    out = st.cron_sources("shop", ["/srv/www/shop", "/srv/www/shop/public"], lambda x: str(tmp_path) + x, warnings)
    assert [(c["source"], c["path"], c["lines"]) for c in out] == [
        ("crontab", "/var/spool/cron/crontabs/shop", 2), ("cron.d", "/etc/cron.d/shop-backup", 1)]
    assert all(len(c["sha256"]) == 64 and c["size"] > 0 for c in out)
    assert warnings == ["cron.d file name 'evil\\nname' is not a plain name: not read"]
    assert "cr0n-t0ken" not in json.dumps(out) and "artisan" not in json.dumps(out)
    # a bare uid has no crontab to look up by name; a symlinked crontab is not read
    assert [c["source"] for c in st.cron_sources(TENANT, ["/srv/www/shop"], lambda x: str(tmp_path) + x)] == \
        ["cron.d"]
    (spool / "link").symlink_to(spool / "shop")
    assert [c["source"] for c in st.cron_sources("link", ["/nowhere"], lambda x: str(tmp_path) + x)] == []


@pytest.mark.parametrize(("rel", "kind", "text", "want"), [
    ("wp-config.php", "wordpress",
     "<?php\ndefine( 'DB_NAME', 'blog' );\ndefine('DB_PASSWORD', 'wp-pass-99');\ndefine('DB_HOST', 'db-01:3307');\n",
     {"host": "db-01", "port": 3307, "name": "blog", "engine": "mysql"}),
    ("wp-config.php", "wordpress", "<?php define('DB_HOST', 'localhost:/run/mysqld/mysqld.sock');",
     {"host": "localhost", "port": None, "name": None, "engine": "mysql", "socket": "/run/mysqld/mysqld.sock"}),
    ("config/config.inc.php", "roundcube", "<?php $config['db_dsnw'] = 'pgsql://rc:dsn-pass-77@10.0.0.5/roundcube';",
     {"host": "10.0.0.5", "port": None, "name": "roundcube", "engine": "pgsql"}),
    ("app/etc/env.php", "magento",
     "<?php return ['db' => ['connection' => ['default' => ['host' => 'db.internal', 'dbname' => 'mage', "
     "'username' => 'm', 'password' => 's3cr3t-db-pass']]]];",
     {"host": "db.internal", "port": None, "name": "mage", "engine": "mysql"}),
    ("configuration.php", "joomla",
     "<?php class JConfig { public $dbtype = 'mysqli'; public $host = '192.0.2.7'; public $password = "
     "'s3cr3t-db-pass'; public $db = 'joomla'; }",
     {"host": "192.0.2.7", "port": None, "name": "joomla", "engine": "mysqli"}),
    (".env", "env", "DATABASE_URL=\"postgresql://app:s3cr3t-db-pass@pg.internal:5433/app?serverVersion=15\"\n",
     {"host": "pg.internal", "port": 5433, "name": "app", "engine": "postgresql"}),
])
def test_database_hosts_from_app_configs(tmp_path, rel, kind, text, want):
    app = tmp_path / "srv" / "www" / "app"
    (app / rel).parent.mkdir(parents=True, exist_ok=True)
    (app / rel).write_text(text)
    [db] = st.site_databases([str(app)], str(app))
    assert db == {"config": str(app / rel), "kind": kind, **want}
    assert not any(s in json.dumps(db) for s in SECRETS)


def test_hostile_database_values_are_not_recorded(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / ".env").write_text("DB_HOST=\"db;touch /tmp/x\"\nDB_DATABASE=x' OR 1=1\nDB_PASSWORD=s3cr3t-db-pass\n")
    [db] = st.site_databases([str(app)], str(app))
    assert db["host"] is None and db["name"] is None and len(db["flags"]) == 2
    assert "touch" not in json.dumps(db) and "OR 1" not in json.dumps(db)


def test_config_reached_through_a_symlinked_directory_is_not_read(tmp_path):
    other = tmp_path / "other"
    (other / "etc").mkdir(parents=True)
    (other / "etc" / "env.php").write_text("<?php return ['host' => 'stolen.example'];")
    app = tmp_path / "app"
    (app / "app").mkdir(parents=True)
    (app / "app" / "etc").symlink_to(other / "etc")
    assert st.site_databases([str(app)], str(app)) == []


def test_build_sites_records_the_details(fixtures, tmp_path):
    docroot = _laravel(tmp_path / "srv" / "www" / "umbrella-shop")
    conf = (f"<VirtualHost *:80>\n ServerName shop.umbrella.example\n DocumentRoot {docroot}\n"
            ' <FilesMatch "\\.php$">\n  SetHandler "proxy:unix:/run/php/php8.2-fpm-umbrella.sock|fcgi://localhost"\n'
            " </FilesMatch>\n</VirtualHost>\n")
    vhosts = st.parse_apache_config(conf, "/etc/apache2/sites-enabled/umbrella-shop.conf")
    pools = st.parse_fpm_pool("[umbrella]\nuser = umbrella\ngroup = umbrella\n"
                              "listen = /run/php/php8.2-fpm-umbrella.sock\npm = ondemand\n"
                              "php_admin_value[open_basedir] = /srv/www/umbrella-shop:/tmp\n",
                              "/etc/php/8.2/fpm/pool.d/umbrella.conf")
    cmdb = [{"name": "umbrella-shop", "client": "umbrella", "domain": "shop.umbrella.example",
             "docroot": str(docroot), "app": "laravel"}]
    sites, warnings = st.build_sites(cmdb, vhosts, pools, None, 8, 1000, FAR, str(tmp_path))
    [s] = sites
    assert s["app_root"] == "/srv/www/umbrella-shop"
    assert s["fpm_pool"]["user"] == "umbrella" and s["fpm_pool"]["open_basedir"] == ["/srv/www/umbrella-shop", "/tmp"]
    assert s["databases"][0]["host"] == "10.89.40.14" and s["tls"] == [] and s["cron"] == []
    assert not any(x in json.dumps(sites) for x in SECRETS)
    # no time left: the details are not gathered, and the warning says so
    sites, warnings = st.build_sites(cmdb, vhosts, pools, None, 8, 1000, 0, str(tmp_path))
    assert sites[0]["details"] is None and any("not gathered (time budget" in w for w in warnings)
