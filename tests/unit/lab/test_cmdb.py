"""The lab CMDB: generated from the estate definition, deterministic, consistent with docs/CMDB.md."""

from __future__ import annotations

import datetime
import re

import yaml

from s4.lab import cmdb, estate, topology

SERVICE_CLASSES = {"mvps", "shared_hosting", "internal", "unmanaged", "colocation", "connectivity"}


def test_committed_cmdb_equals_generation():
    committed = cmdb.CMDB_PATH.read_text(encoding="utf-8")
    assert committed == cmdb.render(), "inventories/lab/cmdb.yml is stale: run scripts/lab cmdb and commit it"


def test_generation_is_deterministic():
    assert cmdb.render() == cmdb.render()


def test_structure_follows_schema():
    data = yaml.safe_load(cmdb.render())
    assert data["plugin"] == "smartt.s4.cmdb"
    c = data["cmdb"]
    assert c["version"] == 1 and c["domain"] == estate.DOMAIN
    assert set(c["hosts"]) == {h.name for h in topology.HOSTS}
    for cid, client in c["clients"].items():
        assert re.match(r"^[a-z][a-z0-9_-]*$", cid)
        assert client["name"] and isinstance(client["contacts"], list)
    for name, h in c["hosts"].items():
        assert h["service"] in SERVICE_CLASSES
        assert h["address"] == topology.host(name).address
        assert h["os"].startswith("debian-")
        for s in h["sites"]:
            assert {"name", "client", "domain", "docroot"} <= set(s)
            assert s["client"] in h["clients"]
            if "db" in s:
                assert s["db"]["engine"] in {"mariadb", "mysql", "postgresql"}
                assert s["db"]["server"] in c["hosts"]
        for lic in h["licences"]:
            assert lic["kind"] in {"licence", "support"}
            assert isinstance(lic["expires"], datetime.date)
    assert cmdb.validate(data) == []


def test_no_secrets_in_cmdb():
    text = cmdb.render()
    for spec in estate.SPECS:
        for site in spec.sites:
            if site.db:
                assert site.db.password not in text


def test_site_names_unique_per_host_and_services_classes():
    data = yaml.safe_load(cmdb.render())["cmdb"]
    for h in data["hosts"].values():
        names = [s["name"] for s in h["sites"]]
        assert len(names) == len(set(names))
    assert data["hosts"]["colo-01"]["service"] == "colocation"
    assert data["hosts"]["internal-01"]["service"] == "internal"


def test_licences_expire_both_soon_and_later():
    ref = datetime.date(2026, 11, 27)
    dates = [datetime.date.fromisoformat(lic.expires) for s in estate.SPECS for lic in s.licences]
    assert any(d - ref <= datetime.timedelta(days=180) for d in dates)
    assert any(d - ref > datetime.timedelta(days=180) for d in dates)


def test_validate_reports_each_problem():
    data = cmdb.build()
    host = data["cmdb"]["hosts"]["shared-01"]
    host["sites"][0]["db"]["server"] = "nowhere-01"
    host["sites"][1]["client"] = "acme"
    host["clients"].append("ghost")
    problems = cmdb.validate(data)
    assert len(problems) == 3
    assert any("nowhere-01" in p for p in problems)
    assert any("'acme' not in the host's clients" in p for p in problems)
    assert any("unknown client 'ghost'" in p for p in problems)


def test_write_is_idempotent(tmp_path):
    path = tmp_path / "cmdb.yml"
    assert cmdb.write(path) is True
    assert cmdb.write(path) is False
    assert path.read_text(encoding="utf-8") == cmdb.render()
