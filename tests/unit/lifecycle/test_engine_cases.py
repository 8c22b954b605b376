"""Verdict table over the committed catalog: real version strings from the lab hosts (bullseye, bookworm,
trixie) and other estates, at several as-of dates -> expected status, support source and target cycle.

Expected values follow the status rules in s4/lifecycle/README.md from the catalog dates, e.g. Debian 11 packages
are supported until Debian 11 LTS ends (2026-08-31), Debian 12 LTS ends 2028-06-30, Debian 13 LTS 2030-06-30.
"""

from __future__ import annotations

from datetime import date

import pytest

from s4.lifecycle import Engine
from s4.lifecycle.versions import cycle_for_version

A, B, C, D, E = date(2024, 6, 1), date(2025, 6, 1), date(2026, 11, 27), date(2027, 9, 1), date(2028, 3, 1)
ANY = "*"

# (product, raw version, distro, as_of, status, source, target cycle | None | ANY)
CASES = [
    # ---- bullseye (mvps-acme-01, mvps-globex-01): Debian 11 packages, LTS until 2026-08-31
    ("php", "7.4.33-1+deb11u5", "debian-11", A, "security-only", "distro", "7.4"),
    ("php", "7.4.33-1+deb11u5", "debian-11", B, "security-only", "distro", "8.2"),
    ("php", "7.4.33-1+deb11u5", "debian-11", C, "eol", "distro", "8.4"),
    ("php", "7.4.33-1+deb11u5", "debian-11", D, "eol", "distro", "8.5"),
    ("php", "7.4.33", None, A, "eol", "upstream", "8.1"),
    ("php", "7.4.33", None, C, "eol", "upstream", "8.4"),
    ("php", "PHP 7.4.33 (cli) (built: Nov  5 2024)", "debian-11", B, "eol", "upstream", ANY),
    ("mariadb", "1:10.5.29-0+deb11u1", "debian-11", A, "supported", "distro", "10.5"),
    ("mariadb", "1:10.5.29-0+deb11u1", "debian-11", B, "security-only", "distro", ANY),
    ("mariadb", "1:10.5.29-0+deb11u1", "debian-11", C, "eol", "distro", ANY),
    ("mariadb", "10.5.29-MariaDB-0+deb11u1", "debian-11", C, "eol", "distro", ANY),
    ("mariadb", "10.5.29", None, B, "eol-soon", "upstream", ANY),
    ("postgresql", "13.22-0+deb11u1", "debian-11", A, "supported", "distro", "13"),
    ("postgresql", "13.22-0+deb11u1", "debian-11", B, "security-only", "distro", ANY),
    ("postgresql", "13.22-0+deb11u1", "debian-11", C, "eol", "distro", ANY),
    ("nginx", "1.18.0-6.1+deb11u3", "debian-11", A, "security-only", "distro", "1.18"),
    ("nginx", "1.18.0-6.1+deb11u3", "debian-11", C, "eol", "distro", ANY),
    ("nginx", "nginx/1.18.0", None, A, "eol", "upstream", ANY),
    ("apache2", "2.4.62-1~deb11u1", "debian-11", A, "supported", "upstream", "2.4"),
    ("apache2", "2.4.62-1~deb11u1", "debian-11", C, "supported", "upstream", "2.4"),
    ("apache-http-server", "Apache/2.4.62 (Debian)", "debian-11", C, "supported", "upstream", "2.4"),
    ("wordpress", "5.7.11+dfsg1-0+deb11u1", "debian-11", A, "security-only", "distro", ANY),
    ("wordpress", "5.7.11+dfsg1-0+deb11u1", "debian-11", C, "eol", "distro", ANY),
    ("wordpress", "5.7.11", "debian-11", A, "eol", "upstream", ANY),
    ("wordpress", "5.7.11", None, C, "eol", "upstream", ANY),
    ("jquery", "1.12.4", None, A, "eol", "upstream", "3"),
    ("jquery", "1.12.4", None, C, "eol", "upstream", "3"),
    ("jquery", "/*! jQuery v3.5.1 | (c) JS Foundation", None, C, "supported", "upstream", "3"),
    ("jquery", "3.5.1+dfsg+~3.5.5-7", "debian-11", C, "supported", "upstream", "3"),
    ("roundcube", "1.4.15+dfsg.1-1+deb11u4", "debian-11", A, "security-only", "distro", "1.4"),
    ("roundcube", "1.4.15+dfsg.1-1+deb11u4", "debian-11", C, "eol", "distro", ANY),
    ("roundcube", "1.4.15", None, A, "eol", "upstream", ANY),
    ("python", "3.9.2-1+deb11u2", "debian-11", A, "security-only", "distro", ANY),
    ("python", "3.9.2-1+deb11u2", "debian-11", C, "eol", "distro", ANY),
    ("nodejs", "12.22.12~dfsg-1~deb11u4", "debian-11", A, "security-only", "distro", ANY),
    ("nodejs", "12.22.12~dfsg-1~deb11u4", "debian-11", C, "eol", "distro", ANY),
    ("nodejs", "18.20.4-1nodesource1", "debian-11", C, "eol", "upstream", ANY),
    ("openjdk", "11.0.24+8-1~deb11u1", "debian-11", A, "supported", "upstream", ANY),
    ("openjdk", "11.0.24+8-1~deb11u1", "debian-11", C, "supported", "upstream", ANY),
    ("openjdk", "11.0.24+8-1~deb11u1", "debian-11", D, "eol-soon", "upstream", ANY),
    ("java", "17.0.12+7-2~deb11u1", "debian-11", C, "supported", "upstream", ANY),
    ("redis", "5:6.0.16-1+deb11u2", "debian-11", A, "security-only", "distro", ANY),
    ("redis", "5:6.0.16-1+deb11u2", "debian-11", C, "eol", "distro", ANY),
    ("tomcat9", "9.0.43-2~deb11u10", "debian-11", A, "supported", "upstream", ANY),
    ("tomcat9", "9.0.43-2~deb11u10", "debian-11", C, "eol-soon", "upstream", ANY),
    ("tomcat", "9.0.43-2~deb11u10", "debian-11", D, "eol", "upstream", ANY),
    ("openssl", "1.1.1w-0+deb11u1", "debian-11", A, "security-only", "distro", ANY),
    ("openssl", "1.1.1w-0+deb11u1", "debian-11", C, "eol", "distro", ANY),
    ("openssl", "OpenSSL 1.1.1w  11 Sep 2023", None, A, "eol", "upstream", ANY),
    ("php", "8.2.28-1+0~20250313.56+debian11~1.gbp1f5c0a", "debian-11", C, "eol-soon", "upstream", ANY),
    ("php", "7.4.33-1+deb11u5", "debian-99", C, "eol", "upstream", ANY),
    ("debian", "11.11", None, A, "supported", "upstream", "11"),
    ("debian", "11.11", None, B, "security-only", "upstream", ANY),
    ("debian", "11.11", None, C, "eol", "upstream", "12"),
    ("debian", "bullseye", None, C, "eol", "upstream", "12"),
    # ---- bookworm (shared-01, db-01): Debian 12, regular until 2026-07-11, LTS until 2028-06-30
    ("php", "8.2.29-1~deb12u1", "debian-12", B, "security-only", "distro", "8.2"),
    ("php", "8.2.29-1~deb12u1", "debian-12", C, "security-only", "distro", "8.2"),
    ("php", "8.2.29-1~deb12u1", "debian-12", D, "security-only", "distro", ANY),
    ("php", "8.2.29-1~deb12u1", "debian-12", E, "eol-soon", "distro", ANY),
    ("php", "8.2.29", None, C, "eol-soon", "upstream", ANY),
    ("mariadb", "1:10.11.13-0+deb12u1", "debian-12", B, "supported", "distro", "10.11"),
    ("mariadb", "1:10.11.13-0+deb12u1", "debian-12", C, "security-only", "distro", "10.11"),
    ("mariadb", "1:10.11.13-0+deb12u1", "debian-12", E, "eol-soon", "distro", ANY),
    ("postgresql", "15.13-0+deb12u1", "debian-12", B, "supported", "distro", "15"),
    ("postgresql", "15.13-0+deb12u1", "debian-12", C, "security-only", "distro", "15"),
    ("postgres", "psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)", "debian-12", C, "security-only", "distro", ANY),
    ("postgres", "psql (PostgreSQL) 15.13", "debian-12", C, "supported", "upstream", ANY),
    ("nginx", "1.22.1-9+deb12u1", "debian-12", B, "security-only", "distro", ANY),
    ("nginx", "1.22.1-9+deb12u1", "debian-12", C, "security-only", "distro", ANY),
    ("tomcat10", "10.1.34-0+deb12u1", "debian-12", C, "supported", "upstream", "10.1"),
    ("redis", "5:7.0.15-1~deb12u4", "debian-12", B, "security-only", "distro", ANY),
    ("redis", "5:7.0.15-1~deb12u4", "debian-12", C, "security-only", "distro", ANY),
    ("redis", "redis_version:7.0.15", None, C, "eol", "upstream", ANY),
    ("openssl", "3.0.15-1~deb12u1", "debian-12", B, "supported", "distro", ANY),
    ("openssl", "3.0.15-1~deb12u1", "debian-12", C, "security-only", "distro", ANY),
    ("openssl", "OpenSSL 3.0.15 3 Sep 2024", None, C, "eol", "upstream", ANY),
    ("python", "3.11.2-6+deb12u5", "debian-12", B, "security-only", "distro", ANY),
    ("nodejs", "18.19.0+dfsg-6~deb12u2", "debian-12", B, "security-only", "distro", ANY),
    ("nodejs", "18.19.0+dfsg-6~deb12u2", "debian-12", C, "security-only", "distro", ANY),
    ("nodejs", "v18.19.0", None, C, "eol", "upstream", "26"),
    ("wordpress", "6.1.7+dfsg1-0+deb12u1", "debian-12", C, "security-only", "distro", ANY),
    ("roundcube", "1.6.5+dfsg-1+deb12u4", "debian-12", B, "supported", "upstream", ANY),
    ("roundcube", "1.6.5+dfsg-1+deb12u4", "debian-12", C, "security-only", "upstream", ANY),
    ("debian", "12.12", None, C, "security-only", "upstream", "12"),
    ("debian", "12.12", None, B, "supported", "upstream", "12"),
    # ---- trixie (internal-01): Debian 13, regular until 2028-08-09, LTS until 2030-06-30
    # trixie packages never updated in stable carry a bare -N revision: no evidence of the archive on its own
    # (origin given: test_bare_revision_needs_origin)
    ("php", "8.4.11-1", "debian-13", C, "supported", "upstream", "8.4"),
    ("php", "8.4.11-1", "debian-13", D, "security-only", "upstream", "8.4"),
    ("postgresql", "17.6-0+deb13u1", "debian-13", C, "supported", "distro", "17"),
    ("nginx", "1.26.3-3", "debian-13", C, "eol", "upstream", "1.26"),
    ("openssl", "3.5.1-1", "debian-13", C, "supported", "upstream", "3.5"),
    ("apache2", "2.4.65-2", "debian-13", C, "supported", "upstream", "2.4"),
    ("debian", "13.1", None, C, "supported", "upstream", "13"),
    # ---- other estates: Ubuntu, RHEL and rebuilds, app and OS products
    # Ubuntu 22.04 standard support ends 2027-06-01 (distro-info-data ubuntu.csv; was 2027-04-01 from
    # endoflife.date): 186 days after C, so security-only rather than eol-soon
    ("php", "8.1.2-1ubuntu2.20", "ubuntu-22.04", C, "security-only", "distro", ANY),
    ("php", "8.1.2-1ubuntu2.20", "ubuntu-22.04", B, "security-only", "distro", ANY),
    ("mysql", "8.0.42-0ubuntu0.22.04.1", "ubuntu-22.04", B, "security-only", "distro", ANY),
    ("mysql", "8.0.42-0ubuntu0.22.04.1", "ubuntu-22.04", C, "security-only", "distro", ANY),
    ("mysql", "mysqld  Ver 8.0.42 for Linux on x86_64", None, C, "eol", "upstream", "8.4"),
    ("nodejs", "12.22.9~dfsg-1ubuntu3.6", "ubuntu-22.04", B, "eol", "upstream", ANY),
    ("mysql", "5.7.44", None, C, "eol", "upstream", "8.4"),
    ("ubuntu", "22.04.5", None, C, "eol-soon", "upstream", ANY),
    ("rhel", "9.4", None, C, "supported", "upstream", "9"),
    ("almalinux", "8.10", None, C, "security-only", "upstream", "8"),
    ("centos", "7.9.2009", None, C, "eol", "upstream", None),
    ("php", "7.4.33-1.module+el8.10.0+20000+abcdef12", "rhel-8", C, "security-only", "distro", ANY),
    ("php", "8.0.30-1.el9_2", "rhel-9", C, "security-only", "distro", ANY),
    ("php", "8.0.30-1.el9_2", "almalinux-9", C, "security-only", "distro", ANY),
    ("nodejs", "1:20.19.2-1.module+el9.6.0+23131+e3b1f0f3", "rhel-9", C, "eol", "upstream", ANY),
    ("magento", "2.4.6-p3", None, B, "supported", "upstream", ANY),
    ("magento", "2.4.6-p3", None, C, "eol", "upstream", "2.4.8"),
    ("magento", "2.4.7-p5", None, C, "supported", "upstream", ANY),
    ("angularjs", "1.8.3", None, C, "eol", "upstream", None),
    # ---- unknown: never a crash, never a wrong verdict
    ("foo", "1.0", None, C, "unknown", "upstream", None),
    ("php", "banana", None, C, "unknown", "upstream", None),
    ("php", "9.9.1", None, C, "unknown", "upstream", None),
    ("php", "", None, C, "unknown", "upstream", None),
    ("php", None, None, C, "unknown", "upstream", None),
    ("nginx", "nginx/2.0.1", None, C, "unknown", "upstream", None),
    ("", "1.0", None, C, "unknown", "upstream", None),
]


