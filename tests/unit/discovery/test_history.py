"""Gather history in the state store: runs, hosts, components with first/last seen, and the change report."""

from __future__ import annotations

import copy
import sqlite3

import pytest

from s4 import history


def _facts(php="7.4.33", wp="5.7.14", extra=None, when="2026-11-27T10:00:00Z"):
    comps = [
        {"product": "debian", "version": "11", "kind": "os"},
        {"product": "php", "version": php, "kind": "runtime"},
        {"product": "mariadb", "version": "10.5.29", "kind": "database"},
    ]
    comps += extra or []
    return {"schema": 1, "gathered_at": when, "components": comps,
            "sites": [{"name": "acme-blog", "apps": [{"product": "wordpress", "version": wp}],
                       "libraries": [{"product": "jquery", "version": "3.5.1"}]}]}


def test_runs_and_changes(tmp_path):
    db = tmp_path / "sub" / "history.sqlite"
    with history.History(db) as h:
        r1 = h.record_run({"a": {"status": "ok", "facts": _facts()}, "b": {"status": "ok", "facts": _facts()}},
                          started_at="2026-11-27T10:00:00Z", finished_at="2026-11-27T10:00:05Z")
        assert (r1.run_id, r1.hosts_ok, r1.hosts_failed) == (1, 2, 0)
        assert r1.changes["a"].first_run and len(r1.changes["a"].added) == 5
        assert r1.summary()[1] == "a: first run, 5 component(s) recorded"

        r2 = h.record_run({"a": {"status": "ok", "facts": _facts(when="2026-11-28T10:00:00Z")},
                           "b": {"status": "ok", "facts": _facts()}})
        assert not r2.any_change
        assert r2.summary()[1:] == ["a: no change", "b: no change"]

        upgraded = _facts(php="8.2.26", wp="6.8.3", extra=[{"product": "redis", "version": "7.0.15", "kind": "cache"}],
                          when="2026-11-29T10:00:00Z")
        upgraded["components"] = [c for c in upgraded["components"] if c["product"] != "mariadb"]
        r3 = h.record_run({"a": {"status": "ok", "facts": upgraded}, "b": {"status": "unreachable", "facts": None}})
        assert r3.hosts_failed == 1 and "b" not in r3.changes
        ch = r3.changes["a"]
        assert ch.changed == [
            {"site": "", "product": "php", "kind": "runtime", "from": "7.4.33", "to": "8.2.26"},
            {"site": "acme-blog", "product": "wordpress", "kind": "webapp", "from": "5.7.14", "to": "6.8.3"},
        ]
        assert ch.added == [{"site": "", "product": "redis", "kind": "cache", "version": "7.0.15"}]
        assert ch.removed == [{"site": "", "product": "mariadb", "kind": "database", "version": "10.5.29"}]
        assert ch.lines() == ["a: php 7.4.33 -> 8.2.26", "a: wordpress 5.7.14 -> 6.8.3 (site acme-blog)",
                              "a: + redis 7.0.15", "a: - mariadb 10.5.29"]

        comps = {(c["product"], c["version"]): c for c in h.current_components("a")}
        assert comps[("debian", "11")]["first_seen_run"] == 1 and comps[("debian", "11")]["last_seen_run"] == 3
        assert comps[("debian", "11")]["first_seen_at"] == "2026-11-27T10:00:00Z"
        assert comps[("debian", "11")]["last_seen_at"] == "2026-11-29T10:00:00Z"
        assert ("mariadb", "10.5.29") not in comps
        # b failed in run 3: its last good state is kept, and a later run diffs against it
        assert {c["product"] for c in h.current_components("b")} >= {"mariadb", "php"}
        assert h.host_status(3) == {"a": "ok", "b": "unreachable"}
        assert [r["id"] for r in h.runs()] == [3, 2, 1]
        since = h.changes_since(1)
        assert since["a"].changed[0]["to"] == "8.2.26" and "b" not in since
        # since "before any run": every host was first gathered after it, all its software is new
        first = h.changes_since(0)
        assert {k: len(c.added) for k, c in first.items()} == {"a": 5, "b": 5}
        assert not any(c.changed or c.removed for c in first.values()) and "a: + redis 7.0.15" in first["a"].lines()

    raw = sqlite3.connect(db)
    assert raw.execute("SELECT hosts_ok, hosts_failed FROM gather_runs WHERE id = 3").fetchone() == (1, 1)
    assert raw.execute("SELECT count(*) FROM run_hosts").fetchone() == (6,)
    # a's facts changed once (run 3), b's never: three snapshots for five successful host results
    assert raw.execute("SELECT host, count(*) FROM snapshots GROUP BY host ORDER BY host").fetchall() == [
        ("a", 2), ("b", 1)]


