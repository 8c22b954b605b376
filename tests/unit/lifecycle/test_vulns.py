"""Front-end library vulnerabilities from the Retire.js repository (s4.lifecycle.vulns, issue #15 section 3)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from s4.lifecycle import vulns
from s4.lifecycle.vulns import NONE_KNOWN, UNKNOWN, VULNERABLE, Advisory, VulnDataError, VulnDB

FIXTURE = Path(__file__).parent / "fixtures" / "retirejs"


@pytest.fixture(scope="module")
def db() -> VulnDB:
    return vulns.default_db()


# ------------------------------------------------------------------ the lab's acme-blog (facts of mvps-acme-01)
# Expected ids and fixed versions read from Retire.js jsrepository-v4.json (commit fd8df0d6, 2026-08-22).
ACME = [
    ("lodash", "4.17.20", "high", "4.18.0",
     {"CVE-2021-23337", "CVE-2026-4800", "GHSA-35jh-r3h4-6jhm",      # < 4.17.21 command injection
      "CVE-2020-28500", "GHSA-29mw-wpgm-hmr9",                       # >= 4.0.0 < 4.17.21 ReDoS
      "CVE-2025-13465", "CVE-2026-2950", "GHSA-xxjr-mmjv-4gpg",      # >= 4.0.0 < 4.17.23 prototype pollution
      "GHSA-f23m-r3pf-42rh",                                         # >= 0 < 4.18.0
      "GHSA-r5fr-rjxr-66jc"}),                                       # >= 4.0.0 < 4.18.0 _.template injection
    ("moment", "2.27.0", "high", "2.29.4",
     {"CVE-2022-24785", "GHSA-8hfj-j24r-96c4",                       # < 2.29.2 path traversal
      "CVE-2022-31129", "GHSA-wc69-rhjr-hc9g"}),                     # >= 2.18.0 < 2.29.4 ReDoS
    ("underscore", "1.8.3", "high", "1.13.8",
     {"CVE-2021-23358", "GHSA-cf4h-3jhx-xvhq",                       # >= 1.3.2 < 1.12.1 code injection
      "CVE-2026-27601", "GHSA-qpx9-hpmf-5gmw"}),                     # >= 0 < 1.13.8
]


@pytest.mark.parametrize(("product", "version", "severity", "fixed", "ids"), ACME)
def test_acme_libraries_advisories_and_fixed_versions(db, product, version, severity, fixed, ids):
    v = db.check(product, version)
    assert v.status == VULNERABLE
    assert set(v.ids) == ids
    assert v.severity == severity
    assert v.fixed_version == fixed
    assert db.check(product, fixed).status == NONE_KNOWN
    d = v.to_dict()
    assert d["fixed_version"] == fixed and d["count"] == len(v.advisories)
    assert fixed in v.reason and "Retire.js fd8df0d6f1" in v.reason


def test_acme_blog_libraries_from_the_lab_facts(db):
    """Every library discovery reported for the lab's acme-blog (sites[].libraries, docs/CONTRACTS.md §1, cut from
    the gathered facts) gets a verdict; the three the issue names are vulnerable with these fixes, the others not."""
    facts = json.loads((FIXTURE / "lab_acme_blog_libraries.json").read_text(encoding="utf-8"))
    got = {(lib["product"], lib["version"]): db.check(lib["product"], lib["version"]) for lib in facts["libraries"]}
    assert {k: (v.status, v.fixed_version) for k, v in got.items()} == {
        ("lodash", "4.17.20"): (VULNERABLE, "4.18.0"),
        ("moment", "2.27.0"): (VULNERABLE, "2.29.4"),
        ("underscore", "1.8.3"): (VULNERABLE, "1.13.8"),
        ("jquery-ui", "1.12.1"): (VULNERABLE, "1.13.2"),     # CVE-2021-41182/41183/41184, CVE-2022-31160
        ("jquery", "3.5.1"): (NONE_KNOWN, None),
        ("jquery-migrate", "3.3.2"): (NONE_KNOWN, None),
        ("react", "16.13.1"): (NONE_KNOWN, None),
    }


@pytest.mark.parametrize(("product", "version", "fixed"), [
    ("jquery", "1.12.4", "3.5.0"),       # EOL marker < 2.999.999 moves the fix past 2.x; < 3.5.0 CVE-2020-11022/11023
    ("jquery", "3.4.1", "3.5.0"),
    ("jquery-ui", "1.12.1", "1.13.2"),
    ("bootstrap", "3.3.7", "4.3.1"),     # 3.x end-of-life marker (< 3.999.999), then 4.0.0-4.3.0 advisories
])
def test_fixed_versions_across_lines(db, product, version, fixed):
    v = db.check(product, version)
    assert v.status == VULNERABLE and v.fixed_version == fixed


def test_no_fixed_version_exists_is_said(db):
    """AngularJS: CVE-2022-25844 covers >= 1.7.0 < 999.999.999 (every later release), and AngularJS is EOL."""
    v = db.check("angularjs", "1.8.3")
    assert v.status == VULNERABLE
    assert v.fixed_version is None
    assert "no fixed version exists" in v.fixed_note and "CVE-2022-25844" in v.fixed_note
    assert "no fixed version exists" in v.reason


@pytest.mark.parametrize(("product", "version"), [("jquery", "3.5.1"), ("jquery", "3.7.1"), ("react", "16.13.1"),
                                                  ("jquery-migrate", "3.3.2")])
def test_versions_without_advisories(db, product, version):
    v = db.check(product, version)
    assert v.status == NONE_KNOWN and not v.advisories and v.fixed_version is None and v.severity is None


# ------------------------------------------------------------------ names and untrusted versions


@pytest.mark.parametrize(("product", "component"), [
    ("moment", "moment.js"), ("underscore", "underscore.js"), ("lodash", "lodash"), ("jquery", "jquery"),
    ("JQuery", "jquery"), ("jquery-ui", "jquery-ui"), ("angularjs", "angularjs"), ("angular", "@angular/core"),
    ("tinymce", "tinyMCE"), ("bootstrap", "bootstrap"), ("dompurify", "DOMPurify"),
    ("popper", None), ("php", None), ("", None), (None, None),
])
def test_product_to_component(db, product, component):
    assert db.component_for(product) == component


def test_every_explicit_mapping_names_a_component(db):
    assert set(vulns.PRODUCT_COMPONENTS.values()) <= set(db.components)


@pytest.mark.parametrize("version", [None, "", "x", "1.2.3<script>", "../../etc", "1" * 80, "-1.2", 42])
def test_unusable_versions_are_unknown_not_errors(db, version):
    v = db.check("lodash", version)
    assert v.status == UNKNOWN and v.reason


def test_leading_v_and_unknown_library(db):
    assert db.check("lodash", "v4.17.20").fixed_version == "4.18.0"
    v = db.check("popper", "2.0.0")
    assert v.status == UNKNOWN and "no vulnerability data" in v.reason


# ------------------------------------------------------------------ Retire.js matching rules


def adv(below=None, at=None, excludes=(), sev="medium", cves=(), ghsa=None, refs=()):
    return Advisory("lib", below, at, tuple(excludes), sev, tuple(cves), ghsa, tuple(refs), "", (), ())


@pytest.mark.parametrize(("a", "version", "expected"), [
    (adv(below="1.2.0"), "1.1.9", True),
    (adv(below="1.2.0"), "1.2.0", False),                    # below is exclusive
    (adv(below="1.2.0"), "1.2", False),                      # 1.2 == 1.2.0
    (adv(below="1.2.0", at="1.0.0"), "1.0.0", True),         # atOrAbove is inclusive
    (adv(below="1.2.0", at="1.0.0"), "0.9.9", False),
    (adv(at="1.7.0"), "99.0.0", True),                       # no below: every version from atOrAbove on
    (adv(), "0.0.1", True),                                  # neither bound: every version
    (adv(below="2.0.0", excludes=["1.5.0"]), "1.5.0", False),
    (adv(below="2.0.0", excludes=["1.5.0"]), "1.5.1", True),
    (adv(below="1.10.0"), "1.9.3", True),                    # numeric, not string, order
    (adv(below="1.10.0"), "1.10.1", False),
])
def test_retire_matching_rule(a, version, expected):
    assert a.applies(version) is expected


def test_info_only_advisories_count_like_the_others():
    """Entries with no CVE/GHSA (a Retire.js retid or an upstream issue) are vulnerabilities in Retire.js too."""
    db = VulnDB({"lib": (adv(below="1.5.0", refs=(("retid", "12"),)), adv(below="1.2.0", cves=["CVE-2020-1234"]))})
    v = db.check("lib", "1.3.0")
    assert v.status == VULNERABLE and v.ids == ["retid 12"] and v.fixed_version == "1.5.0"


def test_first_fixed_skips_covered_candidates_and_markers():
    advs = (adv(below="2.999.999"),                       # end-of-life marker: every 1.x and 2.x
            adv(below="3.5.0", at="1.2.0"),
            adv(below="3.1.0"),
            adv(below="4.0.0-beta.2", at="4.0.0-beta"))   # a pre-release range: never a target
    assert vulns.first_fixed(advs, "1.12.4") == ("3.5.0", "")
    assert vulns.first_fixed(advs, "3.4.9") == ("3.5.0", "")
    assert vulns.first_fixed((adv(below="3.999.999"),), "3.3.7") == ("4.0.0", "")
    fixed, note = vulns.first_fixed((adv(below="999.999.999", at="1.0.0", cves=["CVE-2022-1"]),), "1.8.3")
    assert fixed is None and "CVE-2022-1" in note
    fixed, note = vulns.first_fixed((adv(at="1.0.0", ghsa="GHSA-2222-3333-4444"),), "1.8.3")
    assert fixed is None and "every later version" in note


@pytest.mark.parametrize(("bound", "marker", "next_line"), [
    ("2.999.999", True, "3.0.0"), ("1.999", True, "2.0"), ("3.999.999", True, "4.0.0"),
    ("999.999.999", True, None), ("1.9.9", False, None), ("4.17.21", False, None), ("2023.10.1", False, None)])
def test_end_of_life_markers(bound, marker, next_line):
    assert vulns.is_marker(bound) is marker
    assert vulns._next_line(bound) == next_line


@pytest.mark.parametrize(("lower", "higher", "retire_agrees"), [
    ("3.0.0-rc.1", "3.0.0", True), ("1.9.0b1", "1.9.0", True), ("4.0.0-beta", "4.0.0-beta.2", True),
    ("4.0.0-beta.2", "4.0.0", True), ("1.0.0-rc.1", "1.0.0-rc.1.1", True), ("1.0.0-rc.1.1", "1.0.0-rc.2", True),
    ("22.0.0-next.3", "22.0.0-rc.2", True), ("15.0.0-canary.206", "15.0.0", True), ("3.0.RC3", "3", True),
    ("1.0.0.beta.3", "1.0.0", True), ("1.0RC2", "1.0", True), ("1.9.3", "1.10.0", True),
    # server-side forms the project orders as their vendors do (Retire.js never sees them)
    ("1.1.1", "1.1.1w", False), ("2.4.7", "2.4.7-p3", False)])
def test_pre_release_ordering(lower, higher, retire_agrees):
    assert vulns.is_above(higher, lower) and not vulns.is_above(lower, higher)
    assert (_retire_at_or_above(higher, lower) and not _retire_at_or_above(lower, higher)) is retire_agrees


def _retire_at_or_above(v1: str, v2: str) -> bool:
    """Retire.js's isAtOrAbove() as its repository documents it (the reference the data is written for): split on
    '.' and '-', all-digit parts compare as numbers, others as strings, a number beats a string, missing = 0."""
    def comp(x: str | None) -> int | str:
        if x is None:
            return 0
        return int(x) if re.fullmatch(r"[0-9]+", x) else x
    a, b = re.split(r"[.-]", v1), re.split(r"[.-]", v2)
    for i in range(max(len(a), len(b))):
        x, y = comp(a[i] if i < len(a) else None), comp(b[i] if i < len(b) else None)
        if type(x) is not type(y):
            return isinstance(x, int)
        if x > y:  # type: ignore[operator]
            return True
        if x < y:  # type: ignore[operator]
            return False
    return True


def _retire_applies(a: Advisory, version: str) -> bool:
    if a.below is not None and _retire_at_or_above(version, a.below):
        return False
    if a.at_or_above is not None and not _retire_at_or_above(version, a.at_or_above):
        return False
    return version not in a.excludes


def test_project_comparator_matches_retire_on_every_advisory_of_the_data(db):
    """For every bound of every library and the releases at and around it (about 150,000 checks), the project's
    one comparator (s4.lifecycle.versions) matches each advisory exactly as Retire.js does, pre-releases included."""
    checked = 0
    for comp, advs in db.components.items():
        probes: set[str] = set()
        for a in advs:
            for b in (a.below, a.at_or_above):
                if not b:
                    continue
                rel = vulns._release_of(b)
                probes.update((b, rel))          # the bound itself: pre-releases too (4.0.0-beta.2, 1.9.0b1)
                parts = [int(x) for x in rel.split(".")]
                for i in range(len(parts)):
                    for d in (-1, 1):
                        q = list(parts)
                        q[i] += d
                        if q[i] >= 0:
                            probes.add(".".join(map(str, q)))
        for v in sorted(probes):
            for a in advs:
                assert a.applies(v) is _retire_applies(a, v), (comp, v, a.at_or_above, a.below)
                checked += 1
    assert checked > 100_000


def test_fixed_version_is_minimal_and_clean_for_every_library(db):
    """For every vulnerable release probe: the fixed version is above it, has no advisory, and no lower candidate
    release between them is clean."""
    n = 0
    for comp, advs in db.components.items():
        cands = vulns._candidates(advs)
        for v in cands + [vulns._release_of(a.at_or_above) for a in advs if a.at_or_above]:
            if not any(a.applies(v) for a in advs):
                continue
            fixed, note = vulns.first_fixed(advs, v)
            if fixed is None:
                assert note
                assert all(any(a.applies(c) for a in advs) for c in cands if vulns._lt(v, c)), (comp, v)
                continue
            n += 1
            assert vulns._lt(v, fixed), (comp, v, fixed)
            assert not any(a.applies(fixed) for a in advs), (comp, v, fixed)
            lower = [c for c in cands if vulns._lt(v, c) and vulns._lt(c, fixed)]
            assert all(any(a.applies(c) for a in advs) for c in lower), (comp, v, fixed)
    assert n > 500


# ------------------------------------------------------------------ generation from the Retire.js copy


def test_committed_data_matches_the_source_for_the_fixture_libraries(db):
    """The fixture is cut unchanged from the snapshot: converting it gives exactly the committed entries."""
    repo = json.loads((FIXTURE / "jsrepository-v4.json").read_text(encoding="utf-8"))
    info = vulns.source_info(FIXTURE, b"")
    data = vulns.convert(repo, info, min_components=1)
    committed = json.loads((vulns.DATA_DIR / vulns.DATA_FILE).read_text(encoding="utf-8"))
    assert set(data["components"]) == {"jquery", "angularjs", "moment.js", "underscore.js", "bootstrap", "lodash"}
    for name, entry in data["components"].items():
        assert committed["components"][name] == entry, name
        assert len(entry["advisories"]) == len(repo[name]["vulnerabilities"])
    assert committed["source"]["commit"] == info["commit"] == "fd8df0d6f1da46d4bc0446321395fcf708619e07"
    assert committed["source"]["date"] == "2026-08-22"
    assert committed["source"]["license"] == "Apache-2.0"
    assert committed["counts"]["components"] == len(committed["components"]) > 60


def test_convert_keeps_only_what_verdicts_use():
    repo = json.loads((FIXTURE / "jsrepository-v4.json").read_text(encoding="utf-8"))
    data = vulns.convert(repo, vulns.source_info(FIXTURE, b""), min_components=1)
    assert "retire-example" not in data["components"] and "dont check" not in data["components"]
    eol = [a for a in data["components"]["jquery"]["advisories"] if a.get("below") == "2.999.999"]
    assert eol and eol[0]["refs"] == {"issue": "162", "retid": "73"} and eol[0]["cve"] == []
    assert all(set(c) == {"advisories"} for c in data["components"].values())
    assert "§§version§§" not in json.dumps(data)
    lodash = data["components"]["lodash"]["advisories"]
    assert all(len(a["links"]) <= vulns.MAX_LINKS for a in lodash)


def test_update_writes_then_finds_no_difference(tmp_path):
    src = tmp_path / "retirejs"
    shutil.copytree(FIXTURE, src)
    repo = json.loads((src / "jsrepository-v4.json").read_text())
    for i in range(12):          # enough libraries to pass the partial-file guard
        repo[f"lib{i}"] = {"vulnerabilities": [{"below": "1.0.0", "severity": "low",
                                                "identifiers": {"summary": "x"}, "info": []}]}
    (src / "jsrepository-v4.json").write_text(json.dumps(repo))
    out = tmp_path / "out"
    assert vulns.update(src, out, check=True) == ["vulnerabilities.json", "LICENSE", "NOTICE"]
    assert not out.exists()
    assert vulns.update(src, out) == ["vulnerabilities.json", "LICENSE", "NOTICE"]
    assert vulns.update(src, out, check=True) == []
    assert "fd8df0d6f1da46d4bc0446321395fcf708619e07" in (out / "NOTICE").read_text()
    assert "Apache License" in (out / "LICENSE").read_text()
    loaded = VulnDB.load(out)
    assert loaded.check("lodash", "4.17.20").fixed_version == "4.18.0"
    repo["lodash"]["vulnerabilities"][0]["below"] = "4.17.6"
    (src / "jsrepository-v4.json").write_text(json.dumps(repo))
    assert vulns.update(src, out, check=True) == ["vulnerabilities.json", "NOTICE"]   # NOTICE: the new SHA-256


def test_partial_or_corrupt_source_is_refused(tmp_path):
    src = tmp_path / "retirejs"
    shutil.copytree(FIXTURE, src)
    with pytest.raises(VulnDataError, match="partial"):
        vulns.update(src, tmp_path / "out")                      # 6 libraries only
    (src / "jsrepository-v4.json").write_text("{")
    with pytest.raises(VulnDataError, match="cannot read"):
        vulns.update(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("entry", "match"), [
    ({"below": "1.0; rm -rf /", "severity": "low"}, "not a version"),
    ({"below": "1.0.0", "severity": "apocalyptic"}, "severity"),
    ({"below": "1.0.0", "severity": "low", "identifiers": {"githubID": "GHSA-<script>"}}, "GHSA"),
    ({"below": "1.0.0", "severity": "low", "identifiers": {"bad key!": "1"}}, "identifier type"),
])
def test_bad_source_entries_are_refused(entry, match):
    with pytest.raises(VulnDataError, match=match):
        vulns.convert({"lib": {"vulnerabilities": [entry]}}, {}, min_components=1)


def test_source_links_other_than_http_are_dropped():
    entry = {"below": "1.0.0", "severity": "low", "identifiers": {"summary": "s"},
             "info": ["javascript:alert(1)", "https://example.org/a", "https://example.org/a", "ftp://x"]}
    data = vulns.convert({"lib": {"vulnerabilities": [entry]}}, {}, min_components=1)
    assert data["components"]["lib"]["advisories"][0]["links"] == ["https://example.org/a"]


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda a: a.update(links=["javascript:alert(1)"]), "links"),
    (lambda a: a.update(below="<b>"), "not a version"),
    (lambda a: a.update(cve=["CVE-1"]), "CVE"),
])
def test_tampered_committed_data_does_not_load(mutate, match):
    data = json.loads((vulns.DATA_DIR / vulns.DATA_FILE).read_text(encoding="utf-8"))
    mutate(data["components"]["lodash"]["advisories"][0])
    with pytest.raises(VulnDataError, match=match):
        VulnDB.from_data(data)


def test_attribution_files_are_committed():
    notice = (vulns.DATA_DIR / "NOTICE").read_text()
    assert "Apache License, Version 2.0" in notice and "fd8df0d6f1da46d4bc0446321395fcf708619e07" in notice
    assert "Apache License" in (vulns.DATA_DIR / "LICENSE").read_text()


def test_update_catalog_regenerates_and_checks_the_vulnerability_data(tmp_path, monkeypatch, capsys):
    """scripts/update_catalog --retirejs DIR [--check] (s4.lifecycle.catalog_update._update_vulns)."""
    from s4.lifecycle.catalog_update import UpdateError, _update_vulns

    src = tmp_path / "retirejs"
    shutil.copytree(FIXTURE, src)
    repo = json.loads((src / "jsrepository-v4.json").read_text())
    for i in range(12):
        repo[f"lib{i}"] = {"vulnerabilities": [{"below": "1.0.0", "severity": "low", "identifiers": {}}]}
    (src / "jsrepository-v4.json").write_text(json.dumps(repo))
    monkeypatch.setattr(vulns, "DATA_DIR", tmp_path / "data")
    assert _update_vulns(src, check=True) == ["vulnerabilities.json", "LICENSE", "NOTICE"]
    assert "would change" in capsys.readouterr().out and not (tmp_path / "data").exists()
    assert _update_vulns(src, check=False) == ["vulnerabilities.json", "LICENSE", "NOTICE"]
    assert _update_vulns(src, check=True) == []
    assert "up to date" in capsys.readouterr().out
    (src / "jsrepository-v4.json").write_text("[]")
    with pytest.raises(UpdateError, match="Retire.js data"):
        _update_vulns(src, check=True)


def test_s4_vulns_command(capsys):
    from s4.cli import main

    assert main(["vulns", "lodash", "4.17.20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("lodash 4.17.20: vulnerable") and "first fixed version: 4.18.0" in out
    assert "CVE-2021-23337" in out
    assert main(["vulns", "moment", "2.27.0", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["fixed_version"] == "2.29.4" and d["status"] == "vulnerable"
    assert main(["vulns", "angularjs", "1.8.3"]) == 0
    assert "no fixed version exists" in capsys.readouterr().out
    assert main(["vulns", "popper", "2.0.0"]) == 0
    assert capsys.readouterr().out.startswith("popper 2.0.0: unknown")


def test_end_of_life_entries_are_the_cwe_1104_ones(db):
    eol = {(c, a.below) for c, advs in db.components.items() for a in advs if a.end_of_life}
    assert {("jquery", "2.999.999"), ("bootstrap", "3.999.999"), ("angularjs", "1.999")} <= eol
    assert not any(a.end_of_life for a in db.components["angularjs"] if a.below == "999.999.999")
