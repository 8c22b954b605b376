"""Real-world strings as servers print them and people type them, judged by the engine as of one fixed date.

The table (fixtures/real_world_strings.tsv) has one line per string: product or package name as typed, version as
printed by the tool, distro as typed, the expected verdict (status/support source/cycle) and where the string and
the expectation come from. Every line goes through the same call ``s4 lifecycle`` makes, so the CLI, the reports
and discovery's controller side read these strings the same way.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from s4.lifecycle import Engine
from s4.lifecycle.versions import compare, extract_version, package_marks, sort_key, version_tuple

AS_OF = date(2026, 11, 27)
TABLE = Path(__file__).parent / "fixtures" / "real_world_strings.tsv"


def _rows() -> list[tuple[str, str, str | None, str, str, str, str]]:
    rows = []
    for n, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        assert len(cols) == 5, f"{TABLE.name}:{n}: 5 tab-separated columns expected, got {len(cols)}"
        product, version, distro, verdict, why = cols
        status, source, cycle = verdict.split("/")
        assert product.strip() and version.strip() and why.strip(), f"{TABLE.name}:{n}: empty column"
        rows.append((product, version, distro or None, status, source, cycle, f"{TABLE.name}:{n}"))
    return rows


ROWS = _rows()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load_default()


def test_table_size_and_spread():
    assert len(ROWS) >= 80
    statuses = {r[3] for r in ROWS}
    assert statuses >= {"supported", "security-only", "eol-soon", "eol"}
    assert {r[4] for r in ROWS} == {"distro", "upstream"}
    assert sum(1 for r in ROWS if r[2]) >= 50          # most rows name a distro, as typed
    assert len({(r[0], r[1], r[2]) for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("product,version,distro,status,source,cycle,where", ROWS, ids=[r[6] for r in ROWS])
def test_real_world_string(engine, product, version, distro, status, source, cycle, where):
    if distro:
        assert engine.resolve_distro(distro) is not None, f"{where}: distro {distro!r} not resolved"
    v = engine.evaluate(product, version, distro, AS_OF)
    assert engine.resolve(product) is not None, f"{where}: product {product!r} not resolved"
    assert (v.status, v.source, v.cycle) == (status, source, cycle), f"{where}: {v.reason}"
    assert v.reason


def test_cli_reads_the_same_strings(capsys):
    """``s4 lifecycle`` with the strings as typed (a package name, a package version, a distro's PRETTY_NAME)."""
    from s4.cli import main
    assert main(["lifecycle", "mariadb-server-10.5", "1:10.5.29-0+deb11u1", "--distro",
                 "Debian GNU/Linux 11 (bullseye)", "--as-of", AS_OF.isoformat(), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["product"], d["status"], d["source"], d["distro"], d["cycle"]) == (
        "mariadb", "eol", "distro", "debian-11", "10.5")


# ------------------------------------------------------------------------------------------ the resolver

@pytest.mark.parametrize("typed,expected", [
    ("Debian 12", "debian-12"), ("debian 12.7", "debian-12"), ("bookworm", "debian-12"), ("debian-12", "debian-12"),
    ("Debian GNU/Linux 12 (bookworm)", "debian-12"), ("Debian GNU/Linux 11 (bullseye)", "debian-11"),
    ("Debian GNU/Linux trixie/sid", "debian-13"), ("Rocky Linux 8", "rocky-8"), ("Rocky Linux 8.10 (Green Obsidian)",
                                                                                 "rocky-8"),
    ("AlmaLinux 9", "almalinux-9"), ("AlmaLinux 9.4 (Seafoam Ocelot)", "almalinux-9"), ("Ubuntu 22.04 LTS", "ubuntu-22.04"),
    ("Ubuntu 22.04.4 LTS", "ubuntu-22.04"), ("noble", "ubuntu-24.04"), ("RHEL 9", "rhel-9"), ("el8", "rhel-8"),
    ("Red Hat Enterprise Linux 9.4 (Plow)", "rhel-9"), ("rocky 9.4", "rocky-9"),
    ({"ID": "almalinux", "VERSION_ID": "9.4"}, "almalinux-9"), ({"ID": "ubuntu", "VERSION_ID": "24.04"}, "ubuntu-24.04"),
    ({"ID": "debian", "VERSION_ID": "12"}, "debian-12"), ({"ID": "rhel", "VERSION_ID": "8.10"}, "rhel-8"),
    # facts.distro as discovery writes it (<os-release ID>-<major>), for every family the catalog knows
    ("ol-8", "oracle-linux-8"), ("amzn-2", "amazon-linux-2"), ("amzn-2023", "amazon-linux-2023"),
    ("centos-7", "centos-7"), ("centos-9", "centos-stream-9"), ("cloudlinux-8", "cloudlinux-8"),
    ("Oracle Linux Server 8.10", "oracle-linux-8"), ("CloudLinux 8.9 (Valery Rozhdestvensky)", "cloudlinux-8"),
    ("Amazon Linux 2", "amazon-linux-2"), ("CentOS Stream 9", "centos-stream-9"), ("CentOS Linux 7 (Core)", "centos-7"),
])
def test_resolve_distro_as_typed(engine, typed, expected):
    assert engine.resolve_distro(typed) == expected


@pytest.mark.parametrize("typed", ["Debian 99", "windows 11", "rhel", "centos-8", "", "   ", None, 12, {"ID": "debian"},
                                   {"ID": ["x"], "VERSION_ID": "1"}, "x" * 500, "debian; rm -rf /"])
def test_resolve_distro_refuses(engine, typed):
    assert engine.resolve_distro(typed) is None


@pytest.mark.parametrize("typed,expected", [
    ("php7.4-fpm", "php"), ("php8.2-cli", "php"), ("libapache2-mod-php8.2", "php"), ("nginx-core", "nginx"),
    ("nginx-light", "nginx"), ("libjs-jquery", "jquery"), ("libjs-jquery-ui", "jquery-ui"),
    ("libjs-bootstrap4", "bootstrap"), ("libjs-angularjs", "angularjs"), ("mariadb-server-10.5", "mariadb"),
    ("mariadb11.8-server", "mariadb"), ("postgresql-13", "postgresql"), ("python3.11", "python"),
    ("openjdk-17-jre-headless", "eclipse-temurin"), ("java-17-openjdk-headless", "red-hat-build-of-openjdk"),
    ("Apache HTTP Server", "apache-http-server"), ("Eclipse Temurin", "eclipse-temurin"), ("apache2", "apache-http-server"),
    ("httpd", "apache-http-server"), ("tomcat9", "tomcat"), ("exim4-daemon-heavy", "exim"), ("redis-server", "redis"),
    ("Node.js", "nodejs"), ("PHP 8.2", "php"), ("nginx/1.24", "nginx"), ("MariaDB", "mariadb"),
])
def test_resolve_product_as_typed(engine, typed, expected):
    assert engine.resolve(typed) == expected


def test_panel_php_is_its_vendors(engine):
    for name in ("ea-php81", "alt-php74", "plesk-php83"):
        pm = engine.catalog.resolve_package(name)
        assert pm is not None and pm.vendor and pm.cycle in ("8.1", "7.4", "8.3")
        assert engine.resolve(name) in ("php", name.rstrip("0123456789"))  # the panel's product when the catalog has it


def test_openjdk_on_rhel_is_red_hats_build(engine):
    assert engine.resolve("openjdk", "Rocky Linux 9") == "red-hat-build-of-openjdk"
    assert engine.resolve("java", "el8") == "red-hat-build-of-openjdk"
    assert engine.resolve("openjdk", "Debian 12") == "eclipse-temurin"
    assert engine.resolve("temurin", "rhel-9") == "eclipse-temurin"


@pytest.mark.parametrize("typed", ["php7.4-mysql", "libc6", "", None, 3, "x" * 300, "../../etc/passwd"])
def test_resolve_product_refuses(engine, typed):
    assert engine.resolve(typed) is None


# ------------------------------------------------------------------------------ one comparison for everyone

def test_report_version_key_is_the_lifecycle_parser():
    from s4.report.util import cycle_of, version_key
    for raw in ("1:10.5.29-0+deb11u1", "Apache/2.4.62 (Debian)", "v18.19.0", "php-fpm-8.0.30-1.el9_2.x86_64",
                "8.0.30-1.module+el8.6.0+16523+f4d1a0d3", "5.5.5-10.11.6-MariaDB-0+deb12u1"):
        assert version_key(raw) == version_tuple(raw) == tuple(int(x) for x in extract_version(raw).split("."))
    assert cycle_of("7.4.33-1+deb11u5") == "7.4"
    assert version_key(None) == version_key("") == version_key("latest") == ()


def test_constraints_compare_through_versions():
    from s4.lifecycle.constraints import ConstraintSet
    assert ConstraintSet(">=7.4,<8.5").allows("8.4") and not ConstraintSet(">=7.4,<8.5").allows("8.5")
    assert ConstraintSet("<=8.4").allows("8.4.27") and ConstraintSet("7.2 - 8.4").allows("8.4.27")


@pytest.mark.parametrize("a,b,scheme,expected", [
    ("1.1.1v", "1.1.1w", "upstream", -1), ("8.4.0RC1", "8.4.0", "upstream", -1), ("nginx/1.24.0", "1.24", "upstream", 0),
    ("1:10.5.29-0+deb11u1", "10.11.6-0+deb12u1", "upstream", -1), ("1:10.5.29-0+deb11u1", "10.11.6-0+deb12u1", "deb", 1),
    ("8.0.30-1.el9_2", "8.0.30-1.el9_10", "rpm", -1), ("2.4.7-p3", "2.4.7", "upstream", 1),
])
def test_compare(a, b, scheme, expected):
    assert compare(a, b, scheme) == expected
    assert compare(b, a, scheme) == -expected


def test_sort_key_orders_any_text():
    got = sorted(["8.4.1", "", "8.3.20", "junk", "8.4", "8.4.0RC1"], key=sort_key)
    assert got[:2] in (["", "junk"], ["junk", ""]) and got[2:] == ["8.3.20", "8.4.0RC1", "8.4", "8.4.1"]


@pytest.mark.parametrize("raw,kind,release,vendor", [
    ("7.4.33-1+deb11u5", "debian", "11", None), ("8.2.26-1+deb12", "debian", "12", None),
    ("8.0.42-0ubuntu0.22.04.1", "ubuntu", "22.04", None), ("2.4.52-1ubuntu4.12", "ubuntu", None, None),
    ("8.0.30-1.module+el8.6.0+16523+f4d1a0d3", "el", "8", None), ("1:1.1.1k-12.el8_9", "el", "8", None),
    ("2.4.62-1.amzn2023.0.1", "amzn", "2023", None), ("16.4-1.pgdg120+1", "vendor", None, "pgdg"),
    ("8.1.29-1.1.1.cpanel", "vendor", None, "cpanel"), ("7.4.33-25.el9.remi", "vendor", None, "remi"),
    ("1.26.2-1~bookworm", "vendor", None, "nginx.org"), ("2.4.62-1~bpo12+1", "vendor", None, "debian-backports"),
    ("psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)", "debian", "12", None),
])
def test_package_marks(raw, kind, release, vendor):
    m = package_marks(raw)
    assert m is not None and (m.kind, m.release, m.vendor) == (kind, release, vendor)


@pytest.mark.parametrize("raw", ["7.4.33-1", "1.22.1-9", "7.4.33", "", None, "nginx/1.18.0", "x" * 1000])
def test_package_marks_say_nothing(raw):
    assert package_marks(raw) is None


def test_cli_origin_is_the_evidence(capsys):
    from s4.cli import main
    args = ["lifecycle", "nginx-light", "1.22.1-9", "--distro", "Debian 12", "--as-of", AS_OF.isoformat(), "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "upstream"      # a bare -N revision: no evidence
    assert main([*args, "--origin", "debian"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["source"], d["status"], d["packaged"]) == ("distro", "security-only", True)
    assert main([*args, "--origin", "nginx.org"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "upstream"


def test_report_findings_name_the_resolved_product(engine):
    """Discovery emits raw names (java, apache-tomcat); the report's findings carry the catalog product the one
    resolver gives, so a Tomcat release notice or a POC target matches them."""
    from s4.report.findings import build_findings
    from s4.report.model import normalise_hosts
    facts = {"schema": 1, "distro": "debian-13", "os": {"id": "debian", "version": "13", "version_full": "13.1"},
             "packages": [{"name": "openjdk-21-jre-headless", "version": "21.0.8+9-1~deb13u1", "manager": "dpkg",
                           "origin": "debian"},
                          {"name": "tomcat10", "version": "10.1.40-1~deb13u1", "manager": "dpkg", "origin": "debian"}],
             "components": [{"product": "java", "version": "21.0.8", "raw_version": "21.0.8+9-1~deb13u1",
                             "kind": "runtime", "source": "dpkg", "package": "openjdk-21-jre-headless"},
                            {"product": "apache-tomcat", "version": "10.1.40", "raw_version": "10.1.40-1~deb13u1",
                             "kind": "appserver", "source": "dpkg", "package": "tomcat10"}],
             "sites": []}
    hosts = normalise_hosts([{"inventory_hostname": "internal-01", "s4_service": "internal",
                              "ansible_facts": {"s4_software": facts}}])
    findings, _ = build_findings(hosts, engine, AS_OF, 180)
    products = {f["product"] for f in findings}
    assert {"eclipse-temurin", "tomcat", "debian"} <= products and not {"java", "apache-tomcat"} & products
