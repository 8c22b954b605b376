"""Old SQLite files (made by the pre-store code: tests/unit/state/fixtures, generated with s4.history.History and
s4.releasewatch.store.Store of commit 343c34d) are imported into the store, once, and nothing is lost."""

from __future__ import annotations

import shutil

from statefix import FIXTURES, run_concurrent_writers

from s4.history import History
from s4.releasewatch.store import Store
from s4.state import open_store


def _copy(tmp_path):
    for name in ("history.sqlite", "release_watch.sqlite"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path / "state.sqlite"


def _check(path) -> None:
    with History(path) as h:
        runs = h.runs()
        assert [(r["id"], r["started_at"], r["hosts_ok"], r["hosts_failed"]) for r in runs] == [
            (3, "2026-11-15T08:00:00Z", 2, 0), (2, "2026-11-08T08:00:00Z", 2, 0), (1, "2026-11-01T08:00:00Z", 1, 1)]
        assert h.host_status(1) == {"mvps-acme-01": "ok", "shared-01": "unreachable"}
        assert [line for ch in h.changes_since(2).values() for line in ch.lines()] == [
            "mvps-acme-01: php 8.2.20 -> 8.2.26", "mvps-acme-01: wordpress 6.4.1 -> 6.7.1 (site acme-blog)"]
        comps = {(c["product"], c["version"]): c for c in h.current_components("shared-01")}
        assert comps[("php", "8.2.18")]["first_seen_run"] == 2
        assert comps[("php", "8.2.18")]["first_seen_at"] == "2026-11-27T08:00:00Z"   # the facts' gathered_at
        latest = h.latest_facts()
        assert latest["mvps-acme-01"]["components"][0]["version"] == "8.2.26"
        assert latest["mvps-acme-01"]["gathered_at"] == "2026-11-27T08:00:00Z"
        # five successful host results, three distinct contents (acme changed once, shared never)
        assert h.stats()["snapshots"] == 3 and h.stats()["run_hosts"] == 6
    with Store(path) as s:
        assert s.announced_ids() == {"php-8.4"}
        assert s.announcements()[0]["title"] == "PHP 8.4 is ready (8.4.3)"
        assert {(d["client_id"], d["status"], d["message_id"]) for d in s.deliveries()} == {
            ("acme", "sent", "<m1@smartt.example>"), ("hooli", "not-notified", None)}


def test_old_files_next_to_the_default_store_are_imported_once(tmp_path):
    path = _copy(tmp_path)
    with open_store(path) as store:
        assert set(store.meta()) == {f"imported:history.sqlite:{tmp_path / 'history.sqlite'}",
                                     f"imported:release_watch.sqlite:{tmp_path / 'release_watch.sqlite'}"}
    _check(path)
    _check(path)   # reopened: not imported a second time
    assert (tmp_path / "history.sqlite").read_bytes() == (FIXTURES / "history.sqlite").read_bytes()  # left alone


def test_import_renumbers_into_a_store_that_already_has_runs(tmp_path):
    path = tmp_path / "state.sqlite"
    with History(path) as h:
        h.record_run({"other": {"status": "ok", "facts": {"schema": 1, "components": []}}})
    shutil.copy(FIXTURES / "history.sqlite", tmp_path / "history.sqlite")
    with History(path) as h:   # the next open imports it
        assert [r["id"] for r in h.runs()] == [4, 3, 2, 1]
        assert h.host_status(2) == {"mvps-acme-01": "ok", "shared-01": "unreachable"}


def test_concurrent_first_opens_import_once(tmp_path):
    path = _copy(tmp_path)
    results = run_concurrent_writers(f"sqlite:///{path}", workers=4, runs=1, hosts=1)
    assert all(r[0] == "ok" for r in results), results
    with History(path) as h:
        assert len(h.all_runs()) == 3 + 4   # the three imported runs once, plus one per writer
    _check_deliveries = Store(path)
    try:
        assert len(_check_deliveries.deliveries()) == 2
    finally:
        _check_deliveries.close()
