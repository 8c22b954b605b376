"""Gather history in the store: content-hashed snapshots, volatile keys, retention (prune), `s4 history`."""

from __future__ import annotations

import datetime as _dt
import zlib

import pytest
from statefix import facts

from s4 import history
from s4.history import History, encode_snapshot, split_facts


def test_unchanged_hosts_point_at_one_snapshot(url):
    with History(url) as h:
        for r in range(20):
            h.record_run({f"h{i}": {"status": "ok", "facts": facts(
                f"h{i}", php="8.2.27" if (i == 0 and r >= 10) else "8.2.26", when=f"2026-11-{r + 1:02d}T10:00:00Z")}
                for i in range(5)})
        st = h.stats()
        assert st["runs"] == 20 and st["run_hosts"] == 100
        assert st["snapshots"] == 6            # five hosts, one of which changed once
        assert st["snapshot_bytes"] < st["facts_bytes"] / 3   # compressed
        # each run gives its own gathered_at back, though the snapshot is shared
        assert h.run_facts(3)["h1"]["gathered_at"] == "2026-11-03T10:00:00Z"
        assert h.run_facts(3)["h1"]["timings"] == {"total": 0.1}
        assert h.latest_facts(["h0"])["h0"]["components"][1]["version"] == "8.2.27"
        assert h.run_facts(10)["h0"]["components"][1]["version"] == "8.2.26"


def test_snapshot_hash_ignores_volatile_keys_only():
    a, b = facts("x", when="2026-01-01T00:00:00Z"), facts("x", when="2026-02-01T00:00:00Z")
    b["timings"] = {"total": 9.9}
    assert encode_snapshot(split_facts(a)[0])[0] == encode_snapshot(split_facts(b)[0])[0]
    c = facts("x", packages=51)
    assert encode_snapshot(split_facts(c)[0])[0] != encode_snapshot(split_facts(a)[0])[0]
    sha, size, blob = encode_snapshot(split_facts(a)[0])
    assert len(zlib.decompress(blob)) == size and "gathered_at" not in zlib.decompress(blob).decode()


def _days(h: History, n: int) -> None:
    for d in range(n):
        h.record_run({"a": {"status": "ok", "facts": facts("a", php=f"8.2.{d}")},
                      "b": {"status": "ok", "facts": facts("b")}},
                     started_at=f"2026-11-{d + 1:02d}T10:00:00Z")


def test_prune_by_days_and_runs(url):
    with History(url) as h:
        _days(h, 10)
        assert h.stats()["snapshots"] == 11
        now = _dt.datetime(2026, 11, 10, 12, tzinfo=_dt.UTC)
        gone = h.prune(keep_days=3, keep_runs=5, today=now)     # runs 6..10 kept by count (days would keep 8..10)
        assert gone == {"runs": 5, "snapshots": 5, "components": 5}
        assert [r["id"] for r in h.runs()] == [10, 9, 8, 7, 6]
        assert h.stats()["snapshots"] == 6                       # a's five + b's one (still used)
        assert h.changes_since(6)["a"].changed[0]["from"] == "8.2.5"
        gone = h.prune(keep_days=1, today=now)
        assert [r["id"] for r in h.runs()] == [10] and gone["runs"] == 4
        assert {c["product"] for c in h.current_components("b")} >= {"php", "debian"}
        with pytest.raises(ValueError):
            h.prune()


def test_history_cli(tmp_path, capsys):
    db = str(tmp_path / "s.sqlite")
    assert history.main(["--state-url", db]) == 1
    with History(db) as h:
        _days(h, 4)
    capsys.readouterr()
    assert history.main(["--state-url", db, "changes"]) == 0
    assert capsys.readouterr().out.strip() == "a: php 8.2.2 -> 8.2.3"
    assert history.main(["--state-url", db, "prune", "--keep-runs", "2"]) == 0
    assert capsys.readouterr().out.strip() == "pruned 2 run(s), 2 snapshot(s), 2 component record(s)"
    assert history.main(["--state-url", db, "prune"]) == 2
    assert history.main(["--db", db, "runs"]) == 0                 # the old option name still works
    assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines() if ln.strip()[:1].isdigit()] == ["4", "3"]
