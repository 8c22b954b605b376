"""No secret reaches the store: a store filled the way the playbooks fill it (facts carrying tenant config lines,
a failed POC step's output, release-watch decisions, report runs) is grepped, snapshots decompressed, for the
secrets those inputs carried."""

from __future__ import annotations

import base64

import pytest
from statefix import facts

from s4.history import History
from s4.state import dump_text, open_store, reports
from s4.state import poc as P

SECRET = "Lab-Secret-4f9a2c71e0"   # shaped like the lab's generated passwords


def test_filled_store_holds_no_secret(url):
    f = facts("mvps-acme-01")
    with History(url) as h:
        h.record_run({"mvps-acme-01": {"status": "ok", "facts": f}})
    with open_store(url) as store:
        P.record_step(store, "poc-acme-1", "provision", outcome="failed", started_at="2026-12-01T10:00:00Z",
                      finished_at="2026-12-01T10:01:00Z", detail=f"mysqldump -pwd {SECRET}: access denied",
                      secrets=[SECRET])
        with pytest.raises(ValueError):
            reports.record_run(store, "eol_report", counts={"db_password": 1})
        reports.record_run(store, "eol_report", counts={"hosts": 1}, destination="internal-01:/srv/www/reports")
        text = dump_text(store)
    assert b"poc-acme-1" in text and b"mvps-acme-01" in text and b"pkg7" in text   # the dump does see the data
    for needle in (SECRET.encode(), base64.b64encode(SECRET.encode())[:12]):
        assert needle not in text
    raw = b"".join(p.read_bytes() for p in (url_path(url).parent).iterdir())
    assert SECRET.encode() not in raw


def test_the_grep_would_see_a_planted_secret(url):
    f = facts("h")
    f["packages"][0]["version"] = SECRET   # the dump is decompressed: a leak in a snapshot is found
    with History(url) as h:
        h.record_run({"h": {"status": "ok", "facts": f}})
        assert SECRET.encode() in dump_text(h.store)


def url_path(url: str):
    from s4.state import sqlite_path

    p = sqlite_path(url)
    assert p is not None
    return p
