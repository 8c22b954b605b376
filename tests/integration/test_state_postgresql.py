"""The state store on the lab's PostgreSQL (issue #16 point 3): migrations, the 4-writer concurrency test, the
legacy import, POC records and the release-watch decisions, on a fresh database per test (fixture
``state_pg_url``, tests/conftest.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "state"))
from statefix import check_concurrent_result, facts, run_concurrent_writers  # noqa: E402

from s4.history import History  # noqa: E402
from s4.releasewatch.store import Store  # noqa: E402
from s4.state import dump_text, head_revision, open_store, upgrade  # noqa: E402
from s4.state import poc as P  # noqa: E402

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "state" / "fixtures"


@pytest.mark.timeout(600)
def test_four_concurrent_writers_on_postgresql(state_pg_url):
    results = run_concurrent_writers(state_pg_url, workers=4, runs=5, hosts=6)   # first open races too
    check_concurrent_result(state_pg_url, results, workers=4, runs=5, hosts=6)


def test_schema_history_and_prune_on_postgresql(state_pg_url):
    with open_store(state_pg_url) as store:
        assert store.dialect == "postgresql" and store.revision() == head_revision()
    with History(state_pg_url) as h:
        for r in range(6):
            h.record_run({"a": {"status": "ok", "facts": facts("a", php=f"8.2.{r // 2}", when=f"2026-11-0{r + 1}T10:00:00Z")},
                          "b": {"status": "unreachable", "facts": None}}, started_at=f"2026-11-0{r + 1}T10:00:00Z")
        assert h.stats()["snapshots"] == 3
        assert [ln for ch in h.changes_since(4).values() for ln in ch.lines()] == ["a: php 8.2.1 -> 8.2.2"]
        assert h.prune(keep_runs=2)["runs"] == 4
        assert h.latest_facts()["a"]["gathered_at"] == "2026-11-06T10:00:00Z"


def test_legacy_files_imported_into_postgresql(state_pg_url, tmp_path):
    for name in ("history.sqlite", "release_watch.sqlite"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    with open_store(state_pg_url, migrate=False) as store:
        done = upgrade(store, legacy={"history.sqlite": tmp_path / "history.sqlite",
                                      "release_watch.sqlite": tmp_path / "release_watch.sqlite"})
        assert any("3 gather run(s)" in d for d in done)
        assert upgrade(store, legacy={"history.sqlite": tmp_path / "history.sqlite"}) == []   # once
    with History(state_pg_url) as h:
        assert len(h.runs()) == 3
    with Store(state_pg_url) as s:
        assert {d["status"] for d in s.deliveries()} == {"sent", "not-notified"}


def test_poc_records_and_no_password_in_the_store(state_pg_url):
    with open_store(state_pg_url) as store:
        P.record_step(store, "poc-acme-1", "provision", client="acme", started_at="2026-12-01T10:00:00Z",
                      finished_at="2026-12-01T10:30:00Z", operator="alice", vmid=120, node="pve1")
        P.record_step(store, "poc-acme-1", "golive", started_at="2026-12-02T10:00:00Z",
                      finished_at="2026-12-02T10:10:00Z", operator="bob")
        assert P.get(store, "poc-acme-1")["status"] == "live"
        assert [s.duration_s for s in P.timesheet(store, "acme", "2026-12")] == [1800, 600]
        from s4.lab import statedb

        assert statedb.password().encode() not in dump_text(store)


def test_two_jobs_race_for_one_notice_on_postgresql(state_pg_url):
    """Release-watch claims (s4.releasewatch.store.Store.claim) on PostgreSQL: two jobs (two Store objects, two
    connections) race for the same notice 10 times; exactly one claims and sends it each time."""
    import datetime as _dt
    import threading

    from s4.releasewatch.policy import Decision
    from s4.releasewatch.store import new_claim_token

    day = _dt.date(2026, 11, 27)
    for round_ in range(10):
        aid = f"php-{round_}"
        with Store(state_pg_url) as s:
            s.record(Decision(id=aid, kind="cycle", product="php", label="PHP", cycle=str(round_),
                              version=f"{round_}.0", released=day, ready_on=day, reason="test", lts=False),
                     day.isoformat(), [("acme", ["ops@acme.example"])])
        barrier = threading.Barrier(2)
        won: list[str] = []

        def job(name: str, aid: str = aid, barrier: threading.Barrier = barrier, won: list[str] = won) -> None:
            with Store(state_pg_url) as store:
                token = new_claim_token()
                barrier.wait(timeout=60)
                if store.claim("acme", [aid], token):
                    won.append(name)
                    assert store.mark_sent("acme", [aid], f"<{name}@t>", "2026-12-08T05:00:00Z", token) == 1

        threads = [threading.Thread(target=job, args=(n,)) for n in ("job1", "job2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, round_
        with Store(state_pg_url) as s:
            row = next(d for d in s.deliveries() if d["announcement_id"] == aid)
        assert row["status"] == "sent" and row["message_id"] == f"<{won[0]}@t>" and row["attempts"] == 1
