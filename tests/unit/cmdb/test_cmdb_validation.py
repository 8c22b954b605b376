"""CMDB validation (s4.cmdb) and the smartt.s4.cmdb inventory plugin on real ansible-core objects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from s4 import cmdb

ROOT = Path(__file__).resolve().parents[3]

GOOD = textwrap.dedent("""\
    plugin: smartt.s4.cmdb
    allow_vars: [ansible_port]
    cmdb:
      version: 1
      domain: smartt.example
      clients:
        acme: {name: Acme Ltd, contacts: [ops@acme.example]}
        big-co: {name: Big Co, contacts: []}
      hosts:
        mvps-acme-01:
          service: mvps
          address: 10.89.40.11
          os: debian-11
          clients: [acme, big-co]
          public: true
          vars: {ansible_port: 2222}
          sites:
            - name: acme-blog
              client: acme
              domain: blog.acme.example
              aliases: [www.blog.acme.example]
              docroot: /srv/www/acme-blog/
              app: wordpress
              db: {engine: mariadb, name: acme_wp, server: db-01}
          licences:
            - {product: wp-rocket, kind: licence, vendor: WP Media, client: acme, expires: 2027-03-31}
        db-01: {service: shared_hosting, address: 10.89.40.14, clients: [acme]}
        internal-01: {service: internal, address: 10.89.40.15}
        colo-01: {service: colocation, address: 10.89.40.16}
        unmanaged-01: {service: unmanaged, address: 10.89.40.17}
        router-01: {service: connectivity, address: 10.89.40.18}
    """)


def test_valid_cmdb_model():
    c = cmdb.loads(GOOD, "x/cmdb.yml")
    assert c.in_scope == ["mvps-acme-01", "db-01", "internal-01"]
    assert c.out_of_scope == ["colo-01", "unmanaged-01", "router-01"]
    hv = c.hostvars("mvps-acme-01")
    assert hv["ansible_host"] == "10.89.40.11" and hv["ansible_port"] == 2222
    assert hv["s4_service"] == "mvps" and hv["s4_in_scope"] is True and hv["s4_public"] is True
    assert hv["s4_clients"] == [{"id": "acme", "name": "Acme Ltd", "contacts": ["ops@acme.example"]},
                                {"id": "big-co", "name": "Big Co", "contacts": []}]
    assert hv["s4_sites"][0]["docroot"] == "/srv/www/acme-blog"  # trailing slash dropped
    assert hv["s4_sites"][0]["db"] == {"engine": "mariadb", "name": "acme_wp", "server": "db-01"}
    assert hv["s4_licences"] == [{"product": "wp-rocket", "kind": "licence", "vendor": "WP Media",
                                  "client": "acme", "expires": "2027-03-31"}]
    assert c.groups("mvps-acme-01") == ["s4_in_scope", "service_mvps", "client_acme", "client_big_co"]
    assert c.groups("colo-01") == ["s4_out_of_scope", "service_colocation"]
    assert c.hostvars("colo-01")["s4_in_scope"] is False


def _mutate(fn):
    data = yaml.safe_load(GOOD)
    fn(data["cmdb"])
    return yaml.safe_dump(data, sort_keys=False)


def _problems(text):
    with pytest.raises(cmdb.CmdbError) as exc:
        cmdb.loads(text, "inv/cmdb.yml")
    return exc.value.problems


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (lambda d: d["hosts"]["db-01"].pop("service"),
         "inv/cmdb.yml: host db-01: service: missing (one of mvps, shared_hosting, internal, unmanaged, colocation, "
         "connectivity)"),
        (lambda d: d["hosts"]["db-01"].update(service="vps"),
         "inv/cmdb.yml: host db-01: service: unknown service class 'vps' (one of mvps, shared_hosting, internal, "
         "unmanaged, colocation, connectivity)"),
        (lambda d: d["hosts"]["db-01"].pop("address"),
         "inv/cmdb.yml: host db-01: address: missing or not a string (becomes ansible_host)"),
        (lambda d: d["hosts"]["mvps-acme-01"]["sites"][0]["db"].update(server="db-09"),
         "inv/cmdb.yml: host mvps-acme-01: sites[0] (acme-blog).db.server: 'db-09' is not a host of this CMDB"),
        (lambda d: d["hosts"]["mvps-acme-01"].update(clients=["big-co"]),
         "inv/cmdb.yml: host mvps-acme-01: sites[0] (acme-blog).client: client 'acme' is not listed in the host's "
         "clients"),
        (lambda d: d["hosts"]["db-01"].update(clients=["nobody"]),
         "inv/cmdb.yml: host db-01: clients: unknown client id 'nobody' (not under cmdb.clients)"),
        (lambda d: d["hosts"]["mvps-acme-01"]["sites"][0].pop("docroot"),
         "inv/cmdb.yml: host mvps-acme-01: sites[0] (acme-blog).docroot: missing or not a string"),
        (lambda d: d["hosts"]["mvps-acme-01"]["sites"][0].update(docroot="srv/www"),
         "inv/cmdb.yml: host mvps-acme-01: sites[0] (acme-blog).docroot: 'srv/www' must be an absolute path"),
        (lambda d: d["hosts"]["mvps-acme-01"]["sites"][0]["db"].update(engine="oracle"),
         "inv/cmdb.yml: host mvps-acme-01: sites[0] (acme-blog).db.engine: 'oracle' is not one of mariadb, mysql, "
         "postgresql"),
        (lambda d: d["hosts"]["mvps-acme-01"]["licences"][0].update(expires="next year"),
         "inv/cmdb.yml: host mvps-acme-01: licences[0].expires: must be a date YYYY-MM-DD, got 'next year'"),
        (lambda d: d["hosts"]["mvps-acme-01"]["licences"][0].update(kind="lease"),
         "inv/cmdb.yml: host mvps-acme-01: licences[0].kind: 'lease' is not one of licence, support"),
        (lambda d: d["hosts"]["db-01"].update(colour="blue"),
         "inv/cmdb.yml: host db-01: colour: unknown field (allowed: address, clients, licences, os, public, "
         "services, sites, vars)".replace("services, ", "service, ")),
        (lambda d: d["hosts"]["db-01"].update(vars={"ansible_host": "1.2.3.4"}),
         "inv/cmdb.yml: host db-01: vars.ansible_host: is set by the CMDB plugin and cannot be overridden here"),
        (lambda d: d["hosts"]["db-01"].update(address="10.89.40.11"),
         "inv/cmdb.yml: host db-01: address: 10.89.40.11 is also the address of host mvps-acme-01"),
        (lambda d: d["clients"].update({"Bad Id": {"name": "x"}}),
         "inv/cmdb.yml: client 'Bad Id': id: client id 'Bad Id' is refused: lower-case letters, digits, '_' or '-', "
         "starting with a letter"),
        (lambda d: d.update(version=2),
         "inv/cmdb.yml: cmdb.version: unsupported schema version 2 (expected 1)"),
        (lambda d: d["hosts"]["mvps-acme-01"].update(public="yes please"),
         "inv/cmdb.yml: host mvps-acme-01: public: must be true or false, got 'yes please'"),
    ],
)
def test_each_problem_is_named(mutation, expected):
    assert _problems(_mutate(mutation)) == [expected]


def test_duplicate_host_is_reported_with_its_line():
    text = GOOD.replace("    internal-01: {service: internal, address: 10.89.40.15}\n",
                        "    internal-01: {service: internal, address: 10.89.40.15}\n"
                        "    db-01: {service: internal, address: 10.89.40.19}\n")
    problems = _problems(text)
    assert problems == ["inv/cmdb.yml: host db-01: (line 29): duplicate host (defined more than once under "
                        "cmdb.hosts)"]


def test_all_problems_at_once():
    def many(d):
        d["hosts"]["db-01"]["service"] = "colo"
        d["hosts"]["mvps-acme-01"]["sites"][0]["db"]["server"] = "nowhere"
        del d["hosts"]["internal-01"]["address"]

    problems = _problems(_mutate(many))
    assert len(problems) == 3
    assert all(p.startswith("inv/cmdb.yml: host ") for p in problems)
    assert "3 CMDB problems" in str(cmdb.CmdbError(problems))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plugin: smartt.s4.cmdb\n", "inv/cmdb.yml: cmdb: missing (the CMDB data sits under the cmdb: key)"),
        ("- a\n- b\n", "inv/cmdb.yml: the file must be a mapping with plugin: smartt.s4.cmdb and cmdb:"),
        ("cmdb: {version: 1\n", "inv/cmdb.yml: not valid YAML: "),
    ],
)
def test_bad_files(text, expected):
    assert _problems(text)[0].startswith(expected)


def test_committed_cmdbs_are_valid():
    example = cmdb.load(ROOT / "inventories" / "example" / "cmdb.yml")
    assert len(example.hosts) >= 20
    assert {h.service for h in example.hosts.values()} == set(cmdb.SERVICE_CLASSES)
    shared_db = [h for h in example.hosts if sum(
        1 for o in example.hosts.values() for s in o.sites if s.db and s.db.server == h) > 1]
    assert "db-shared-01" in shared_db
    lab = ROOT / "inventories" / "lab" / "cmdb.yml"
    if lab.exists():
        assert "colo-01" in cmdb.load(lab).out_of_scope


def test_cli(tmp_path, capsys):
    good = tmp_path / "cmdb.yml"
    good.write_text(GOOD)
    bad = tmp_path / "bad-cmdb.yml"
    bad.write_text(_mutate(lambda d: d["hosts"]["db-01"].update(service="vps")))
    assert cmdb.main([str(good)]) == 0
    assert cmdb.main([str(good), str(bad)]) == 1
    out = capsys.readouterr()
    assert "OK: 6 hosts (3 in scope), 2 clients" in out.out
    assert "host db-01: service: unknown service class 'vps'" in out.err