@pytest.fixture(scope="module")
def engine():
    return Engine.load_default()


def test_case_count():
    assert len(CASES) >= 100


@pytest.mark.parametrize("product,raw,distro,as_of,status,source,target", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES])
def test_verdict(engine, product, raw, distro, as_of, status, source, target):
    v = engine.evaluate(product, raw, distro, as_of)
    assert v.status == status, v.reason
    assert v.source == source, v.reason
    assert v.reason
    if target is None:
        assert v.recommended is None
    elif target != ANY:
        assert v.recommended is not None, v.reason
        assert v.recommended.cycle == target, v.recommended
    if status != "unknown":
        assert v.cycle is not None
        if v.support_end is not None:
            assert v.days_left == (v.support_end - as_of).days
    d = v.to_dict()
    assert d["status"] == status and d["as_of"] == as_of.isoformat()


def test_freshness_apache_bullseye(engine):
    v = engine.evaluate("apache2", "2.4.62-1~deb11u1", "debian-11", C)
    assert v.latest_in_cycle == "2.4.68" and v.releases_behind == 6


def test_freshness_is_as_of_aware(engine):
    v = engine.evaluate("php", "7.4.30", None, date(2022, 7, 1))
    assert v.latest_in_cycle == "7.4.30" and v.releases_behind == 0
    v = engine.evaluate("php", "7.4.30", None, date(2023, 1, 1))
    assert v.latest_in_cycle == "7.4.33" and v.releases_behind == 2  # 7.4.31 was never released


