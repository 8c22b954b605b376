"""Stability policy: table-tested across products, dates relative to an as-of date."""

from __future__ import annotations

import datetime as _dt
import json

import pytest
from rwfixtures import AS_OF, cycle, d, product, write_catalog

from s4.releasewatch.policy import (
    Policy,
    PolicyError,
    decide,
    evaluate_cycle,
    is_prerelease,
    load_catalog_releases,
    parse_cycles,
)


def _cycles(pid: str, label: str, *cycles_: dict) -> list:
    warnings: list[str] = []
    out = parse_cycles(product(pid, label, list(cycles_)), f"products/{pid}.json", warnings)
    assert not warnings
    return out


POLICY = Policy.load()  # the committed policy (nodejs LTS only, nginx even minors, ...)

# (case, product, cycle kwargs, expected ready, substring of the reason)
CASES = [
    ("30 days + 1 patch: ready", "php", dict(cyc="8.5", released=31, history=[["8.5.1", d(5)], ["8.5.0", d(31)]]),
     True, "1 patch release"),
    ("29 days old: not yet", "php", dict(cyc="8.5", released=29, history=[["8.5.1", d(5)], ["8.5.0", d(29)]]),
     False, "29 day(s) old"),
    ("exactly 30 days: ready", "mariadb", dict(cyc="12.3", released=30, history=[["12.3.3", d(2)], ["12.3.2", d(30)]]),
     True, "released"),
    ("old enough, no patch release", "jquery", dict(cyc="4", released=200, history=[["4.0.0", d(200)]]),
     False, "0 patch release(s), policy wants 1"),
    ("patch release dated after as-of does not count", "redis",
     dict(cyc="8.10", released=60, history=[["8.10.1", d(-3)], ["8.10.0", d(60)]]), False, "0 patch release(s)"),
    ("pre-releases never count as patches", "postgresql",
     dict(cyc="19", released=60, history=[["19.0rc2", d(10)], ["19.0-beta1", d(40)], ["19.0", d(60)]]),
     False, "0 patch release(s)"),
    ("only pre-releases: never", "python",
     dict(cyc="3.15", released=60, history=[["3.15.0b2", d(10)], ["3.15.0a1", d(60)]]), False, "no stable release"),
    ("pre-release cycle id: never", "php",
     dict(cyc="9.0-RC", released=90, history=[["9.0.0RC2", d(5)], ["9.0.0RC1", d(90)]]), False, "pre-release cycle"),
    ("not released yet", "php", dict(cyc="8.6", released=-10, history=[]), False, "not released yet"),
    ("already end-of-life", "php",
     dict(cyc="8.0", released=170, history=[["8.0.2", d(100)], ["8.0.1", d(150)], ["8.0.0", d(170)]], eol=d(1)),
     False, "end-of-life"),
    ("ready long ago: past news", "php",
     dict(cyc="8.4", released=400, history=[["8.4.2", d(360)], ["8.4.1", d(370)], ["8.4.0", d(400)]]),
     False, "lookback"),
    ("nodejs odd cycle: never LTS", "nodejs",
     dict(cyc="25", released=100, history=[["25.2.0", d(10)], ["25.1.0", d(50)], ["25.0.0", d(100)]]),
     False, "LTS only"),
    ("nodejs even cycle before its LTS date", "nodejs",
     dict(cyc="26", released=100, history=[["26.2.0", d(10)], ["26.0.0", d(100)]], lts=d(-20)), False, "LTS only"),
    ("nodejs even cycle once LTS", "nodejs",
     dict(cyc="26", released=200, history=[["26.7.0", d(10)], ["26.0.0", d(200)]], lts=d(30)), True, "LTS"),
    ("nginx mainline (odd minor)", "nginx",
     dict(cyc="1.31", released=100, history=[["1.31.1", d(10)], ["1.31.0", d(100)]]), False, "cycle_pattern"),
    ("nginx stable (even minor)", "nginx",
     dict(cyc="1.30", released=100, history=[["1.30.1", d(10)], ["1.30.0", d(100)]]), True, "1 patch"),
    ("product disabled", "linux-kernel", dict(cyc="7.2", released=100, history=[["7.2.1", d(10)], ["7.2", d(100)]]),
     False, "disabled"),
    ("wordpress override: no patch needed", "wordpress", dict(cyc="7.1", released=45, history=[["7.1", d(45)]]),
     True, "0 patch"),
    ("no history, policy wants a patch", "ubuntu", dict(cyc="26.04", released=100, history=[], lts=True),
     False, "0 patch release(s)"),
]


