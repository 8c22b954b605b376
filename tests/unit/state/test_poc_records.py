"""POC records: step events, status, validation of untrusted values, the timesheet (`s4 timesheet`)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s4.state import open_store
from s4.state import poc as P

ROOT = Path(__file__).resolve().parents[3]
NAME = "poc-acme-acme-blog-93572f25"


def _lifecycle(store) -> None:
    P.record_step(store, NAME, "provision", outcome="failed", started_at="2026-12-01T09:00:00Z",
                  finished_at="2026-12-01T09:12:00Z", operator="alice", client="acme", source_host="mvps-acme-01",
                  sites=["acme-blog"], profile="debian13", detail="stack: apt failed", job_id="awx-101")
    P.record_step(store, NAME, "provision", started_at="2026-12-01T10:00:00Z", finished_at="2026-12-01T10:42:30Z",
                  operator="alice", vmid=120, node="pve1", job_id="awx-102")
    P.record_step(store, NAME, "golive", started_at="2026-12-03T08:00:00+01:00", finished_at="2026-12-03T08:05:00+01:00",
                  operator="bob")
    P.record_step(store, NAME, "rollback", started_at="2026-12-03T09:00:00Z", finished_at="2026-12-03T09:02:00Z",
                  operator="bob")
    P.record_step(store, NAME, "teardown", started_at="2027-01-02T09:00:00Z", finished_at="2027-01-02T09:01:00Z",
                  operator="carol")


def test_steps_set_status_and_timestamps(url):
    with open_store(url) as store:
        _lifecycle(store)
        rec = P.get(store, NAME)
        assert rec is not None
        assert (rec["status"], rec["client"], rec["vmid"], rec["node"], rec["source_host"], rec["sites"],
                rec["profile"], rec["operator"]) == (
            "torn-down", "acme", 120, "pve1", "mvps-acme-01", ["acme-blog"], "debian13", "carol")
        assert (rec["created_at"], rec["provisioned_at"], rec["live_at"], rec["rolled_back_at"],
                rec["torn_down_at"]) == ("2026-12-01T09:00:00Z", "2026-12-01T10:42:30Z", "2026-12-03T07:05:00Z",
                                         "2026-12-03T09:02:00Z", "2027-01-02T09:01:00Z")
        ev = P.events(store, NAME)
        assert [(e.step, e.outcome, e.status_after, e.duration_s) for e in ev] == [
            ("provision", "failed", "failed", 720), ("provision", "ok", "provisioned", 2550),
            ("golive", "ok", "live", 300), ("rollback", "ok", "rolled-back", 120),
            ("teardown", "ok", "torn-down", 60)]
        assert [r["name"] for r in P.find(store, client="acme", status="torn-down")] == [NAME]
        assert P.find(store, vmid=120)[0]["name"] == NAME and P.find(store, status=["live"]) == []
        assert P.get(store, "../etc/passwd") is None


def test_failed_step_keeps_the_status(url):
    with open_store(url) as store:
        P.record_step(store, NAME, "provision", started_at="2026-12-01T10:00:00Z", finished_at="2026-12-01T10:30:00Z")
        rec = P.record_step(store, NAME, "golive", outcome="failed", started_at="2026-12-02T10:00:00Z",
                            finished_at="2026-12-02T10:01:00Z")
        assert rec["status"] == "provisioned" and rec["outcome"] == "failed" and rec["live_at"] is None


@pytest.mark.parametrize(("kw", "match"), [
    ({"name": "POC;rm -rf"}, "not a VM name"),
    ({"step": "destroy"}, "unknown POC step"),
    ({"outcome": "maybe"}, "unknown outcome"),
    ({"client": "Acme Ltd"}, "client"),
    ({"source_host": "a b"}, "source host"),
    ({"sites": ["../x"]}, "site"),
    ({"vmid": "12; drop"}, "vmid"),
    ({"operator": "alice\nbob"}, "operator"),
    ({"started_at": "yesterday"}, "started_at"),
    ({"finished_at": "2026-11-30T00:00:00Z"}, "before started_at"),
])
def test_untrusted_values_are_refused(url, kw, match):
    args = {"name": NAME, "step": "provision", "started_at": "2026-12-01T10:00:00Z",
            "finished_at": "2026-12-01T10:30:00Z"}
    args.update(kw)
    with open_store(url) as store:
        with pytest.raises(ValueError, match=match):
            P.record_step(store, args.pop("name"), args.pop("step"), **args)
        assert P.find(store) == []


def test_detail_is_redacted(url):
    with open_store(url) as store:
        P.record_step(store, NAME, "provision", outcome="failed", started_at="2026-12-01T10:00:00Z",
                      finished_at="2026-12-01T10:01:00Z",
                      detail="mysql -u wp -pS3cret-Value-99 failed; password=S3cret-Value-99",
                      secrets=["S3cret-Value-99"])
        detail = P.events(store, NAME)[0].detail
        assert detail and "S3cret-Value-99" not in detail


def test_timesheet_month_client_text_and_csv(url):
    with open_store(url) as store:
        _lifecycle(store)
        P.record_step(store, "poc-globex-www-1", "provision", client="globex", started_at="2026-12-05T10:00:00Z",
                      finished_at="2026-12-05T11:00:00Z")
        steps = P.timesheet(store, "acme", "2026-12")
    assert [s.step for s in steps] == ["provision", "provision", "golive", "rollback"]   # January's teardown: not
    text = P.timesheet_text("acme", "2026-12", steps)
    assert "2026-12-01  poc-acme-acme-blog-93572f25        provision alice                0:42  ok" in text
    assert text.strip().endswith("total 1:01 over 4 step(s); 0:49 in successful steps")
    rows = list(csv.DictReader(io.StringIO(P.timesheet_csv(steps))))
    assert rows[0] == {"date": "2026-12-01", "poc": NAME, "step": "provision", "operator": "alice",
                       "started_at": "2026-12-01T09:00:00Z", "finished_at": "2026-12-01T09:12:00Z",
                       "duration": "0:12", "duration_s": "720", "outcome": "failed", "job_id": "awx-101"}
    with pytest.raises(ValueError, match="YYYY-MM"):
        P.timesheet(store, "acme", "2026-13")


def test_timesheet_cli(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    with open_store(url) as store:
        _lifecycle(store)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "s4.cli", "timesheet", "--client", "acme", "--month", "2027-01",
                          "--csv", "--state-url", url], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1].startswith("2027-01-02,poc-acme-acme-blog-93572f25,teardown,carol,")
    bad = subprocess.run([sys.executable, "-m", "s4.cli", "timesheet", "--client", "acme", "--month", "12/2026",
                          "--state-url", url], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