def test_php74_distro_dates(engine):
    v = engine.evaluate("php", "7.4.33-1+deb11u5", "debian-11", date(2026, 3, 1))
    assert v.eol == date(2022, 11, 28) and v.distro_end == date(2026, 8, 31)
    assert v.support_end == date(2026, 8, 31) and v.status == "security-only" and v.source == "distro"


def test_eol_soon_window(engine):
    v = engine.evaluate("magento", "2.4.7-p5", None, C, eol_soon_days=200)
    assert v.status == "eol-soon"


# the same trixie packages with the origin the package db gives (dpkg Maintainer @debian.org -> origin debian)
@pytest.mark.parametrize("product,raw,as_of,status,target", [
    ("php", "8.4.11-1", C, "supported", "8.4"), ("php", "8.4.11-1", D, "security-only", "8.4"),
    ("nginx", "1.26.3-3", C, "security-only", "1.26"), ("redis", "5:8.0.2-3", C, "security-only", ANY),
    ("openssl", "3.5.1-1", C, "supported", "3.5"),
])
def test_bare_revision_needs_origin(engine, product, raw, as_of, status, target):
    v = engine.evaluate(product, raw, "debian-13", as_of, origin="debian")
    assert (v.status, v.source) == (status, "distro"), v.reason
    assert target == ANY or v.recommended.cycle == target
    for origin in ("sury", "cPanel, Inc.", "Red Hat, Inc."):
        v = engine.evaluate(product, raw, "debian-13", as_of, origin=origin)
        assert v.source == "upstream" and "is not Debian 13" in v.reason and "archive" in v.reason, v.reason


