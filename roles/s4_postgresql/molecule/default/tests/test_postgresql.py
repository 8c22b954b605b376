"""Observable state of a trixie host after s4_postgresql restored the source's dumps."""

from __future__ import annotations

import shlex

import pytest

PG = "17"  # trixie's PostgreSQL


def sql_as(host, user: str, password: str, db: str, query: str):
    """Run a query over TCP with password authentication (what the apps do)."""
    cmd = (
        f"PGPASSWORD={shlex.quote(password)} psql -X -h 127.0.0.1 -U {shlex.quote(user)} -d {shlex.quote(db)} "
        f"-tA -v ON_ERROR_STOP=1 -c {shlex.quote(query)}"
    )
    return host.run(cmd)


@pytest.mark.parametrize("name", [f"postgresql-{PG}", f"postgresql-client-{PG}", "python3-psycopg2"])
def test_packages_installed(host, name):
    assert host.package(name).is_installed


def test_server_is_target_version(host):
    assert host.package(f"postgresql-{PG}").version.startswith(f"{PG}.")
    out = host.check_output("runuser -u postgres -- psql -XtAc 'SHOW server_version_num'")
    assert out.startswith(PG)


@pytest.mark.parametrize("service", ["postgresql", f"postgresql@{PG}-main"])
def test_services_running_and_enabled(host, service):
    svc = host.service(service)
    assert svc.is_running
    assert svc.is_enabled


def test_listens_only_on_loopback(host):
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening


def test_settings_applied(host):
    out = host.check_output("runuser -u postgres -- psql -XtAc 'SHOW max_connections'")
    assert out == "50"


def test_pg_hba_entries(host):
    hba = host.file(f"/etc/postgresql/{PG}/main/pg_hba.conf").content_string
    lines = [" ".join(line.split()) for line in hba.splitlines()]
    wanted = [
        "host shop shop 127.0.0.1/32 scram-sha-256",
        "host crm crm 127.0.0.1/32 scram-sha-256",
        "host crm analyst 127.0.0.1/32 scram-sha-256",
    ]
    for line in wanted:
        assert line in lines
        # specific entries come before the catch-all, or they would never match
        assert lines.index(line) < lines.index("host all all 127.0.0.1/32 scram-sha-256")


def test_plain_13_dump_restored_with_owner_and_grants(host):
    res = sql_as(host, "shop", "Shop-Molecule-Pw1", "shop", "SELECT count(*), sum(total) FROM orders")
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "3|235.49"
    owner = host.check_output(
        "runuser -u postgres -- psql -XtA -d shop -c \"SELECT tableowner FROM pg_tables WHERE tablename='orders'\""
    )
    assert owner == "shop"


def test_globals_recreated_roles_and_memberships(host):
    out = host.check_output(
        "runuser -u postgres -- psql -XtAc \"SELECT pg_has_role('shop', 'reporting', 'member')\""
    )
    assert out == "t"


def test_custom_dump_restored(host):
    res = sql_as(host, "crm", "Crm-Molecule-Pw1", "crm", "SELECT count(*) FROM customer_names")
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "3"


def test_privileges_granted_exactly(host):
    ok = sql_as(host, "analyst", "Analyst-Molecule-Pw1", "crm", "SELECT name FROM customers ORDER BY id LIMIT 1")
    assert ok.rc == 0, ok.stderr
    assert ok.stdout.strip() == "Globex Corp"
    denied = sql_as(host, "analyst", "Analyst-Molecule-Pw1", "crm", "INSERT INTO customers (name) VALUES ('x')")
    assert denied.rc != 0
    assert "permission denied" in denied.stderr


def test_wrong_password_rejected(host):
    res = sql_as(host, "crm", "not-the-password", "crm", "SELECT 1")
    assert res.rc != 0
    assert "password authentication failed" in res.stderr
