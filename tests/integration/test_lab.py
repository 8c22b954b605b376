"""The running lab (scripts/lab up): every host over SSH with pinned host keys, its services and client data."""

from __future__ import annotations

import shlex

import pytest
import yaml

from s4.lab import cmdb, estate, topology

pytestmark = pytest.mark.integration

HOSTS = [h.name for h in topology.HOSTS]


def run(ssh, host, command, **kw):
    res = ssh(host, command, check=False, **kw)
    assert res.returncode == 0, f"{host}: {command!r} failed ({res.returncode}): {res.stderr.strip()}"
    return res.stdout


@pytest.mark.parametrize("host", HOSTS)
def test_host_identity_and_python(ssh, host):
    out = run(ssh, host, "hostname; python3 -c 'import sys; print(sys.version_info[0], sys.version_info[1])'")
    name, version = out.split("\n")[:2]
    assert name == host
    major, minor = map(int, version.split())
    assert (major, minor) >= (3, 6)


@pytest.mark.parametrize("host", HOSTS)
def test_expected_services_active(ssh, host):
    units = estate.spec(host).services
    res = ssh(host, "systemctl is-active " + " ".join(units), check=False)
    states = dict(zip(units, res.stdout.split(), strict=False))
    assert states == dict.fromkeys(units, "active")


@pytest.mark.parametrize("host", HOSTS)
def test_os_release_matches_cmdb(ssh, host):
    data = yaml.safe_load(cmdb.CMDB_PATH.read_text(encoding="utf-8"))["cmdb"]["hosts"][host]
    version = run(ssh, host, ". /etc/os-release && echo $VERSION_ID").strip()
    assert data["os"] == f"debian-{version}"
    for site in data["sites"]:
        run(ssh, host, f"test -d {shlex.quote(site['docroot'])}")


def test_acme_uploads_size_and_names(ssh):
    out = run(ssh, "mvps-acme-01",
              f"cd {estate.ACME_UPLOADS} && find . -type f | wc -l && du -sb . | cut -f1 && find . -type f -name '* *' | wc -l"
              " && find . -type f | LC_ALL=C grep -c -P '[\\x80-\\xff]'")
    files, size, spaced, utf8 = map(int, out.split())
    assert files >= 2000
    assert size >= 100 * 1024 * 1024
    assert spaced > 0 and utf8 > 0


def test_acme_database_rows(ssh):
    tables = ("wp_posts", "wp_postmeta", "wp_comments", "wp_users", "wp_usermeta")
    sql = "SELECT " + " + ".join(f"(SELECT COUNT(*) FROM {t})" for t in tables)
    total = int(run(ssh, "mvps-acme-01", f"mysql -N -B acme_wp -e {shlex.quote(sql)}").strip())
    assert total >= 100_000
    per_table = run(ssh, "mvps-acme-01", "mysql -N -B acme_wp -e 'SELECT COUNT(*) FROM wp_comments'")
    assert int(per_table) > 1000


def test_acme_wordpress_front_page_through_nginx(ssh):
    site = estate.ACME_WP
    page = run(ssh, "mvps-acme-01", f"curl -fsS -H 'Host: {site.domain}' http://127.0.0.1/")
    assert "<title>Acme Blog" in page
    assert "wp-content/themes/twentytwentyone" in page
    version = run(ssh, "mvps-acme-01", "dpkg-query -W -f='${Version}' wordpress")
    assert version.startswith("5.7.")


def test_globex_old_frontend_libraries_and_apps(ssh):
    docroot = estate.GLOBEX_WWW.docroot
    banner = run(ssh, "mvps-globex-01", f"head -c 200 {docroot}/js/vendor/jquery.min.js")
    assert "jQuery v1.12.4" in banner
    assert "Bootstrap v3.3.7" in run(ssh, "mvps-globex-01", f"head -c 300 {docroot}/js/vendor/bootstrap.min.js")
    page = run(ssh, "mvps-globex-01", f"curl -fsS -H 'Host: {estate.GLOBEX_WWW.domain}' http://127.0.0.1/")
    assert "5000 customers, 40000 orders" in page
    mail = run(ssh, "mvps-globex-01", f"curl -fsS -H 'Host: {estate.GLOBEX_MAIL.domain}' http://127.0.0.1/")
    assert "Roundcube" in mail


def test_globex_runtime_outside_package_manager(ssh):
    v = estate.NODE_VERSION
    assert run(ssh, "mvps-globex-01", f"/opt/node-v{v}/bin/node --version").strip() == f"v{v}"
    res = ssh("mvps-globex-01", f"dpkg -S /opt/node-v{v}/bin/node", check=False)
    assert res.returncode != 0, "the Node.js runtime must not belong to a Debian package"
    assert f'"node":"v{v}"' in run(ssh, "mvps-globex-01", "curl -fsS http://127.0.0.1:3000/")


@pytest.mark.parametrize("site", estate.SHARED_SITES, ids=lambda s: s.name)
def test_shared_site_reaches_its_database_on_db_01(ssh, site):
    page = run(ssh, "shared-01", f"curl -sS -H 'Host: {site.domain}' http://127.0.0.1/")
    assert "db ok: 2000 pages" in page, page[-300:]
    owner = run(ssh, "shared-01", f"stat -c %U {site.docroot}").strip()
    assert owner == site.client


def test_shared_site_kinds(ssh):
    run(ssh, "shared-01", "test -f /srv/www/umbrella-shop/composer.lock && grep -q laravel/framework "
                          "/srv/www/umbrella-shop/composer.lock")
    lock = run(ssh, "shared-01", "cat /srv/www/hooli-app/package-lock.json")
    assert '"node_modules/jquery": {"version": "3.4.1"' in lock
    pools = run(ssh, "shared-01", "ls /etc/php/8.2/fpm/pool.d").split()
    assert sorted(pools) == sorted(f"{c}.conf" for c in estate.spec("shared-01").clients)


def test_db_01_listens_on_the_lab_network(ssh):
    out = run(ssh, "db-01", "ss -Hltn")
    for port in (3306, 5432):
        assert f"0.0.0.0:{port}" in out or f"*:{port}" in out, f"nothing listens on the network on {port}"
    maria = set(run(ssh, "db-01", "mysql -N -B -e 'SHOW DATABASES'").split())
    pg = set(run(ssh, "db-01", "runuser -u postgres -- psql -Atc 'SELECT datname FROM pg_database'").split())
    for site in estate.SHARED_SITES:
        assert site.db
        assert site.db.name in (pg if site.db.engine == "postgresql" else maria)
    assert {s.db.engine for s in estate.SHARED_SITES if s.db} == {"mariadb", "postgresql"}


def test_internal_01_services_answer(ssh):
    assert "internal status" in run(ssh, "internal-01", "curl -fsS http://127.0.0.1:8080/status/")
    assert "release notices" in run(ssh, "internal-01", "curl -fsS http://127.0.0.1/")
    assert int(run(ssh, "internal-01", "redis-cli DBSIZE").strip()) >= 200


def test_colo_01_is_bare(ssh):
    assert "Not managed by Smartt" in run(ssh, "colo-01", "cat /etc/motd")
    res = ssh("colo-01", "systemctl is-active nginx apache2 mariadb", check=False)
    assert "active\n" not in res.stdout.replace("inactive", "")