def test_preview_writes_nothing(tmp_path):
    db = tmp_path / "h.sqlite"
    with history.History(db) as h:
        h.record_run({"a": {"status": "ok", "facts": _facts()}})
        prev = h.preview({"a": {"status": "ok", "facts": _facts(php="7.4.34")}})
        assert prev["a"].changed[0]["to"] == "7.4.34"
        assert len(h.runs()) == 1


def test_version_sets_for_multi_version_products():
    old = {("", "php", "runtime", "7.4.33"), ("", "php", "runtime", "8.2.26")}
    new = {("", "php", "runtime", "8.2.27"), ("", "php", "runtime", "7.4.33"), ("", "php", "runtime", "8.4.1")}
    ch = history.diff_components(old, new, "h")
    assert ch.changed == [{"site": "", "product": "php", "kind": "runtime", "from": "8.2.26", "to": "8.2.27"}]
    assert ch.added == [{"site": "", "product": "php", "kind": "runtime", "version": "8.4.1"}]
    assert ch.removed == []


def test_prune_facts_keeps_components(tmp_path):
    with history.History(tmp_path / "h.sqlite") as h:
        for i in range(4):
            h.record_run({"a": {"status": "ok", "facts": _facts(php=f"7.4.{30 + i}")}})
        assert h.prune_facts(2) == 2
        assert [r["id"] for r in h.runs()] == [4, 3]
        assert h.stats()["snapshots"] == 2  # the snapshots only runs 1 and 2 used are gone
        assert h.current_components("a")[0]["first_seen_run"] == 1  # debian 11: first seen in run 1, a date kept


def test_ok_without_facts_is_failed(tmp_path):
    with history.History(tmp_path / "h.sqlite") as h:
        r = h.record_run({"a": {"status": "ok", "facts": None}})
        assert (r.hosts_ok, r.hosts_failed) == (0, 1)  # "ok" without facts: nothing to store, recorded as failed
        assert h.host_status(r.run_id) == {"a": "failed"}


def test_cli(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    assert history.main(["--db", str(db)]) == 1
    with history.History(db) as h:
        h.record_run({"a": {"status": "ok", "facts": _facts()}})
        h.record_run({"a": {"status": "ok", "facts": _facts(wp="6.8.3")}})
    capsys.readouterr()
    assert history.main(["--db", str(db), "runs"]) == 0
    assert "ok=1 failed=0" in capsys.readouterr().out
    assert history.main(["--db", str(db), "changes"]) == 0
    assert capsys.readouterr().out.strip() == "a: wordpress 5.7.14 -> 6.8.3 (site acme-blog)"
    assert history.main(["--db", str(db), "components", "--host", "a"]) == 0
    assert "wordpress" in capsys.readouterr().out


def test_facts_are_not_mutated(tmp_path):
    f = _facts()
    before = copy.deepcopy(f)
    with history.History(tmp_path / "h.sqlite") as h:
        h.record_run({"a": {"status": "ok", "facts": f}})
    assert f == before


@pytest.mark.parametrize("status", ["failed", "unreachable"])
def test_failed_hosts_do_not_remove_components(tmp_path, status):
    with history.History(tmp_path / "h.sqlite") as h:
        h.record_run({"a": {"status": "ok", "facts": _facts()}})
        h.record_run({"a": {"status": status, "facts": None}})
        r = h.record_run({"a": {"status": "ok", "facts": _facts()}})
        assert not r.any_change
