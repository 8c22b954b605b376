"""Overlapping release-watch jobs: a notice is claimed (with a lease) before it is sent, so two jobs never both send
it; a claim left by a killed job is taken over once its lease expired (docs/RELEASE_WATCH.md "Overlapping jobs")."""

from __future__ import annotations

import datetime as _dt
import sqlite3
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from rwfixtures import AS_OF

import s4.releasewatch.watch as W
from s4.releasewatch.policy import Decision
from s4.releasewatch.site import SiteConfig
from s4.releasewatch.smtp import SmtpConfig
from s4.releasewatch.store import DEFAULT_CLAIM_LEASE, Store, new_claim_token
from s4.state import open_store
from s4.state.store import _alembic_config

T0 = _dt.datetime(2026, 12, 8, 5, 0, tzinfo=_dt.UTC)
LEASE = DEFAULT_CLAIM_LEASE


def decision(pid: str) -> Decision:
    return Decision(id=pid, kind="cycle", product=pid.split("-")[0], label=pid, cycle=pid.split("-")[1],
                    version=pid.split("-")[1] + ".0", released=AS_OF, ready_on=AS_OF, reason="test", lts=False)


def seeded(path: Path) -> Path:
    with Store(path) as s:
        s.record(decision("php-8.5"), AS_OF.isoformat(), [("acme", ["ops@acme.example"]), ("hooli", [])])
        s.record(decision("wordpress-7.1"), AS_OF.isoformat(), [("acme", ["ops@acme.example"])])
    return path