@pytest.mark.parametrize("raw,distro,credited", [
    ("7.4.33-1+deb11u5", "debian-11", True), ("7.4.33-1+deb11u5", "debian-12", False),  # a leftover of bullseye
    ("7.4.33-1", "debian-11", False),                                                     # self-built / vendor
    ("7.4.33-1+0~20241207.99+debian11~1.gbp8b1e3a", "debian-11", False),                 # deb.sury.org
    ("8.2.26-1~deb12u1", "debian-12", True), ("8.2.26-1+deb12", "debian-12", True),
    ("8.1.2-1ubuntu2.20", "ubuntu-22.04", True), ("8.1.2-1ubuntu2.20", "debian-12", False),
    ("8.0.30-1.module+el8.6.0+16523+f4d1a0d3", "rhel-8", True), ("8.0.30-1.el9_2", "rhel-8", False),
    ("8.0.30-1.el9_2", "rocky-9", True), ("8.1.29-1.cp1198", "rhel-9", False), ("8.3.14-1.el9.remi", "rhel-9", False),
])
def test_distro_credit_from_version_marks(engine, raw, distro, credited):
    v = engine.evaluate("php", raw, distro, C)
    assert v.packaged is credited, v.reason


def test_vendor_package_names_are_never_the_distros(engine):
    # cPanel's EasyApache PHP: a "-1" revision and even an el9 mark do not make it Red Hat's
    comp = {"product": "php", "version": "8.1.29", "raw_version": "8.1.29-1.el9", "source": "rpm", "package": "ea-php81"}
    v = engine.evaluate_component(comp, "rhel-9", C)
    assert not v.packaged and v.source == "upstream", v.reason
    comp = dict(comp, package="php-fpm", origin="Red Hat, Inc.")
    assert engine.evaluate_component(comp, "rhel-9", C).packaged