@pytest.mark.parametrize("case,pid,kw,ready,why", CASES, ids=[c[0] for c in CASES])
def test_policy_table(case, pid, kw, ready, why):
    c = cycle(kw["cyc"], kw["released"], kw["history"], eol=kw.get("eol", False), lts=kw.get("lts", False),
              latest=kw["history"][0][0] if kw["history"] else "26.04")
    [info] = _cycles(pid, pid.title(), c)
    decision, reason = evaluate_cycle(info, POLICY.for_product(pid), AS_OF)
    assert (decision is not None) is ready, reason
    assert why in reason


def test_ready_on_is_the_later_of_age_and_patch():
    [info] = _cycles("php", "PHP", cycle("8.5", 90, [["8.5.1", d(20)], ["8.5.0", d(90)]]))
    dec, _ = evaluate_cycle(info, POLICY.for_product("php"), AS_OF)
    assert dec is not None
    assert dec.ready_on == AS_OF - _dt.timedelta(days=20)   # the patch came after the 30 days
    assert dec.version == "8.5.1" and dec.id == "php-8.5" and dec.kind == "cycle"
    [info] = _cycles("php", "PHP", cycle("8.5", 40, [["8.5.1", d(35)], ["8.5.0", d(40)]]))
    dec, _ = evaluate_cycle(info, POLICY.for_product("php"), AS_OF)
    assert dec is not None and dec.ready_on == AS_OF - _dt.timedelta(days=10)   # 30 days after the release


def test_lts_start_date_delays_readiness():
    [info] = _cycles("nodejs", "Node.js", cycle("26", 200, [["26.7.0", d(100)], ["26.0.0", d(200)]], lts=d(30)))
    dec, _ = evaluate_cycle(info, POLICY.for_product("nodejs"), AS_OF)
    assert dec is not None and dec.ready_on == AS_OF - _dt.timedelta(days=30) and dec.lts


def test_per_product_overrides_and_custom_defaults():
    pol = Policy.from_dict({"defaults": {"min_age_days": 10, "min_patch_releases": 0},
                            "products": {"php": {"min_patch_releases": 2}}})
    [info] = _cycles("php", "PHP", cycle("8.5", 60, [["8.5.1", d(5)], ["8.5.0", d(60)]]))
    assert evaluate_cycle(info, pol.for_product("php"), AS_OF)[0] is None
    [info] = _cycles("redis", "Redis", cycle("8.10", 11, [["8.10.0", d(11)]]))
    assert evaluate_cycle(info, pol.for_product("redis"), AS_OF)[0] is not None


@pytest.mark.parametrize("version,pre", [
    ("8.5.0RC1", True), ("1.0.0-rc.1", True), ("19.0-beta1", True), ("3.15.0a1", True), ("3.15.0b2", True),
    ("2.0.0-alpha", True), ("7.0-preview", True), ("26-ea", True), ("8.5.0", False), ("26.0.2+10", False),
    ("2.4.7-p3", False), ("11.4.5", False), ("1.12.4", False), ("18.0.80.3", False),
])
def test_prerelease_detection(version, pre):
    assert is_prerelease(version) is pre