def status(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    with Store(path) as s:
        return {(r["client_id"], r["announcement_id"]): r for r in s.deliveries()}


IDS = ["php-8.5", "wordpress-7.1"]


def test_store_race_two_jobs_exactly_one_claims(tmp_path):
    """Two Store objects (two jobs) on one SQLite file race for the same notice, 20 times: one claim wins each time."""
    path = tmp_path / "state.sqlite"
    for round_ in range(20):
        aid = f"php-{round_}"
        with Store(path) as s:
            s.record(decision(aid), AS_OF.isoformat(), [("acme", ["ops@acme.example"])])
        barrier = threading.Barrier(2)
        won: list[str] = []
        sent: list[str] = []

        def job(name: str, aid: str = aid, barrier: threading.Barrier = barrier,
                won: list[str] = won, sent: list[str] = sent) -> None:
            with Store(path) as store:
                token = new_claim_token()
                barrier.wait()
                if store.claim("acme", [aid], token):
                    won.append(name)
                    sent.append(name)  # the fake send
                    assert store.mark_sent("acme", [aid], f"<{name}@t>", "2026-12-08T05:00:00Z", token) == 1

        threads = [threading.Thread(target=job, args=(n,)) for n in ("job1", "job2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and sent == won, round_
        row = status(path)[("acme", aid)]
        assert row["status"] == "sent" and row["message_id"] == f"<{won[0]}@t>" and row["attempts"] == 1


def test_claim_is_all_or_nothing_and_tokens_guard_the_marks(tmp_path):
    path = seeded(tmp_path / "state.sqlite")
    with Store(path) as s:
        other, mine = new_claim_token(), new_claim_token()
        assert s.claim("acme", ["php-8.5"], other, now=T0)            # another job holds one delivery of the notice
        assert not s.claim("acme", IDS, mine, now=T0 + _dt.timedelta(minutes=1))
        rows = status(path)
        assert rows[("acme", "wordpress-7.1")]["status"] == "pending"  # what this job claimed was released
        assert rows[("acme", "wordpress-7.1")]["claim_token"] is None
        assert rows[("acme", "php-8.5")]["claim_token"] == other       # the other job's claim is untouched
        assert s.mark_sent("acme", IDS, "<x@t>", "2026-12-08T05:01:00Z", mine) == 0   # not our rows
        assert s.mark_failed("acme", IDS, "boom", mine) == 0
        assert status(path)[("acme", "php-8.5")]["status"] == "sending"
        assert not s.claim("hooli", ["php-8.5"], mine, now=T0)         # not-notified is never claimed
        assert not s.claim("acme", [], mine, now=T0)


def test_a_fresh_claim_is_kept_an_expired_one_taken_over(tmp_path):
    path = seeded(tmp_path / "state.sqlite")
    killed, next_job = new_claim_token(), new_claim_token()
    with Store(path) as s:
        assert s.claim("acme", IDS, killed, now=T0)                    # the job is killed after its claim
        fresh = T0 + _dt.timedelta(seconds=LEASE - 1)
        assert [r["busy"] for r in s.open_deliveries(LEASE, now=fresh) if r["client_id"] == "acme"] == [True, True]
        assert not s.claim("acme", IDS, next_job, now=fresh)
        expired = T0 + _dt.timedelta(seconds=LEASE + 1)
        assert [r["busy"] for r in s.open_deliveries(LEASE, now=expired) if r["client_id"] == "acme"] == [False] * 2
        assert "claim_token" not in s.open_deliveries(LEASE, now=expired)[0]
        assert s.claim("acme", IDS, next_job, now=expired)
        assert s.mark_sent("acme", IDS, "<late@t>", "2026-12-08T05:20:00Z", killed) == 0  # the old job lost it
        assert s.mark_sent("acme", IDS, "<next@t>", "2026-12-08T05:20:00Z", next_job) == 2
    rows = status(path)
    assert {rows[("acme", i)]["message_id"] for i in IDS} == {"<next@t>"}
    assert all(rows[("acme", i)]["claimed_at"] is None and rows[("acme", i)]["claim_token"] is None for i in IDS)


def test_a_failed_send_returns_to_pending(tmp_path):
    path = seeded(tmp_path / "state.sqlite")
    token = new_claim_token()
    with Store(path) as s:
        assert s.claim("acme", IDS, token, now=T0)
        assert s.mark_failed("acme", IDS, "SMTPRecipientsRefused", token) == 2
        rows = status(path)
        assert all(rows[("acme", i)]["status"] == "pending" and rows[("acme", i)]["attempts"] == 1
                   and rows[("acme", i)]["last_error"] == "SMTPRecipientsRefused"
                   and rows[("acme", i)]["claim_token"] is None for i in IDS)
        assert s.claim("acme", IDS, new_claim_token(), now=T0)   # at once claimable again, no lease to wait for


def test_refresh_contacts_leaves_a_notice_being_sent_alone(tmp_path):
    path = seeded(tmp_path / "state.sqlite")
    token = new_claim_token()
    with Store(path) as s:
        assert s.claim("acme", IDS, token, now=T0)
        assert s.refresh_contacts({"acme": [], "hooli": ["it@hooli.example"]}) == [("php-8.5", "hooli")]
    rows = status(path)
    assert rows[("acme", "php-8.5")]["status"] == "sending" and rows[("acme", "php-8.5")]["claim_token"] == token
    assert rows[("acme", "php-8.5")]["recipients"] == "ops@acme.example"
    assert rows[("hooli", "php-8.5")]["status"] == "pending"


# --- whole runs (s4.releasewatch.watch.run) with a fake SMTP sender ------------------------------------------------

class FakeSender:
    """Stands in for s4.releasewatch.smtp.Sender: records what each job "sent"; both jobs meet at the barrier once
    they have read the open deliveries and built their notices, right before claiming."""

    sent: list[tuple[str, str]] = []
    barrier: threading.Barrier | None = None
    fail: set[str] = set()
    lock = threading.Lock()

    def __init__(self, cfg: SmtpConfig) -> None:
        self.job = cfg.host

    def __enter__(self) -> FakeSender:
        if FakeSender.barrier is not None:
            FakeSender.barrier.wait(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, msg: EmailMessage) -> list[str]:
        client = str(msg["X-S4-Client"])
        if client in FakeSender.fail:
            raise OSError("connection reset")
        with FakeSender.lock:
            FakeSender.sent.append((self.job, client))
        return []


@pytest.fixture()
def fake_sender(monkeypatch):
    monkeypatch.setattr(W, "Sender", FakeSender)
    FakeSender.sent, FakeSender.barrier, FakeSender.fail = [], None, set()
    return FakeSender


def opts(tmp: Path, history_db: Path, catalog_dir: Path, job: str, **kw: Any) -> W.Options:
    base: dict[str, Any] = dict(as_of=AS_OF, out_dir=tmp / job, store_path=tmp / "rw.sqlite", history_db=history_db,
                                catalog_dir=catalog_dir, site=SiteConfig(base_url="http://notices.test/"),
                                smtp=SmtpConfig(host=job, port=25, security="none"))
    base.update(kw)
    return W.Options(**base)


def test_two_overlapping_jobs_send_each_notice_once(tmp_path, hostvars, history_db, catalog_dir, engine, fake_sender):
    W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "draft"), engine=engine)   # records; the dry run claims nothing
    assert {r["status"] for r in status(tmp_path / "rw.sqlite").values()} == {"pending", "not-notified"}
    fake_sender.barrier = threading.Barrier(2)
    results: dict[str, dict[str, Any]] = {}

    def job(name: str) -> None:
        results[name] = W.run(hostvars, opts(tmp_path, history_db, catalog_dir, name, send=True), engine=engine)

    threads = [threading.Thread(target=job, args=(n,)) for n in ("job1", "job2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c for _, c in fake_sender.sent) == ["acme", "globex"]       # each client exactly once
    assert results["job1"]["sent"] + results["job2"]["sent"] == 2
    for name, r in results.items():
        assert r["error"] is None, name
        for n in r["notices"]:
            sender = next(j for j, c in fake_sender.sent if c == n["client"])
            if sender == name:
                assert n["status"] == "sent"
            else:   # the other job: not an error, not sent, reported as in flight elsewhere
                assert n["status"] == "sending" and n["note"] == "being sent by another job"
    rows = status(tmp_path / "rw.sqlite")
    assert {k: v["status"] for k, v in rows.items() if v["status"] != "not-notified"} == {
        ("acme", "php-8.5"): "sent", ("acme", "wordpress-7.1"): "sent", ("globex", "php-8.5"): "sent"}
    assert all(v["attempts"] == 1 for v in rows.values() if v["status"] == "sent")


def test_a_run_leaves_a_fresh_claim_alone_and_takes_over_an_expired_one(tmp_path, hostvars, history_db, catalog_dir,
                                                                         engine, fake_sender):
    path = tmp_path / "rw.sqlite"
    W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "draft"), engine=engine)
    killed = new_claim_token()
    acme = ["php-8.5", "wordpress-7.1"]
    with Store(path) as s:   # a job claimed acme's notice just now, then died
        assert s.claim("acme", acme, killed)
    dry = W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "draft"), engine=engine)   # no change for acme
    assert {n["client"]: n["status"] for n in dry["notices"]} == {"acme": "sending", "globex": "dry-run"}
    assert not dry["changed"] and (tmp_path / "draft" / "outbox" / "acme.eml").is_file()
    r = W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "job2", send=True), engine=engine)
    assert fake_sender.sent == [("job2", "globex")]
    assert {n["client"]: n["status"] for n in r["notices"]} == {"acme": "sending", "globex": "sent"}
    assert r["error"] is None and not any(n["client"] == "acme" and n.get("eml") for n in r["notices"])
    # the same with a claim older than the lease: taken over and sent (at least once)
    with Store(path) as s, s.state.write() as conn:
        conn.exec_driver_sql("UPDATE rw_deliveries SET claimed_at = '2026-12-08T04:00:00Z' WHERE status = 'sending'")
    r = W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "job3", send=True, claim_lease=600), engine=engine)
    assert fake_sender.sent[1:] == [("job3", "acme")] and r["sent"] == 1
    assert {status(path)[("acme", i)]["status"] for i in acme} == {"sent"}


