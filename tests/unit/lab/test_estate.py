"""The estate definition: agrees with the topology and the issue's required shape."""

from __future__ import annotations

import pytest

from s4.lab import estate, topology


def test_every_topology_host_has_a_spec():
    assert [s.name for s in estate.SPECS] == [h.name for h in topology.HOSTS]


def test_unknown_host_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown lab host 'nope'"):
        estate.spec("nope")


def test_required_hosts_and_software():
    acme = estate.spec("mvps-acme-01")
    assert {"nginx", "php7.4-fpm", "mariadb-server", "wordpress"} <= set(acme.packages)
    assert acme.seed["uploads"] >= 2000 and acme.seed["uploads_mb"] >= 100
    rows = acme.seed["posts"] * (1 + acme.seed["postmeta_per_post"]) + acme.seed["comments"] + acme.seed["users"] * (
        1 + acme.seed["usermeta_per_user"]
    )
    assert rows >= 100_000
    globex = estate.spec("mvps-globex-01")
    assert {"apache2", "postgresql-13"} <= {p.split("=")[0] for p in globex.packages}
    assert any(kind == "npm" and spec.startswith("jquery@1.") for kind, spec in globex.assets)
    assert any(kind == "pypi-wheel" for kind, _ in globex.assets)
    shared = estate.spec("shared-01")
    assert len(shared.clients) >= 3
    assert all(s.db and s.db.server == "db-01" for s in shared.sites)
    assert {"tomcat10", "redis-server", "nginx"} <= set(estate.spec("internal-01").packages)
    assert estate.spec("colo-01").sites == ()


def test_db_01_is_a_shared_dependency():
    users = estate.sites_using_db_server("db-01")
    assert {h for h, _ in users} == {"shared-01"}
    assert len(users) >= 3


def test_site_clients_belong_to_their_host():
    ids = {c.id for c in estate.CLIENTS}
    for s in estate.SPECS:
        assert set(s.clients) <= ids
        for site in s.sites:
            assert site.client in s.clients


def test_passwords_deterministic_and_distinct():
    pws = [site.db.password for s in estate.SPECS for site in s.sites if site.db]
    assert len(pws) == len(set(pws))
    assert estate._pw("x") == estate._pw("x")
