"""The distro part of the catalog against its sources: readers, generator, --check, and >= 30 sampled entries.

The sources are cut into fixtures/sources/ (see its README): tests never read ../shared or /usr/share. Each sample
is checked three ways: the value in the cut source file (read here independently of the generator), the value the
generator produces from the fixtures, and the value in the committed catalog (s4/data/catalog/distros.yaml).
"""

from __future__ import annotations

import ast
import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from s4.lifecycle import Engine
from s4.lifecycle.catalog import Catalog, default_catalog_path, product_from_json
from s4.lifecycle.catalog_sources import (
    DistroSources,
    SourceError,
    generate_distros,
    plain_text,
    read_distro_info,
    read_redhat,
    read_security_support,
)
from s4.lifecycle.catalog_update import _aliases, main, update

FIX = Path(__file__).parent / "fixtures"
SRC = FIX / "sources"
CAT = default_catalog_path()


# ------------------------------------------------------------------------------------------ source values


def _redhat_end(stream_name: str, major: int) -> str:
    """End date of an Application Stream in the cut Red Hat files, read here with a plain ast walk."""
    ends = set()
    for f in ("modules.py", "packages.py"):
        for node in ast.walk(ast.parse((SRC / "redhat" / f).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AppStreamEntity":
                kw = {k.arg: k.value for k in node.keywords}
                if ast.literal_eval(kw["application_stream_name"]) != stream_name:
                    continue
                if "application_stream_type" not in kw:  # untyped -debug/-test subpackages
                    continue
                if ast.literal_eval(kw["os_major"]) != major:
                    continue
                d = kw["end_date"]
                assert isinstance(d, ast.Call)
                ends.add(date(*(ast.literal_eval(a) for a in d.args)).isoformat())
    assert len(ends) == 1, (stream_name, major, ends)
    return ends.pop()


def _csv_row(osname: str, version: str) -> dict[str, str]:
    with open(SRC / "distro-info" / f"{osname}.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["version"].replace(" LTS", "") == version:
                return row
    raise AssertionError(f"{osname} {version} not in the fixture")


# (distro, product, cycle, Red Hat application stream name, RHEL major)
RHEL_SAMPLES = [
    ("rhel-8", "php", "7.2", "PHP 7.2", 8), ("rhel-8", "php", "7.3", "PHP 7.3", 8),
    ("rhel-8", "php", "7.4", "PHP 7.4", 8), ("rhel-8", "php", "8.0", "PHP 8.0", 8),
    ("rhel-8", "php", "8.2", "PHP 8.2", 8), ("rhel-9", "php", "8.1", "PHP 8.1", 9),
    ("rhel-9", "php", "8.2", "PHP 8.2", 9), ("rhel-9", "php", "8.3", "PHP 8.3", 9),
    ("rhel-9", "php", "8.0", "PHP 8.0", 9), ("rhel-10", "php", "8.3", "PHP 8.3", 10),
    ("rhel-8", "mysql", "8.0", "MySQL 8.0", 8), ("rhel-8", "mysql", "8.4", "MySQL 8.4", 8),
    ("rhel-9", "mysql", "8.0", "MySQL 8.0", 9),
    ("rhel-8", "mariadb", "10.3", "MariaDB 10.3", 8), ("rhel-8", "mariadb", "10.5", "MariaDB 10.5", 8),
    ("rhel-8", "mariadb", "10.11", "MariaDB 10.11", 8), ("rhel-9", "mariadb", "10.5", "MariaDB 10.5", 9),
    ("rhel-8", "postgresql", "12", "PostgreSQL 12", 8), ("rhel-8", "postgresql", "13", "PostgreSQL 13", 8),
    ("rhel-9", "postgresql", "13", "PostgreSQL 13", 9),
    ("rhel-8", "nginx", "1.14", "NGINX 1.14", 8), ("rhel-8", "nginx", "1.24", "NGINX 1.24", 8),
    ("rhel-9", "nginx", "1.20", "NGINX 1.20", 9),
    ("rhel-8", "perl", "5.26", "Perl 5.26", 8), ("rhel-8", "perl", "5.32", "Perl 5.32", 8),
    ("rhel-8", "ruby", "2.5", "Ruby 2.5", 8),
    ("rhel-9", "redis", "6.2", "Redis 6", 9),
    ("rhel-9", "python", "3.11", "Python 3.11", 9), ("rhel-9", "python", "3.9", "Python 3.9", 9),
    ("rhel-9", "red-hat-build-of-openjdk", "17", "OpenJDK 17", 9),
    ("rhel-9", "red-hat-build-of-openjdk", "8", "OpenJDK 1.8.0", 9),
    ("rhel-9", "nodejs", "22", "Node.js 22", 9),
    ("rhel-8", "apache-http-server", "2.4", "Apache httpd 2.4", 8),
    ("rhel-8", "squid", "4", "Squid 4", 8), ("rhel-8", "vinyl-cache", "6.0", "Varnish 6", 8),
]

# (distro, window, distro-info CSV, version, CSV column)
WINDOW_SAMPLES = [
    ("debian-10", "regular", "debian", "10", "eol"), ("debian-10", "lts", "debian", "10", "eol-lts"),
    ("debian-10", "elts", "debian", "10", "eol-elts"), ("debian-11", "regular", "debian", "11", "eol"),
    ("debian-11", "lts", "debian", "11", "eol-lts"), ("debian-11", "elts", "debian", "11", "eol-elts"),
    ("debian-12", "release", "debian", "12", "release"), ("debian-12", "regular", "debian", "12", "eol"),
    ("debian-12", "lts", "debian", "12", "eol-lts"), ("debian-12", "elts", "debian", "12", "eol-elts"),
    ("debian-13", "lts", "debian", "13", "eol-lts"), ("debian-13", "elts", "debian", "13", "eol-elts"),
    ("ubuntu-18.04", "regular", "ubuntu", "18.04", "eol"), ("ubuntu-18.04", "extended", "ubuntu", "18.04", "eol-esm"),
    ("ubuntu-20.04", "regular", "ubuntu", "20.04", "eol"), ("ubuntu-20.04", "extended", "ubuntu", "20.04", "eol-esm"),
    ("ubuntu-22.04", "regular", "ubuntu", "22.04", "eol"), ("ubuntu-22.04", "extended", "ubuntu", "22.04", "eol-esm"),
    ("ubuntu-24.04", "regular", "ubuntu", "24.04", "eol"), ("ubuntu-24.04", "extended", "ubuntu", "24.04", "eol-esm"),
    ("ubuntu-24.04", "legacy", "ubuntu", "24.04", "eol-legacy"),
    ("ubuntu-26.04", "regular", "ubuntu", "26.04", "eol"), ("ubuntu-26.04", "extended", "ubuntu", "26.04", "eol-esm"),
]


@pytest.fixture(scope="module")
def committed() -> dict:
    return yaml.safe_load((CAT / "distros.yaml").read_text())


@pytest.fixture(scope="module")
def products() -> dict:
    return {f.stem: json.loads(f.read_text()) for f in sorted((CAT / "products").glob("*.json"))}


@pytest.fixture(scope="module")
def fixture_sources() -> DistroSources:
    return DistroSources.read(SRC / "redhat", SRC / "distro-info", SRC / "security-support", "endoflife.date (test)")


@pytest.fixture(scope="module")
def generated(fixture_sources, products) -> dict:
    spec = yaml.safe_load((CAT / "sources" / "distros.in.yaml").read_text())
    policy = yaml.safe_load((CAT / "policy.yaml").read_text())
    problems: list[str] = []
    return generate_distros(spec, products, _aliases(products, policy), fixture_sources, problems)


def test_enough_samples():
    assert len(RHEL_SAMPLES) + len(WINDOW_SAMPLES) >= 30


@pytest.mark.parametrize("did,pid,cycle,stream,major", RHEL_SAMPLES, ids=[f"{s[0]}-{s[1]}-{s[2]}" for s in RHEL_SAMPLES])
def test_rhel_stream_matches_red_hat(committed, generated, did, pid, cycle, stream, major):
    want = _redhat_end(stream, major)
    gen = generated["distros"][did]["ships"][pid][cycle]
    com = committed["distros"][did]["ships"][pid][cycle]
    assert gen["support"] == want and com["support"] == want
    assert stream in com["source"] and "Red Hat Application Streams data (commit 6fb8796f0884" in com["source"]


@pytest.mark.parametrize("did,window,osname,version,col", WINDOW_SAMPLES, ids=[f"{s[0]}-{s[1]}" for s in WINDOW_SAMPLES])
def test_windows_match_distro_info(committed, generated, did, window, osname, version, col):
    want = _csv_row(osname, version)[col]
    assert want  # the fixture has the value
    assert generated["distros"][did]["support"][window] == want
    assert committed["distros"][did]["support"][window] == want
    assert committed["distros"][did]["support"]["source"] == f"distro-info-data 0.58+deb12u6 ({osname}.csv)"


def test_debian_exceptions_match_security_support(committed):
    lines = [ln.split() for ln in (SRC / "security-support" / "security-support-ended.deb12").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    ended = {p[0]: p[2] for p in lines}
    assert len(ended) >= 10
    got = {x["package"]: x["ended"] for x in committed["distros"]["debian-12"]["exceptions"] if "ended" in x}
    assert got == ended
    limited = [ln.split()[0] for ln in (SRC / "security-support" / "security-support-limited").read_text()
               .splitlines() if ln.strip() and not ln.startswith("#")]
    got_l = [x["package"] for x in committed["distros"]["debian-12"]["exceptions"] if x.get("limited")]
    assert got_l == limited
    assert "golang-static-linking" in committed["distros"]["debian-12"]["notes"]["go"]


def test_every_committed_entry_names_its_source(committed):
    assert {s["name"].split(" (")[0] for s in committed["generated_from"]} >= {
        "Red Hat Application Streams data", "distro-info-data", "debian-security-support", "endoflife.date"}
    n = 0
    for did, d in committed["distros"].items():
        assert d["support"]["source"], did
        for pid, cycles in d["ships"].items():
            for cyc, info in cycles.items():
                assert isinstance(info, dict) and info.get("source"), (did, pid, cyc)
                n += 1
    assert n > 300
    assert "verify" not in (CAT / "distros.yaml").read_text().lower()
    assert "verify" not in (CAT / "sources" / "distros.in.yaml").read_text().lower()


# ------------------------------------------------------------------------------------------ facts of issue #15


def test_issue_15_facts():
    cat = Catalog.load()
    rhel9, rhel8 = cat.distros["rhel-9"], cat.distros["rhel-8"]
    assert rhel9.ships["mysql"]["8.0"] == date(2026, 4, 30)
    assert rhel9.ships["php"]["8.2"] == rhel9.ships["php"]["8.3"] == date(2029, 5, 31)
    assert "red-hat-build-of-openjdk" in rhel9.ships and "eclipse-temurin" not in rhel9.ships
    assert rhel9.ships["redis"]["6.2"] == date(2032, 5, 31)
    for pid, cyc in (("perl", "5.26"), ("ruby", "2.5"), ("mariadb", "10.3"), ("postgresql", "12"), ("nginx", "1.24")):
        assert rhel8.ships[pid][cyc] == date(2029, 5, 31), pid  # full-life / until the end of RHEL 8
    deb12 = cat.distros["debian-12"]
    assert set(deb12.ships["bootstrap"]) == {"3", "4", "5"} and "1.8" in deb12.ships["angularjs"]
    assert "1.4" in deb12.ships["clamav"] and "1.4" in cat.distros["debian-13"].ships["clamav"]
    # checked against the bullseye/trixie Packages indices: bullseye has mediawiki 1.35 (not 1.39), clamav 1.4.3
    deb11, deb13 = cat.distros["debian-11"], cat.distros["debian-13"]
    assert set(deb11.ships["mediawiki"]) == {"1.35"} and "1.4" in deb11.ships["clamav"]
    assert set(deb13.ships["bootstrap"]) == {"3", "4", "5"} and "25" in deb13.ships["eclipse-temurin"]
    assert cat.distros["ubuntu-22.04"].package_support_end == date(2027, 6, 1)
    assert cat.distros["ubuntu-24.04"].windows["extended"] == date(2034, 4, 25)
    for did in ("debian-10", "ubuntu-18.04", "ubuntu-26.04", "centos-7", "centos-stream-8", "centos-stream-9",
                "centos-stream-10", "oracle-linux-8", "oracle-linux-9", "cloudlinux-7", "cloudlinux-8",
                "cloudlinux-9", "amazon-linux-2", "amazon-linux-2023"):
        assert cat.distros[did].package_support_end is not None, did
    # a rebuild never outlives its release: CentOS Stream 9 ends 2027-05-31, before RHEL 9's php 8.2 stream
    assert cat.distros["centos-stream-9"].ships["php"]["8.2"] == date(2027, 5, 31)


def test_panel_php_products_and_alt_php_on_cloudlinux():
    e = Engine.load_default()
    for pid in ("ea-php", "alt-php", "plesk-php", "cloudlinux"):
        assert pid in e.catalog.products and e.catalog.products[pid].cycles
    as_of = date(2026, 11, 27)
    # alt-php 7.4 from CloudLinux's repository on CloudLinux 8: patched for the release's life (vendor backports)
    v = e.evaluate("alt-php", "7.4.33", "cloudlinux-8", as_of, packaged=True)
    assert (v.status, v.source, v.support_end) == ("security-only", "distro", date(2029, 5, 31))
    # cPanel's ea-php follows php.net: EOL
    assert e.evaluate("ea-php", "7.4.33", "cloudlinux-8", as_of, packaged=True).status == "eol"
    assert e.evaluate("plesk-php", "8.1.30", "debian-12", as_of, packaged=True).status == "eol"


def test_all_endoflife_products_and_plain_text_labels():
    cat = Catalog.load()
    assert len(cat.products) >= 464
    snapshot = sorted(json.loads((CAT / "manifest.json").read_text())["products"])
    assert len(snapshot) == len(cat.products)
    for pid in ("ansible-core", "dotnet", "rust", "zabbix", "red-hat-build-of-openjdk", "amazon-corretto"):
        assert pid in cat.products, pid
    for p in cat.products.values():
        texts = [p.label, *(v for v in p.labels.values() if v)]
        for c in p.cycles:
            texts += [c.label or "", c.codename or "", *c.custom.values()]
        assert not any(re.search(r"</?[A-Za-z][^>]*>", t) for t in texts), p.id
    debian = cat.products["debian"]
    assert debian.labels["eoes"] == "Debian LTS"


def test_committed_products_validate_strictly():
    for f in sorted((CAT / "products").glob("*.json")):
        product_from_json(json.loads(f.read_text()), str(f), strict=True)


# ------------------------------------------------------------------------------------------ readers and text


@pytest.mark.parametrize("raw,text,links", [
    ('Debian <abbr title="Long Term Support">LTS</abbr>', "Debian LTS", []),
    ("20 (<abbr title='Short Term Support'>STS</abbr>)", "20 (STS)", []),
    ('see <a href="https://x.example/n">notes</a> &amp; more', "see notes & more", ["https://x.example/n"]),
    ("[release notes](https://y.example/r) and https://z.example/a", "release notes and https://z.example/a",
     ["https://y.example/r", "https://z.example/a"]),
    (">=7.4,<8.6", ">=7.4,<8.6", []),   # a version range is not markup
    (None, None, []),
])
def test_plain_text(raw, text, links):
    assert plain_text(raw) == (text, links)


def test_readers_on_fixtures():
    rh = read_redhat(SRC / "redhat")
    assert rh.version == "commit 6fb8796f0884 of 2026-08-21"
    assert rh.systems["9"]["end_date"] == "2032-05-31" and rh.systems["8"]["end_date_els"] == "2032-05-31"
    v, di = read_distro_info(SRC / "distro-info")
    assert v == "0.58+deb12u6" and di["ubuntu"]["22.04"]["eol-esm"] == "2032-04-21"
    v, ended, limited = read_security_support(SRC / "security-support")
    assert v == "1:12+2026.06.30" and ended["deb11"] == [] and any(x["package"] == "golang.*" for x in limited)


def test_untyped_subpackage_dates_are_ignored(generated):
    # python3.11-debug carries 2032-05-31 without a stream type; the stream itself retires 2026-05-31
    assert "python3.11-debug" in (SRC / "redhat" / "packages.py").read_text()
    assert generated["distros"]["rhel-9"]["ships"]["python"]["3.11"]["support"] == "2026-05-31"


def test_reader_errors(tmp_path):
    (tmp_path / "modules.py").write_text("X = [AppStreamEntity(name='php')]\n")
    (tmp_path / "packages.py").write_text("")
    (tmp_path / "systems.py").write_text("")
    with pytest.raises(SourceError):
        read_redhat(tmp_path)
    with pytest.raises(SourceError):
        read_distro_info(tmp_path / "none")


# ------------------------------------------------------------------------------------------ update --check


SPEC = """
families:
  debian: {os_product: debian, support_from: distro-info, package_window: lts, phases: {regular: eol, lts: eoes},
           package_phase: eoes, repos: {php: sury}}
  rhel: {os_product: rhel, support_from: redhat, package_window: maintenance,
         phases: {regular: eoas, maintenance: eol, extended: eoes}, package_phase: eol, repos: {php: Remi}}
distros:
  debian-11:
    label: Debian 11 (bullseye)
    family: debian
    os_cycle: "11"
    aliases: [bullseye]
    security_support: deb11
    ships_source: "test list"
    ships: {php: {"7.4": distro}, apache-http-server: {"2.4": distro}}
  debian-13: {label: Debian 13, family: debian, os_cycle: "13", ships_source: "test list", ships: {php: {"8.4": distro}}}
  rhel-9: {label: RHEL 9, family: rhel, os_cycle: "9", redhat: true}
  rocky-9: {label: Rocky 9, family: rhel, os_cycle: "9", ships_from: rhel-9}
redhat_streams: {PHP: php, Apache httpd: apache-http-server}
"""


@pytest.fixture
def spec_catalog(catdir):
    cat = catdir
    pol = cat / "policy.yaml"
    pol.write_text(pol.read_text().replace("catalog_products: [php, debian, apache-http-server]",
                                           "catalog_products: [php, debian, apache-http-server, rhel]"))
    (cat / "sources").mkdir()
    (cat / "sources" / "distros.in.yaml").write_text(SPEC)
    (cat / "README.md").write_text("hand-written notes, kept by the updater\n")
    return cat


def test_update_generates_distros_and_check_finds_no_difference(spec_catalog, fixture_sources, capsys):
    out: list[str] = []
    update(spec_catalog, src=FIX / "eol", distro_sources=fixture_sources, out=out.append)
    cat = Catalog.load(spec_catalog)
    assert cat.distros["rhel-9"].ships["php"]["8.2"] == date(2029, 5, 31)       # php:8.2 module, RHEL 9
    assert cat.distros["rocky-9"].ships["php"] == cat.distros["rhel-9"].ships["php"]
    assert cat.distros["debian-11"].package_support_end == date(2026, 8, 31)     # distro-info eol-lts
    assert cat.distros["rhel-9"].package_support_end == date(2032, 5, 31)        # systems.py
    assert (spec_catalog / "NOTICE").read_text().count("licence") >= 4
    d = update(spec_catalog, src=FIX / "eol", distro_sources=fixture_sources, check=True, out=out.append)
    assert d["files"] == [] and (spec_catalog / "README.md").read_text().startswith("hand-written")
    # a source changes: --check names the file that would change and writes nothing
    changed = DistroSources(**{**fixture_sources.__dict__})
    changed.distro_info = json.loads(json.dumps(fixture_sources.distro_info))
    changed.distro_info["debian"]["11"]["eol-lts"] = "2026-09-30"
    before = (spec_catalog / "distros.yaml").read_text()
    d = update(spec_catalog, src=FIX / "eol", distro_sources=changed, check=True, out=out.append)
    assert d["files"] == ["changed: distros.yaml"]
    assert (spec_catalog / "distros.yaml").read_text() == before
    assert "changed: distros.yaml" in "\n".join(out)


def test_main_check_exit_code(spec_catalog, tmp_path):
    args = ["--from", str(FIX / "eol"), "--catalog", str(spec_catalog), "--redhat", str(SRC / "redhat"),
            "--distro-info", str(SRC / "distro-info"), "--security-support", str(SRC / "security-support")]
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    (spec_catalog / "distros.yaml").write_text((spec_catalog / "distros.yaml").read_text() + "# edited\n")
    assert main([*args, "--check"]) == 1
    assert main([*args[:-6], "--redhat", str(tmp_path / "none"), "--check"]) == 1   # sources missing: refused