def test_a_failed_send_goes_back_to_pending_and_the_dry_run_never_claims(tmp_path, hostvars, history_db, catalog_dir,
                                                                        engine, fake_sender):
    path = tmp_path / "rw.sqlite"
    fake_sender.fail = {"acme"}
    r = W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "job1", send=True), engine=engine)
    assert {n["client"]: n["status"] for n in r["notices"]} == {"acme": "failed", "globex": "sent"}
    rows = status(path)
    assert rows[("acme", "php-8.5")]["status"] == "pending" and rows[("acme", "php-8.5")]["attempts"] == 1
    assert "connection reset" in rows[("acme", "php-8.5")]["last_error"]
    for check in (False, True):   # dry run and check mode: drafts only, no claim
        d = W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "dry", check=check), engine=engine)
        assert [n["status"] for n in d["notices"]] == ["dry-run"]
        assert {v["status"] for v in status(path).values()} == {"pending", "sent", "not-notified"}
        assert all(v["claim_token"] is None and v["claimed_at"] is None for v in status(path).values())
    fake_sender.fail = set()
    r = W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "job2", send=True), engine=engine)
    assert r["sent"] == 1 and fake_sender.sent[-1] == ("job2", "acme")


def test_lease_must_be_positive(tmp_path, hostvars, history_db, catalog_dir, engine):
    with pytest.raises(ValueError, match="claim_lease"):
        W.run(hostvars, opts(tmp_path, history_db, catalog_dir, "x", claim_lease=0), engine=engine)


def test_migration_0003_keeps_deliveries_and_allows_sending(tmp_path):
    """A store at 0002 with deliveries upgrades to the claim columns; the CHECK constraint admits 'sending' only
    after it (and the downgrade turns a claim back into pending)."""
    path = seeded(tmp_path / "rw.sqlite")
    cfg = _alembic_config()
    with open_store(path) as store, store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE rw_deliveries SET status = 'sending'")
    db.close()
    with open_store(path) as store:   # opening migrates to the newest schema
        assert store.revision() == "0003"
    rows = status(path)
    assert {k: v["status"] for k, v in rows.items()} == {("acme", "php-8.5"): "pending",
                                                         ("acme", "wordpress-7.1"): "pending",
                                                         ("hooli", "php-8.5"): "not-notified"}
    with Store(path) as s:
        assert s.claim("acme", IDS, new_claim_token())


def test_state_info_counts_deliveries_per_status(tmp_path, capsys):
    from s4.cli import main as s4_main

    path = seeded(tmp_path / "rw.sqlite")
    with Store(path) as s:
        assert s.claim("acme", IDS, new_claim_token())
    assert s4_main(["state", "info", "--state-url", f"sqlite:///{path}"]) == 0
    assert "rw_deliveries  3 (not-notified 1, sending 2)" in capsys.readouterr().out
