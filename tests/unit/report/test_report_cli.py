"""``s4 eol-report``: CMDB + facts from the history DB or a directory, without Ansible."""

from __future__ import annotations

import json

import report_fleet as fleet

from s4.cli import main
from s4.history import History


def _cmdb(tmp_path):
    p = tmp_path / "cmdb.yml"
    p.write_text(fleet.CMDB_YAML)
    return p


def test_report_from_the_history_db(tmp_path, capsys):
    db = tmp_path / "history.sqlite"
    with History(db) as hist:
        hist.record_run({h: {"status": "ok", "facts": f} for h, f in fleet.FACTS.items()},
                        started_at="2026-11-20T10:00:00Z", finished_at="2026-11-20T10:01:00Z")
        # a later failed run of db-01 does not hide its last good facts
        hist.record_run({"db-01": {"status": "failed", "facts": None}}, started_at="2026-11-21T10:00:00Z",
                        finished_at="2026-11-21T10:00:00Z")
    out = tmp_path / "out"
    rc = main(["eol-report", "--cmdb", str(_cmdb(tmp_path)), "--history-db", str(db), "--as-of", "2026-11-27",
               "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "4/5 hosts gathered" in text and "not gathered: mvps-initech-01" in text
    doc = json.loads((out / "findings.json").read_text())
    assert {f["host"] for f in doc["findings"]} == set(fleet.FACTS)          # colo-01 never appears
    debt = json.loads((out / "debt.json").read_text())["debt"]
    assert [r["date"] for r in debt["trend"]["runs"]] == ["2026-11-20"]
    # unchanged input: nothing to write; --check writes nothing
    assert main(["eol-report", "--cmdb", str(_cmdb(tmp_path)), "--history-db", str(db), "--as-of", "2026-11-27",
                 "--out", str(out), "--check"]) == 0
    assert "0 file(s) would change" in capsys.readouterr().out


def test_report_from_a_facts_dir(tmp_path, capsys):
    facts = tmp_path / "facts"
    facts.mkdir()
    (facts / "mvps-acme-01.json").write_text(json.dumps(fleet.FACTS["mvps-acme-01"]))
    (facts / "colo-01.json").write_text(json.dumps(fleet.FACTS["db-01"]))      # out of scope: ignored
    out = tmp_path / "out"
    assert main(["eol-report", "--cmdb", str(_cmdb(tmp_path)), "--facts-dir", str(facts), "--history-db",
                 str(tmp_path / "none.sqlite"), "--as-of", "2026-11-27", "--out", str(out)]) == 0
    doc = json.loads((out / "findings.json").read_text())
    assert {f["host"] for f in doc["findings"]} == {"mvps-acme-01"}
    assert len(doc["not_gathered"]) == 4


def test_bad_input_is_reported(tmp_path, capsys):
    bad = tmp_path / "cmdb.yml"
    bad.write_text("plugin: smartt.s4.cmdb\ncmdb: {version: 1, domain: x, clients: {}, hosts: {h: {service: nope}}}\n")
    assert main(["eol-report", "--cmdb", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "host h: service: unknown service class 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    facts = tmp_path / "facts"
    facts.mkdir()
    (facts / "db-01.json").write_text("{not json")
    assert main(["eol-report", "--cmdb", str(_cmdb(tmp_path)), "--facts-dir", str(facts),
                 "--out", str(tmp_path / "o")]) == 2
    assert "db-01.json: not JSON" in capsys.readouterr().err
    assert main(["eol-report", "--cmdb", str(_cmdb(tmp_path)), "--facts-dir", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