def test_packaged_override(engine):
    v = engine.evaluate("php", "7.4.33", "debian-11", B, packaged=True)
    assert v.source == "distro"
    v = engine.evaluate("php", "7.4.33-1+deb11u5", "debian-11", B, packaged=False)
    assert v.source == "upstream" and v.status == "eol"


def test_evaluate_component(engine):
    comp = {"product": "php", "version": "7.4.33", "raw_version": "7.4.33-1+deb11u5", "source": "dpkg"}
    v = engine.evaluate_component(comp, "debian-11", B)
    assert (v.status, v.source) == ("security-only", "distro")
    comp = dict(comp, source="binary", raw_version="7.4.33")
    assert engine.evaluate_component(comp, "debian-11", B).source == "upstream"


def test_alternatives(engine):
    alts = engine.evaluate("centos", "7.9.2009", None, C).alternatives
    assert {a["product"] for a in alts} >= {"almalinux", "rocky-linux"}
    alts = engine.evaluate("mysql", "5.7.44", None, C).alternatives
    assert {a["product"] for a in alts} == {"mysql", "mariadb"}
    assert {a["product"] for a in engine.evaluate("angularjs", "1.8.3", None, C).alternatives} >= {"angular", "vue"}
    assert engine.evaluate("jquery", "1.12.4", None, C).alternatives[0]["cycle"] == "3"
    assert engine.evaluate("php", "8.4.11-1", "debian-13", C).alternatives == []