def test_security_release_of_supported_cycle_announced_at_once():
    pol = Policy.from_dict({"security_releases": {"php": ["8.2.30"]}})
    cycles = _cycles("php", "PHP",
                     cycle("8.2", 1100, [["8.2.30", d(1)], ["8.2.29", d(40)], ["8.2.1", d(1050)], ["8.2.0", d(1100)]],
                           eol=d(-30)),
                     cycle("8.0", 1800, [["8.0.31", d(2)], ["8.0.0", d(1800)]], eol=d(300)))
    pol2 = Policy.from_dict({"security_releases": {"php": ["8.2.30", "8.0.31"]}})
    ids = [x.id for x in decide({"php": cycles}, pol2, AS_OF)]
    assert ids == ["php-8.2.30-security"]            # 8.0 is EOL: its security release is not offered
    [dec] = decide({"php": cycles}, pol, AS_OF)
    assert dec.kind == "security" and dec.ready_on == AS_OF - _dt.timedelta(days=1) and dec.cycle == "8.2"
    # a security flag carried by the catalog entry itself works the same, and security: false turns it off
    flagged = _cycles("php", "PHP", cycle("8.2", 1100, [["8.2.30", d(0), "security"], ["8.2.1", d(1050)],
                                                         ["8.2.0", d(1100)]],
                                          eol=d(-30)))
    assert [x.id for x in decide({"php": flagged}, Policy.from_dict({}), AS_OF)] == ["php-8.2.30-security"]
    off = Policy.from_dict({"products": {"php": {"security": False}}})
    assert decide({"php": flagged}, off, AS_OF) == []


def test_malformed_release_entries_are_skipped_with_a_warning(tmp_path):
    bad = product("php", "PHP", [
        cycle("8.5", 60, [["8.5.1", d(30)], ["8.5.0", d(60)], ["8.5.x", "yesterday"], ["", d(3)], "junk", [None]]),
        {"codename": "no cycle id"},
        {"cycle": "8.4", "release_date": "31/12/2024", "history": []},
    ])
    root = write_catalog(tmp_path / "cat", {"php": bad})
    (root / "products" / "broken.json").write_text("{not json", encoding="utf-8")
    releases, warnings = load_catalog_releases(root)
    text = "\n".join(warnings)
    assert "release 8.5.x has a bad date 'yesterday': skipped" in text
    assert "history[3]" in text and "history[4]" in text and "history[5]" in text
    assert "cycles[1]: no cycle id: skipped" in text
    assert "cycle 8.4: malformed dates" in text
    assert "products/broken.json: unreadable" in text
    assert [c.cycle for c in releases["php"]] == ["8.5"]
    assert [r.version for r in releases["php"][0].releases] == ["8.5.0", "8.5.1"]
    # the good entries still decide
    assert [x.id for x in decide(releases, POLICY, AS_OF)] == ["php-8.5"]


def test_real_catalog_loads_without_warnings_and_decides():
    releases, warnings = load_catalog_releases()
    assert warnings == []
    assert "php" in releases and "nodejs" in releases
    decided = decide(releases, POLICY, AS_OF)
    assert all(x.ready_on <= AS_OF for x in decided)
    assert not any(x.product == "linux-kernel" for x in decided)
    assert all(not is_prerelease(x.version) for x in decided)


@pytest.mark.parametrize("data,problem", [
    ({"defaults": {"min_age_days": -1}}, "must be >= 0"),
    ({"defaults": {"min_age_days": "30"}}, "not a valid value"),
    ({"defaults": {"lts_only": 1}}, "not a valid value"),
    ({"products": {"php": {"min_age": 3}}}, "products.php.min_age: unknown setting"),
    ({"products": {"nginx": {"cycle_pattern": "(["}}}, "bad regular expression"),
    ({"security_releases": {"php": "8.2.30"}}, "must be a list of versions"),
    ({"surprise": 1}, "unknown top-level key"),
])
def test_policy_validation(data, problem):
    with pytest.raises(PolicyError) as exc:
        Policy.from_dict(data, source="p.yaml")
    assert problem in str(exc.value)


def test_policy_file_errors(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.load(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("defaults: [", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        Policy.load(tmp_path / "bad.yaml")
    (tmp_path / "ok.yaml").write_text(json.dumps({"defaults": {"min_age_days": 7}}), encoding="utf-8")
    assert Policy.load(tmp_path / "ok.yaml").for_product("x").min_age_days == 7
