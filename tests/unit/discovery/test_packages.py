"""Package databases and os-release parsing on captured inputs (lab base images) and documented formats."""

from __future__ import annotations

import pytest
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_components as comp
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_packages as pk


def _status(fixtures, name):
    return pk.parse_dpkg_status((fixtures / "dpkg" / f"status-{name}").read_text())


@pytest.mark.parametrize(
    ("suite", "count", "python", "openssl_pkg", "openssl"),
    [
        ("bullseye", 171, "3.9.2", "libssl1.1", "1.1.1w"),
        ("bookworm", 182, "3.11.2", "libssl3", "3.0.22"),
        ("trixie", 163, "3.13.5", "libssl3t64", "3.5.9"),
    ],
)
def test_dpkg_status_of_lab_base_images(fixtures, suite, count, python, openssl_pkg, openssl):
    pkgs = _status(fixtures, suite)
    text = (fixtures / "dpkg" / f"status-{suite}").read_text()
    assert len(pkgs) == count == text.count("Status: install ok installed")
    by = {p["name"]: p for p in pkgs}
    assert by["base-files"]["manager"] == "dpkg"
    assert by["base-files"]["arch"] == "amd64"
    # source package with a version in parentheses is reduced to the name
    assert by[openssl_pkg]["source"] == "openssl"
    comps = {c["product"]: c for c in comp.components_from_packages(pkgs, lambda _p: False)}
    assert comps["python"]["version"] == python
    assert comps["openssl"]["version"] == openssl
    assert comps["openssl"]["package"] == openssl_pkg
    assert "php" not in comps and "nginx" not in comps


def test_dpkg_web_stack_components(fixtures):
    """status captured from a bullseye container with nginx, apache2, php7.4 (fpm, cli, mod_php), redis, memcached."""
    pkgs = _status(fixtures, "bullseye-web")
    comps = comp.components_from_packages(pkgs, lambda p: p in ("/usr/sbin/php-fpm7.4", "/usr/sbin/nginx"))
    by = {c["product"]: c for c in comps}
    php = by["php"]
    assert (php["version"], php["raw_version"], php["package"]) == ("7.4.33", "7.4.33-1+deb11u12", "php7.4-fpm")
    assert php["details"]["sapis"] == ["fpm", "cli", "apache2handler"]
    assert php["path"] == "/usr/sbin/php-fpm7.4"
    assert php["evidence"] == "dpkg: php7.4-fpm 7.4.33-1+deb11u12"
    assert [c["product"] for c in comps].count("php") == 1  # php-common (2:76) is not a PHP version
    assert by["nginx"]["version"] == "1.18.0" and by["nginx"]["package"] == "nginx-light"
    assert by["nginx"]["path"] == "/usr/sbin/nginx"
    assert by["apache-http-server"]["version"] == "2.4.67"
    assert by["redis"]["version"] == "6.0.16" and by["redis"]["raw_version"] == "5:6.0.16-1+deb11u9"
    assert by["memcached"]["version"] == "1.6.9"
    assert {c["kind"] for c in comps} >= {"webserver", "runtime", "cache", "library"}


def test_dpkg_skips_not_installed_and_reads_continuations():
    text = (
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0-1\nArchitecture: amd64\n\n"
        "Package: php8.2-fpm\nStatus: install ok installed\nArchitecture: amd64\nSource: php8.2\n"
        "Version: 8.2.26-1~deb12u1\nMaintainer: Debian PHP Maintainers <team+pkg-php@tracker.debian.org>\n"
        "Description: server-side scripting\n multi-line\n .\n description\n\n"
        "Package: php8.3-fpm\nStatus: install ok installed\nArchitecture: amd64\n"
        "Version: 8.3.14-1+0~20241122.58+debian12~1.gbp2a7e4a\nMaintainer: Debian PHP <x@example.org>\n"
    )
    pkgs = pk.parse_dpkg_status(text)
    assert [p["name"] for p in pkgs] == ["php8.2-fpm", "php8.3-fpm"]
    assert pkgs[0]["origin"] == "debian" and pkgs[0]["source"] == "php8.2"
    assert pkgs[1]["origin"] == "sury"
    comps = comp.components_from_packages(pkgs, lambda _p: False)
    assert [(c["product"], c["version"]) for c in comps] == [("php", "8.2.26"), ("php", "8.3.14")]


def test_rpm_query_output(fixtures):
    pkgs = pk.parse_rpm_qa((fixtures / "rpm" / "rpm-qa.txt").read_text())
    by = {p["name"]: p for p in pkgs}
    assert by["nginx"]["version"] == "1:1.20.1-14.el9_2.1"
    assert by["httpd"]["version"] == "2.4.57-5.el9"
    assert by["php-fpm"]["source"] == "php" and by["python3"]["source"] == "python3.9"
    assert by["redis"]["origin"].startswith("Remi")
    assert by["gpg-pubkey"]["arch"] is None
    comps = {c["product"]: c for c in comp.components_from_packages(pkgs, lambda _p: False)}
    assert comps["nginx"]["version"] == "1.20.1"
    assert comps["php"]["version"] == "8.0.30"
    assert comps["php"]["details"]["sapis"] == ["fpm", "cli"]
    assert comps["mariadb"]["version"] == "10.5.22"
    assert comps["openssl"]["version"] == "3.0.7"
    assert comps["redis"]["source"] == "rpm"


def test_apk_installed_db(fixtures):
    pkgs = pk.parse_apk_installed((fixtures / "apk" / "installed").read_text())
    assert [p["name"] for p in pkgs] == ["musl", "nginx", "php82-fpm", "libssl3"]
    assert pkgs[2]["source"] == "php82" and pkgs[2]["version"] == "8.2.26-r0"
    comps = {c["product"]: c for c in comp.components_from_packages(pkgs, lambda _p: False)}
    assert comps["nginx"]["version"] == "1.24.0"
    assert comps["php"]["version"] == "8.2.26" and comps["php"]["details"]["sapis"] == ["fpm"]
    assert comps["openssl"]["version"] == "3.1.7"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1:10.5.29-0+deb11u1", "10.5.29"),
        ("3.5.1+dfsg+~3.5.5-7", "3.5.1"),
        ("1.1.1w-0+deb11u1", "1.1.1w"),
        ("17.0.16+8-1~deb12u1", "17.0.16"),
        ("v20.19.2", "20.19.2"),
        ("2:7.4+76", "7.4"),
        ("garbage", None),
        (None, None),
    ],
)
def test_upstream_version(raw, expected):
    assert pk.upstream_version(raw) == expected


@pytest.mark.parametrize(("suite", "version", "codename"), [("bullseye", "11", "bullseye"),
                                                             ("bookworm", "12", "bookworm"),
                                                             ("trixie", "13", "trixie")])
def test_os_release_of_lab_images(fixtures, suite, version, codename):
    rel = pk.parse_os_release((fixtures / "os" / f"os-release-{suite}").read_text())
    os_fact, distro = pk.os_facts(rel, "6.1.0-test", f"{version}.4\n")
    assert os_fact["id"] == "debian" and os_fact["version"] == version and os_fact["codename"] == codename
    assert os_fact["version_full"] == f"{version}.4"
    assert distro == f"debian-{version}"
    assert comp.os_component(os_fact)["product"] == "debian"


def test_os_release_ubuntu_keeps_its_numbering():
    rel = pk.parse_os_release('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nVERSION_CODENAME=jammy\n')
    os_fact, distro = pk.os_facts(rel, "k")
    assert distro == "ubuntu-22.04" and os_fact["codename"] == "jammy"