def test_recommend_with_app_constraints(engine):
    wp57 = engine.php_constraints_for_apps([{"product": "wordpress", "version": "5.7.11"}])
    assert wp57 == ["5.6 - 8.0"]
    assert engine.recommend("php", "debian-13", C, constraints={"php": wp57}) is None
    wp68 = engine.php_constraints_for_apps([{"product": "wordpress", "version": "6.8.3"}])
    r = engine.recommend("php", "debian-13", C, constraints={"php": wp68})
    assert r is not None and (r.cycle, r.source) == ("8.4", "distro")
    r = engine.recommend("php", "debian-13", C, constraints={"php": ">=7.4,<8.4"})
    assert r is None  # 8.3 ends 2027-12-31 < 18 months, and 8.4 is excluded
    r = engine.recommend("php", "debian-13", C, constraints={"php": ">=7.4,<8.4"}, min_months=12)
    assert r is not None and r.cycle == "8.3" and "sury" in r.source
    both = engine.php_constraints_for_apps([{"product": "wordpress", "version": "6.8.3"},
                                            {"product": "roundcube", "version": "1.6.5"}])
    assert len(both) == 2


def test_recommend_rhel_installable(engine):
    r = engine.recommend("php", "rhel-9", C)  # the full-life RHEL 9 stream qualifies first
    assert r is not None and (r.cycle, r.source, r.eol) == ("8.0", "distro", date(2032, 5, 31))
    r = engine.recommend("php", "rhel-9", C, constraints={"php": ">=8.3"})  # RHEL 9 php:8.3 stream (Red Hat)
    assert r is not None and (r.cycle, r.source, r.eol) == ("8.3", "distro", date(2029, 5, 31))
    r = engine.recommend("php", "rhel-9", C, constraints={"php": ">=8.5"})  # no RHEL 9 stream: Remi
    assert r is not None and r.cycle == "8.5" and "Remi" in r.source


def test_known_products_and_aliases(engine):
    known = engine.known_products()
    assert len(known) >= 60
    for alias, pid in [("apache2", "apache-http-server"), ("httpd", "apache-http-server"),
                       ("tomcat10", "tomcat"), ("apache-tomcat", "tomcat"), ("postgres", "postgresql"),
                       ("node", "nodejs"), ("openjdk", "eclipse-temurin"), ("java", "eclipse-temurin")]:
        assert engine.resolve(alias) == pid


def test_distro_info(engine):
    info = engine.distro_info("bullseye")
    assert info["id"] == "debian-11" and info["package_support_end"] == "2026-08-31"
    assert info["windows"]["regular"] == "2024-08-14"
    assert engine.distro_info("rocky-9")["ships"]["php"] == ["8.0", "8.1", "8.2", "8.3", "8.4"]  # Red Hat data
    assert engine.distro_info("nope") is None


def test_cache_returns_same_object(engine):
    assert engine.evaluate("php", "8.2.29-1~deb12u1", "debian-12", C) is engine.evaluate(
        "php", "8.2.29-1~deb12u1", "debian-12", C)


def test_engine_cycle_for_is_the_shared_matcher(engine):
    """Engine.cycle_for and the generator's cycle_for_version agree on every cycle of every catalog product."""
    checked = 0
    for prod in engine.catalog.products.values():
        for cyc in prod.cycles[:5]:
            for version in (cyc.cycle, cyc.cycle + ".99", cyc.cycle + ".0-1+deb12u1"):
                got = engine.cycle_for(prod, version)
                key = cycle_for_version(version, prod.index)
                assert (got.cycle if got else None) == key, (prod.id, version)
                checked += 1
    assert checked > 100
