"""Version parsing and ordering: Debian (against dpkg when present), RPM, upstream keys, vendor strings."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s4.lifecycle.versions import (
    DebVersion,
    VersionError,
    cycle_for_version,
    deb_compare,
    extract_version,
    looks_distro_packaged,
    rpm_compare,
    rpmvercmp,
    upstream_key,
)

# Debian version strategy: [epoch:]upstream[-revision] with the characters dpkg allows
_up_chars = st.sampled_from(list("0123456789") * 3 + list("abz.+~"))
_rev_chars = st.sampled_from(list("0123456789") * 3 + list("abdu.+~"))
deb_versions = st.builds(
    lambda ep, first, rest, rev: (f"{ep}:" if ep is not None else "") + first + rest + (f"-{rev}" if rev else ""),
    st.one_of(st.none(), st.integers(0, 3)),
    st.sampled_from(list("0123456789")),
    st.text(_up_chars, max_size=8),
    st.one_of(st.none(), st.text(_rev_chars, min_size=1, max_size=6)),
)
rpm_strings = st.text(st.sampled_from(list("0123456789") * 3 + list("abZ.~^_")), min_size=1, max_size=10)


@given(deb_versions, deb_versions)
def test_deb_antisymmetric(a, b):
    assert deb_compare(a, b) == -deb_compare(b, a)


@given(deb_versions)
def test_deb_reflexive_and_roundtrip(a):
    assert deb_compare(a, a) == 0
    assert deb_compare(str(DebVersion.parse(a)), a) == 0


@given(deb_versions, deb_versions, deb_versions)
def test_deb_transitive(a, b, c):
    ab, bc = deb_compare(a, b), deb_compare(b, c)
    if ab <= 0 and bc <= 0:
        assert deb_compare(a, c) <= 0


@given(deb_versions)
def test_deb_tilde_sorts_before_everything(a):
    up = DebVersion.parse(a)
    if not up.revision:
        assert deb_compare(a + "~rc1", a) < 0


@given(rpm_strings, rpm_strings)
def test_rpm_antisymmetric(a, b):
    assert rpmvercmp(a, b) == -rpmvercmp(b, a)


@given(rpm_strings, rpm_strings, rpm_strings)
def test_rpm_transitive(a, b, c):
    if rpmvercmp(a, b) <= 0 and rpmvercmp(b, c) <= 0:
        assert rpmvercmp(a, c) <= 0


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg not installed")
@settings(max_examples=150, deadline=None)
@given(deb_versions, deb_versions)
def test_deb_agrees_with_dpkg(a, b):
    mine = deb_compare(a, b)
    lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0
    eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b], check=False).returncode == 0
    assert (mine < 0) == lt
    assert (mine == 0) == eq


@pytest.mark.parametrize("a,b,expected", [
    ("1.0", "1.0", 0), ("1.0~rc1", "1.0", -1), ("1.0", "1.0+deb11u1", -1), ("1:1.0", "2.0", 1),
    ("7.4.33-1+deb11u4", "7.4.33-1+deb11u5", -1), ("2.4.62-1~deb11u1", "2.4.62-1", -1),
    ("1.18.0-6.1+deb11u3", "1.18.0-6.1+deb11u4", -1), ("1:10.5.29-0+deb11u1", "10.11.6-0+deb12u1", 1),
    ("2.4.62-1~deb12u2", "2.4.62-1~bpo12+1", 1), ("1.0-1~bpo11+1", "1.0-1", -1), ("1.0a", "1.0", 1),
    ("1.0", "1.0.0", -1), ("1.2.3-0ubuntu0.22.04.1", "1.2.3-0ubuntu0.22.04.2", -1),
])
def test_deb_known(a, b, expected):
    assert deb_compare(a, b) == expected


@pytest.mark.parametrize("a,b,expected", [
    ("1.0", "1.0", 0), ("1.0", "1.0.1", -1), ("1.0a", "1.0", 1), ("1.0~rc1", "1.0", -1), ("1.0^", "1.0", 1),
    ("1.0^git1", "1.0.1", -1), ("2.0", "10", -1), ("1.01", "1.1", 0), ("a", "1", -1), ("el8", "el9", -1),
    ("1.0_1", "1.0.1", 0),
])
def test_rpmvercmp_known(a, b, expected):
    assert rpmvercmp(a, b) == expected


@pytest.mark.parametrize("a,b,expected", [
    ("8.0.30-1.module+el8.6.0+16523+f4d1a0d3", "8.0.30-1.module+el8.7.0+17000+aaaa", -1),
    ("1:2.4.37-62.el8", "2.4.51-1.el8", 1), ("3:10.5.27-1.el9_5", "3:10.5.27-1.el9_4", 1),
    ("2.4.62-4.el9_6.4", "2.4.62-4.el9_6.4", 0), ("1.20.1", "1.20.1-22.el9", 0),
])
def test_rpm_compare_known(a, b, expected):
    assert rpm_compare(a, b) == expected


@pytest.mark.parametrize("raw,expected", [
    ("1:10.5.29-0+deb11u1", "10.5.29"), ("7.4.33-1+deb11u5", "7.4.33"), ("2.4.62-1~deb11u1", "2.4.62"),
    ("10.5.29-MariaDB-0+deb11u1", "10.5.29"), ("5.5.5-10.11.6-MariaDB-0+deb12u1", "10.11.6"),
    ("nginx/1.18.0", "1.18.0"), ("nginx version: nginx/1.22.1", "1.22.1"), ("Apache/2.4.62 (Debian)", "2.4.62"),
    ("Server version: Apache/2.4.65 (Debian)", "2.4.65"), ("PHP 7.4.33 (cli) (built: Nov  5 2024)", "7.4.33"),
    ("redis_version:7.0.15", "7.0.15"), ("Redis server v=6.0.16 sha=00000000:0", "6.0.16"),
    ("OpenSSL 3.0.15 3 Sep 2024", "3.0.15"), ("OpenSSL 1.1.1w  11 Sep 2023", "1.1.1w"),
    ("1.1.1w-0+deb11u1", "1.1.1w"), ("psql (PostgreSQL) 13.16 (Debian 13.16-0+deb11u1)", "13.16"),
    ("13.22-0+deb11u1", "13.22"), ("Python 3.9.2", "3.9.2"), ("v18.19.0", "18.19.0"),
    ("12.22.12~dfsg-1~deb11u4", "12.22.12"), ("5.7.11+dfsg1-0+deb11u1", "5.7.11"),
    ("8.0.30-1.module+el8.6.0+16523+f4d1a0d3", "8.0.30"), ("3:10.5.27-1.el9_5", "10.5.27"),
    ("8.0.42-0ubuntu0.22.04.1", "8.0.42"), ("mysqld  Ver 8.0.36 for Linux on x86_64", "8.0.36"),
    ("2.4.7-p3", "2.4.7-p3"), ("4:5.0.4+dfsg2-2+deb11u1", "5.0.4"), ("5:7.0.15-1~deb12u4", "7.0.15"),
    ("jQuery JavaScript Library v1.12.4", "1.12.4"), ("/*! jQuery v3.7.1 | (c) OpenJS", "3.7.1"),
    ("11.11", "11.11"), ("8.2", "8.2"), (8.2, "8.2"),
])
def test_extract_version(raw, expected):
    assert extract_version(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ('openjdk version "17.0.12" 2024-07-16', "17.0.12"), ("11.0.24+8-1~deb11u1", "11.0.24"),
    ("1.8.0_422", "8.0.422"), ("8u422-b05-1~deb9u1", "8.0.422"), ("1:17.0.15.0.6-2.el9", "17.0.15.0.6"),
])
def test_extract_java(raw, expected):
    assert extract_version(raw, "eclipse-temurin") == expected


@pytest.mark.parametrize("raw", ["", "   ", "banana", "latest", None, True, ["1.0"], {"v": 1}])
def test_extract_version_rejects(raw):
    with pytest.raises(VersionError):
        extract_version(raw)


@given(st.text(max_size=30))
def test_extract_never_crashes(s):
    try:
        out = extract_version(s)
    except VersionError:
        return
    upstream_key(out)  # whatever comes out is orderable


@pytest.mark.parametrize("a,b", [("1.1.1", "1.1.1w"), ("2.4.7", "2.4.7-p3"), ("8.4.0rc1", "8.4.0"),
                                 ("7.4.9", "7.4.10"), ("8u402", "8u422"), ("3.0", "3.0.1")])
def test_upstream_key_order(a, b):
    assert upstream_key(a) < upstream_key(b)


def test_upstream_key_trailing_zero():
    assert upstream_key("3.0") == upstream_key("3.0.0") == upstream_key("3")


@given(st.lists(st.integers(0, 50), min_size=1, max_size=4), st.lists(st.integers(0, 50), min_size=1, max_size=4))
def test_upstream_key_matches_numeric_tuples(a, b):
    va, vb = ".".join(map(str, a)), ".".join(map(str, b))

    def strip(t):
        t = list(t)
        while len(t) > 1 and t[-1] == 0:
            t.pop()
        return tuple(t)
    assert (upstream_key(va) < upstream_key(vb)) == (strip(a) < strip(b))


@pytest.mark.parametrize("raw,expected", [("7.4.33-1+deb11u5", True), ("8.0.30-1.el8", True), ("7.4.33", False),
                                          ("2.4.62-1~deb11u1", True), ("nginx/1.18.0", False)])
def test_looks_distro_packaged(raw, expected):
    assert looks_distro_packaged(raw) is expected


@pytest.mark.parametrize("raw,product,expected", [
    ("php-fpm-8.0.30-1.el9_2.x86_64", None, "8.0.30"), ("nginx-1.20.1-14.el9_2.1.x86_64", "nginx", "1.20.1"),
    ("ea-php74-7.4.33-1.1.1.cpanel.x86_64", "php", "7.4.33"),
    ("mariadb11.8-server-3:11.8.6-2.el10_2.alma.1.x86_64", "mariadb", "11.8.6"),
    ("Debian GNU/Linux 12 (bookworm)", "debian", "12"), ("Amazon Linux 2", "amazon-linux", "2"),
    ("Ubuntu 22.04.4 LTS", "ubuntu", "22.04.4"), ("Rocky Linux 8.10 (Green Obsidian)", "rocky-linux", "8.10"),
    ("Bootstrap v3.3.7 (http://getbootstrap.com)", "bootstrap", "3.3.7"), ("@license AngularJS v1.8.2", None, "1.8.2"),
    ("/*! jQuery UI - v1.12.1 - 2016-09-14", "jquery-ui", "1.12.1"), ("db version v7.0.12", "mongodb", "7.0.12"),
    ("This is perl 5, version 36, subversion 0 (v5.36.0) built for x86_64-linux", "perl", "5.36.0"),
    ("ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux-gnu]", "ruby", "3.1.2"),
    ("go version go1.22.5 linux/amd64", "go", "1.22.5"),
    ("mysql  Ver 15.1 Distrib 10.5.26-MariaDB, for debian-linux-gnu (x86_64) using  EditLine wrapper", "mariadb",
     "10.5.26"),
    ("mysql  Ver 8.0.21-0ubuntu0.20.04.3 for Linux on x86_64 ((Ubuntu))", "mysql", "8.0.21"),
    ("Server: nginx/1.24.0 PHP/8.2.20", "php", "8.2.20"), ("Server: nginx/1.24.0 PHP/8.2.20", "nginx", "1.24.0"),
    ("ii  php7.4-fpm  7.4.33-1+deb11u5 amd64  server-side, HTML-embedded scripting language", "php", "7.4.33"),
    ("Magento/2.4.7-p3 (Community)", "magento", "2.4.7-p3"),
])
def test_extract_version_as_tools_print(raw, product, expected):
    assert extract_version(raw, product) == expected


@pytest.mark.parametrize("raw", ["Debian GNU/Linux trixie/sid", "PHP", "version: unknown", "2.x", "1.2.3.4.5" * 2000])
def test_extract_version_no_number_or_bounded(raw):
    try:
        out = extract_version(raw)
    except VersionError:
        return
    upstream_key(out)  # long input is cut, never slow or crashing


# ------------------------------------------------------------------ the one cycle matcher (engine + generator)


@pytest.mark.parametrize(("version", "cycles", "depth", "want"), [
    ("3.7.1", {"1", "2", "3"}, None, "3"),                 # jQuery: major cycles
    ("8.2.20", {"8.1", "8.2", "8"}, None, "8.2"),          # longest prefix wins
    ("8.2.20", {"8.1", "8.2", "8"}, 1, "8"),               # max_depth caps the prefix
    ("2.4.62-1~deb12u2", {"2.4"}, 2, "2.4"),
    ("9.9", {"8.2"}, None, None),                          # no cycle
    ("not a version", {"1"}, None, None),                  # unparsable: no cycle, no exception
])
def test_cycle_for_version(version, cycles, depth, want):
    assert cycle_for_version(version, cycles, depth) == want

