"""Observable state of a trixie host after s4_mariadb restored MariaDB 10.5 dumps into 11.8."""

from __future__ import annotations

import shlex

import pytest

VERSION = "11.8"  # trixie's MariaDB


def sql_as(host, user: str, password: str, query: str, db: str = "", tcp: bool = False):
    where = "-h 127.0.0.1 -P 3306" if tcp else ""
    cmd = (
        f"mariadb --default-character-set=utf8mb4 {where} -u {shlex.quote(user)} -p{shlex.quote(password)} -N -B "
        f"-e {shlex.quote(query)} {shlex.quote(db) if db else ''}"
    )
    return host.run(cmd)


@pytest.mark.parametrize("name", ["mariadb-server", "mariadb-client", "python3-pymysql"])
def test_packages_installed(host, name):
    assert host.package(name).is_installed


def test_server_is_target_version(host):
    assert host.check_output("mariadb -N -B -e 'SELECT VERSION()'").startswith(f"{VERSION}.")


def test_service_running_and_enabled(host):
    svc = host.service("mariadb")
    assert svc.is_running
    assert svc.is_enabled


def test_listens_on_bind_address_only(host):
    assert host.socket("tcp://127.0.0.1:3306").is_listening
    assert not host.socket("tcp://0.0.0.0:3306").is_listening


def test_settings_applied(host):
    assert host.check_output("mariadb -N -B -e 'SELECT @@max_connections'") == "60"


def test_system_tables_upgraded(host):
    info = host.file("/var/lib/mysql/mariadb_upgrade_info").content_string
    assert info.startswith(f"{VERSION}.")
    assert host.run("mariadb-upgrade --check-if-upgrade-is-needed").rc == 1


def test_restored_rows_and_constraints_present(host):
    res = sql_as(host, "shop", "Shop-Molecule-Pw1", "SELECT COUNT(*), SUM(total) FROM orders", "shop", tcp=True)
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "3\t235.49"
    city = sql_as(host, "shop", "Shop-Molecule-Pw1", "SELECT HEX(city) FROM customers WHERE id = 1", "shop")
    assert city.stdout.strip() == "Zürich".encode().hex().upper()  # stored as UTF-8, not double-encoded
    fk = sql_as(host, "shop", "Shop-Molecule-Pw1", "INSERT INTO orders (customer_id, total) VALUES (99, 1)", "shop")
    assert fk.rc != 0
    assert "foreign key constraint fails" in fk.stderr


def test_compressed_dump_restored(host):
    res = sql_as(host, "report", "Report-Molecule-Pw1", "SELECT post_title FROM wp_posts ORDER BY ID", "blog")
    assert res.rc == 0, res.stderr
    assert res.stdout.splitlines() == ["Hello world!", "Sample Page"]


def test_privileges_exact(host):
    ok = sql_as(host, "report", "Report-Molecule-Pw1", "SELECT COUNT(*) FROM orders", "shop")
    assert ok.rc == 0, ok.stderr
    denied = sql_as(host, "report", "Report-Molecule-Pw1", "SELECT COUNT(*) FROM customers", "shop")
    assert denied.rc != 0
    assert "denied" in denied.stderr
    write = sql_as(host, "report", "Report-Molecule-Pw1", "DELETE FROM orders", "shop")
    assert write.rc != 0


def test_wrong_password_rejected(host):
    res = sql_as(host, "shop", "wrong", "SELECT 1")
    assert res.rc != 0
    assert "Access denied" in res.stderr


def test_missing_dump_database_not_created(host):
    assert "ghost" not in host.check_output("mariadb -N -B -e 'SHOW DATABASES'").split()
